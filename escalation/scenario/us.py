"""US forces: posture, deterrence doctrine, the effects of a strike by theatre, withdrawal
choices and attribution of attacks.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from escalation.scenario.base import (
    Frozen,
    Mission,
    NonNeg,
    NonNegInt,
    PosInt,
    Prob,
    StrikeTheatre,
    Trigger,
)

WithdrawalOption = Literal["consolidate", "drawdown", "end_mission", "leave"]
"""What the US can choose at a posture review besides holding it."""


class Posture(Frozen):
    """US posture in the region."""

    sites: NonNegInt = Field(
        10,
        description="Bases and outposts in Iraq hosting US forces (an index: the start value "
        "is a modelling choice; events change it).",
    )
    troops: NonNeg = Field(
        1.0, description="Troop and logistics footprint in Iraq, relative to the start (1.0)."
    )
    air_defence: Prob = Field(
        0.3, description="Air and rocket defence level at defended targets (0-1)."
    )
    force_protection: Prob = Field(
        0.3, description="Share of casualties avoided by bunkers, warning and dispersal."
    )
    embassy: bool = Field(True, description="Whether the embassy is staffed.")
    syria: bool = Field(True, description="Whether US forces are in Syria.")
    mission: Mission = Field("combat", description="combat, advisory or none.")


class StrikeEffect(Frozen):
    """Consequences of one US strike of severity 1 in a theatre."""

    stock_loss: Prob = Field(description="Share of the struck militia's stocks destroyed.")
    revenge: NonNeg = Field(description="Revenge added to the struck militia.")
    solidarity: NonNeg = Field(description="Revenge added to every other militia.")
    fear: NonNeg = Field(description="Fear added to the struck militia.")
    fear_spillover: NonNeg = Field(description="Fear added to every other militia.")
    sovereignty: NonNeg = Field(description="Sovereignty cost for the Iraqi government.")
    war_fear: NonNeg = Field(description="Iran's war fear added.")
    iran_revenge: NonNeg = Field(0.0, description="Iran's revenge added.")


def default_strike_effects() -> dict[StrikeTheatre, Any]:
    return {
        "iraq": {
            "stock_loss": 0.15,
            "revenge": 2.0,
            "solidarity": 0.5,
            "fear": 1.0,
            "fear_spillover": 0.4,
            "sovereignty": 1.0,
            "war_fear": 0.3,
        },
        "syria": {
            "stock_loss": 0.05,
            "revenge": 1.0,
            "solidarity": 0.2,
            "fear": 0.6,
            "fear_spillover": 0.2,
            "sovereignty": 0.1,
            "war_fear": 0.2,
        },
        "leadership": {
            "stock_loss": 0.1,
            "revenge": 4.0,
            "solidarity": 1.5,
            "fear": 1.5,
            "fear_spillover": 0.8,
            "sovereignty": 3.0,
            "war_fear": 1.0,
            "iran_revenge": 6.0,
        },
        "iran": {
            "stock_loss": 0.0,
            "revenge": 0.5,
            "solidarity": 0.5,
            "fear": 1.0,
            "fear_spillover": 1.0,
            "sovereignty": 0.5,
            "war_fear": 4.0,
            "iran_revenge": 3.0,
        },
    }


class Doctrine(Frozen):
    """When, how hard, how soon and where the US retaliates."""

    trigger: Trigger = Field(
        "casualties",
        description="What can trigger retaliation: never, casualties (US wounded or killed), "
        "killed (US killed), attacks (attacks on US forces, i.e. sites with US personnel, in a "
        "window reach a threshold), casualties_or_attacks (either) or every_attack.",
    )
    wounded_threshold: PosInt = Field(1, description="US wounded in one attack that trigger.")
    attack_threshold: PosInt = Field(
        5, description="Attacks on US forces in the window that trigger."
    )
    window_days: PosInt = Field(14, description="Window for the attack-count trigger.")
    resolve: float = Field(
        0.5, description="Baseline utility of retaliating once triggered (logit against not)."
    )
    casualty_weight: NonNeg = Field(0.5, description="Added utility per US casualty.")
    sovereignty_weight: NonNeg = Field(
        0.5, description="Utility lost per unit of Iraqi sovereignty pressure (Iraq theatres)."
    )
    escalation_weight: NonNeg = Field(
        0.3, description="Utility lost per unit of Iran's war fear (fear of a spiral)."
    )
    severity: Annotated[float, Field(gt=0)] = Field(1.0, description="Strength of a strike.")
    delay_days: NonNegInt = Field(2, description="Days from trigger to strike.")
    theatre: StrikeTheatre = Field("iraq", description="Where strikes land.")
    strike_unattributed: Prob = Field(
        0.5,
        description="Probability of striking the prime suspect when the attacker is not "
        "identified.",
    )
    prime_suspect: str | None = Field(
        None, description="Militia struck when an attack is not attributed (null: the strongest)."
    )
    respond_to_iran: Prob = Field(
        0.0, description="Probability of striking Iran after a direct Iranian attack."
    )
    cooldown_days: NonNegInt = Field(
        7, description="Days after a strike before another can be ordered."
    )
    severity_per_killed: NonNeg = Field(
        0.0,
        description="The ladder: severity added to a strike per US service member killed in the "
        "attack it answers.",
    )
    killed_theatre: StrikeTheatre | None = Field(
        None,
        description="Where a strike answering US deaths lands (null: the doctrine's theatre); "
        "leadership or iran climbs the ladder.",
    )


class Withdrawal(Frozen):
    """US withdrawal choices, reviewed periodically."""

    review_days: PosInt = Field(30, description="Days between reviews.")
    temperature: Annotated[float, Field(gt=0)] = Field(0.5)
    commitment: float = Field(
        4.0, description="Utility of holding the current posture (stay-the-course)."
    )
    casualty_weight: NonNeg = Field(
        0.05, description="Withdrawal utility per US casualty in the last review period."
    )
    attack_weight: NonNeg = Field(
        0.02, description="Withdrawal utility per attack on US targets in the last period."
    )
    pressure_weight: NonNeg = Field(
        0.5, description="Withdrawal utility per unit of Iraqi pressure on the US presence."
    )
    min_sites: NonNegInt = Field(3, description="Fewest sites consolidation goes down to.")
    consolidate_protection: Prob = Field(
        0.05, description="Force protection gained per consolidation."
    )
    drawdown_share: Prob = Field(0.25, description="Share of troops withdrawn per drawdown.")
    advisory_troops: NonNeg = Field(
        0.5, description="Footprint left after the combat mission ends (relative to the start)."
    )
    option_bias: dict[WithdrawalOption, float] = Field(
        default_factory=lambda: _default_option_bias(),
        description="Baseline utility of each withdrawal option.",
    )


def _default_option_bias() -> dict[WithdrawalOption, float]:
    return {"consolidate": 0.0, "drawdown": -1.0, "end_mission": -2.0, "leave": -4.0}


class Attribution(Frozen):
    """Probability that US intelligence identifies the militia behind an attack."""

    own: Prob = Field(1.0, description="Claimed under the militia's own name.")
    facade: Prob = Field(0.45, description="Claimed under a facade brand.")
    unclaimed: Prob = Field(0.35, description="Not claimed.")


class US(Frozen):
    """US forces: posture, deterrence doctrine, casualties, withdrawal."""

    posture: Posture = Field(default_factory=Posture)
    doctrine: Doctrine = Field(default_factory=Doctrine)
    withdrawal: Withdrawal = Field(default_factory=Withdrawal)
    attribution: Attribution = Field(default_factory=Attribution)
    strike_effects: dict[StrikeTheatre, StrikeEffect] = Field(
        default_factory=lambda: default_strike_effects()
    )
    temperature: Annotated[float, Field(gt=0)] = Field(
        1.0, description="Logit temperature of the retaliation choice."
    )
