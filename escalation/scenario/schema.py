"""The scenario schema: every weight, threshold and rate, with its default and meaning.

A scenario file is validated once, at the edge, into the frozen :class:`Scenario` defined here;
the model never re-checks its inputs. Field descriptions double as the reference documentation
(``escalation schema`` prints them).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

NonNeg = Annotated[float, Field(ge=0)]
Prob = Annotated[float, Field(ge=0, le=1)]
PosInt = Annotated[int, Field(ge=1)]
NonNegInt = Annotated[int, Field(ge=0)]

Line = Literal["escalate", "sustain", "restrain", "truce"]
LINES: tuple[str, ...] = ("escalate", "sustain", "restrain", "truce")
Owner = Literal["us", "turkey", "krg", "domestic"]
OWNERS: tuple[str, ...] = ("us", "turkey", "krg", "domestic")
Theatre = Literal["iraq", "syria"]
Exposure = Literal["sites", "troops", "embassy", "syria", "always"]
Mission = Literal["combat", "advisory", "none"]
StrikeTheatre = Literal["iraq", "syria", "leadership", "iran"]
Trigger = Literal[
    "never", "casualties", "killed", "attacks", "casualties_or_attacks", "every_attack"
]


class Frozen(BaseModel):
    """Base for all configuration blocks: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


# --------------------------------------------------------------------------- weapons, targets


class SizeClass(Frozen):
    """One size class of an attack (how many munitions are fired at once)."""

    min: PosInt = Field(description="Fewest munitions in an attack of this class.")
    max: PosInt = Field(description="Most munitions in an attack of this class.")
    level: NonNeg = Field(
        description="Escalation level of the class (0 = smallest). Revenge and the line raise the "
        "utility of higher levels; fear of retaliation lowers it."
    )
    prior: float = Field(0.0, description="Baseline utility of choosing this class.")


def _default_sizes(small: tuple[int, int], medium: tuple[int, int], large: tuple[int, int]):
    return {
        "small": {"min": small[0], "max": small[1], "level": 0.0, "prior": 0.0},
        "medium": {"min": medium[0], "max": medium[1], "level": 1.0, "prior": -1.5},
        "large": {"min": large[0], "max": large[1], "level": 2.0, "prior": -4.0},
    }


class Weapon(Frozen):
    """A weapon type militias (or Iran) can use."""

    interceptable: Prob = Field(
        description="Probability that one munition is intercepted when the target's air and "
        "rocket defence is at full strength (scaled by the target's defence level)."
    )
    accuracy: Prob = Field(
        description="Probability that an attack that is not fully intercepted lands near personnel "
        "or infrastructure (the Pentagon counts only those as attacks on its forces)."
    )
    lethality: NonNeg = Field(
        description="Hazard that one munition landing near personnel hurts someone, at a target "
        "of personnel density 1 with no force protection (P(any casualty) = 1 - exp(-hazard))."
    )
    cluster: Annotated[float, Field(ge=1)] = Field(
        2.0,
        description="Mean US casualties in an attack that causes any (casualties come in "
        "clusters: few attacks wound anyone, those that do often wound several).",
    )
    kill_share: Prob = Field(0.05, description="Share of US casualties that are killed.")
    cost: NonNeg = Field(description="Utility cost of using this weapon in one attack.")
    sizes: dict[str, SizeClass] = Field(description="Size classes, chosen per attack.")

    @field_validator("sizes")
    @classmethod
    def _sizes_nonempty(cls, v: dict[str, SizeClass]) -> dict[str, SizeClass]:
        if not v:
            raise ValueError("at least one size class is needed")
        for name, s in v.items():
            if s.max < s.min:
                raise ValueError(f"size class {name!r}: max ({s.max}) is below min ({s.min})")
        return v


def default_weapons() -> dict[str, Any]:
    return {
        "rocket": {
            "interceptable": 0.4,
            "accuracy": 0.55,
            "lethality": 0.03,
            "cluster": 2.5,
            "kill_share": 0.08,
            "cost": 0.2,
            "sizes": _default_sizes((1, 4), (5, 10), (11, 35)),
        },
        "drone": {
            "interceptable": 0.6,
            "accuracy": 0.8,
            "lethality": 0.08,
            "cluster": 2.0,
            "kill_share": 0.05,
            "cost": 0.5,
            "sizes": _default_sizes((1, 1), (2, 3), (4, 8)),
        },
        "ied": {
            "interceptable": 0.0,
            "accuracy": 0.9,
            "lethality": 0.0,
            "cluster": 1.0,
            "kill_share": 0.0,
            "cost": 0.1,
            "sizes": _default_sizes((1, 1), (2, 2), (3, 4)),
        },
        "missile": {
            "interceptable": 0.3,
            "accuracy": 0.9,
            "lethality": 0.3,
            "cluster": 20.0,
            "kill_share": 0.02,
            "cost": 3.0,
            "sizes": _default_sizes((1, 2), (3, 6), (10, 16)),
        },
    }


class TargetClass(Frozen):
    """A class of targets: who owns it, what can hit it, what an attack on it is worth."""

    label: str = Field(description="Human-readable name used in tables and plots.")
    owner: Owner = Field(
        description="Whose presence or interests an attack pressures: us, turkey, krg (the "
        "Kurdistan Regional Government) or domestic."
    )
    theatre: Theatre = Field("iraq", description="Country the targets are in.")
    weapons: list[str] = Field(description="Weapons that can be used against this class.")
    exposure: Exposure = Field(
        "always",
        description="Which posture value makes targets available: sites (US bases held), troops "
        "(logistics volume), embassy, syria (US presence in Syria) or always.",
    )
    pressure: NonNeg = Field(description="Pressure one attack puts on the owner.")
    legitimacy: float = Field(
        description="Domestic-audience value of an attack (negative if it costs standing)."
    )
    visibility: NonNeg = Field(
        description="How public and politically costly an attack is for a militia with a "
        "political stake."
    )
    retaliation_risk: NonNeg = Field(
        description="How likely an attack here is to draw retaliation, as militias perceive it."
    )
    personnel: NonNeg = Field(
        0.0, description="US personnel density (scales US casualties); 0 where none are present."
    )
    defended: bool = Field(False, description="Whether US air and rocket defence covers it.")
    other_killed_rate: NonNeg = Field(
        0.0, description="Expected non-US deaths (Iraqi drivers, guards, passers-by) per attack."
    )
    rival_revenue: bool = Field(
        False,
        description="Attacks hit rivals' revenue (liquor trade taxed by rivals): militias punish "
        "rivals who break a truce by attacking these targets.",
    )
    covered_by_truce: bool = Field(
        False, description="Whether a truce with US forces covers this class by default."
    )
    front: str = Field(
        "main",
        min_length=1,
        description="The front this class belongs to. A militia decides each day, for each "
        "front, whether to attack on it (at most one attack a front a day): classes on one "
        "front compete for the same cells, so a busy front crowds out its other classes but "
        "not those of another front.",
    )
    own_claim_cost: NonNeg = Field(
        0.0,
        description="Extra cost of claiming an attack on this class in the militia's own name, "
        "on top of deniability.own_claim_cost (an open claim of attacks on Iraqi civilians, for "
        "example, exposes a militia in the state to its rivals and the government).",
    )


def default_targets() -> dict[str, Any]:
    return {
        "us_base": {
            "label": "US bases (Iraq)",
            "owner": "us",
            "weapons": ["rocket", "drone", "missile"],
            "exposure": "sites",
            "pressure": 1.0,
            "legitimacy": 0.6,
            "visibility": 1.0,
            "retaliation_risk": 1.0,
            "personnel": 1.0,
            "defended": True,
            "covered_by_truce": True,
        },
        "us_convoy": {
            "label": "US logistics convoys",
            "owner": "us",
            "weapons": ["ied"],
            "exposure": "troops",
            "pressure": 0.45,
            "legitimacy": 0.3,
            "visibility": 0.25,
            "retaliation_risk": 0.1,
            "personnel": 0.0,
            "other_killed_rate": 0.01,
            "covered_by_truce": False,
        },
        "us_embassy": {
            "label": "US Embassy",
            "owner": "us",
            "weapons": ["rocket", "drone"],
            "exposure": "embassy",
            "pressure": 0.5,
            "legitimacy": 0.2,
            "visibility": 1.5,
            "retaliation_risk": 1.5,
            "personnel": 0.5,
            "defended": True,
            "covered_by_truce": True,
        },
        "us_base_syria": {
            "label": "US bases (Syria)",
            "owner": "us",
            "theatre": "syria",
            "weapons": ["rocket", "drone"],
            "exposure": "syria",
            "pressure": 0.6,
            "legitimacy": 0.4,
            "visibility": 0.4,
            "retaliation_risk": 0.8,
            "personnel": 0.8,
            "defended": True,
            "covered_by_truce": True,
        },
        "turkish_base": {
            "label": "Turkish bases",
            "owner": "turkey",
            "weapons": ["rocket", "drone"],
            "pressure": 1.0,
            "legitimacy": 0.4,
            "visibility": 0.3,
            "retaliation_risk": 0.15,
        },
        "domestic": {
            "label": "Domestic 'un-Islamic' targets",
            "owner": "domestic",
            "weapons": ["ied"],
            "pressure": 0.0,
            "legitimacy": 0.0,
            "visibility": 0.2,
            "retaliation_risk": 0.0,
            "rival_revenue": True,
        },
        "kurdish_energy": {
            "label": "Kurdish oil and gas fields",
            "owner": "krg",
            "weapons": ["rocket", "drone"],
            "pressure": 1.0,
            "legitimacy": 0.0,
            "visibility": 0.3,
            "retaliation_risk": 0.05,
        },
    }


# --------------------------------------------------------------------------- context and motives


class Motive(Frozen):
    """How much a militia wants to pressure one owner, as a function of the context drivers."""

    base: float = Field(0.0, description="Motive with all context drivers at zero.")
    context: dict[str, float] = Field(
        default_factory=dict,
        description="Context driver -> weight; the motive is base + sum(weight * driver), "
        "floored at 0.",
    )


# --------------------------------------------------------------------------- militias


class Brand(Frozen):
    """A facade brand under which a militia can claim attacks for deniability."""

    name: str = Field(description="The brand's name as it appears in claims.")
    targets: list[str] = Field(description="Target classes the brand is used for.")
    active_from: dt.date | None = Field(
        None, description="First day the brand is in use (null: from the start)."
    )


class MilitiaWeights(Frozen):
    """Weights of the terms in a militia's attack utility (per attack option and day)."""

    pressure: NonNeg = Field(1.0, description="Pressure the attack puts on the target's owner.")
    legitimacy: NonNeg = Field(0.5, description="Domestic-audience value of the target class.")
    revenge: NonNeg = Field(1.0, description="Revenge for US strikes (US targets only).")
    rivalry: NonNeg = Field(
        0.6,
        description="Outbidding: log(1 + rivals' monthly attacks on foreign forces) minus "
        "log(1 + one's own).",
    )
    punish: NonNeg = Field(
        1.0,
        description="Attacks on rivals' revenue while rivals break a truce this militia keeps "
        "(times log(1 + rivals' violations per month)).",
    )
    redirect: NonNeg = Field(
        0.8,
        description="While observing a truce, effort shifts to target classes outside its scope.",
    )
    fear: NonNeg = Field(1.0, description="Fear of retaliation, scaled by attribution risk.")
    compliance: NonNeg = Field(1.0, description="Following Iran's line, scaled by compliance.")
    truce: NonNeg = Field(4.0, description="Cost of breaking a truce the militia observes.")
    defiance: NonNeg = Field(
        1.0,
        description="Standing a militia that refused a truce gains by attacking what it covers "
        "(outbidding those who comply).",
    )
    political: NonNeg = Field(
        1.0, description="Political stake (seats, posts) times the target's visibility."
    )
    grievance: NonNeg = Field(1.0, description="Grievance (electoral defeat) against US targets.")
    cost: NonNeg = Field(1.0, description="Weapon cost.")
    claim: NonNeg = Field(
        0.5, description="Standing gained by claiming an attack under a recognisable name."
    )
    facade: float = Field(
        0.0,
        description="The militia's habit of claiming through its facade brands rather than its own "
        "name or none (negative: it rarely uses them).",
    )
    size: NonNeg = Field(
        0.6, description="How strongly revenge, the line and fear move the size of an attack."
    )


class Militia(Frozen):
    """One Iran-backed militia, decided per day under its incentives."""

    name: str = Field(description="Full name.")
    resolve: float = Field(
        -5.0, description="Baseline drive to act: shifts every attack option's utility."
    )
    idle: float = Field(
        0.0,
        description="Utility of not attacking on a given day (the threshold every attack option "
        "competes with).",
    )
    temperature: Annotated[float, Field(gt=0)] = Field(
        1.0, description="Logit temperature of the daily choice (higher: more random)."
    )
    compliance: Prob = Field(0.7, description="How closely the militia follows Iran's line.")
    political_stake: NonNeg = Field(0.3, description="Initial political stake (seats, posts).")
    stocks: dict[str, NonNeg] = Field(
        default_factory=dict, description="Initial munitions by weapon."
    )
    capacity: dict[str, NonNeg] = Field(
        default_factory=dict,
        description="Most munitions the militia can hold, by weapon (resupply stops there).",
    )
    affinity: dict[str, NonNeg] = Field(
        default_factory=dict,
        description="Target class -> multiplier on the pressure its attacks put on the owner, as "
        "this militia sees it (expertise, networks, local presence); 1 if not given.",
    )
    tactics: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="Target class -> context driver -> weight: drivers that make a target class "
        "more or less attractive for this militia; its affinity is multiplied by "
        "1 + sum(weight * driver), floored at 0.",
    )
    repertoire: dict[str, dt.date | None] = Field(
        description="Target classes the militia attacks -> date the tactic is adopted (null: from "
        "the start)."
    )
    brands: list[Brand] = Field(default_factory=list, description="Facade brands.")
    rivals: list[str] = Field(default_factory=list, description="Militias it competes with.")
    motives: dict[str, Motive] = Field(
        default_factory=dict, description="Motive to pressure each owner (us, turkey, krg, ...)."
    )
    weights: MilitiaWeights = Field(default_factory=MilitiaWeights)
    resupply_share: NonNeg = Field(
        1.0, description="Relative share of Iran's resupply this militia receives."
    )
    false_claim_rate: NonNeg = Field(
        0.0, description="Claims per day of attacks that did not happen (inflated claims)."
    )
    revenge_half_life_days: Annotated[float, Field(gt=0)] = Field(
        60.0, description="Half-life of revenge."
    )
    fear_half_life_days: Annotated[float, Field(gt=0)] = Field(
        120.0, description="Half-life of learned fear of retaliation."
    )
    fear_prior: NonNeg = Field(0.3, description="Fear of retaliation before any US strike.")
    rivalry_half_life_days: Annotated[float, Field(gt=0)] = Field(
        30.0, description="Half-life of the memory of rivals' attacks (outbidding)."
    )
    grievance_half_life_days: Annotated[float, Field(gt=0)] = Field(
        90.0, description="Half-life of electoral grievance."
    )
    withdraw_margin: float = Field(
        -6.0,
        description="A target class is dropped when its best option's utility falls this far "
        "below the idle utility at a review (the log of its daily attack odds); it is taken up "
        "again above reengage_margin.",
    )
    reengage_margin: float = Field(
        -4.0, description="Margin to idle above which a dropped target class is taken up again."
    )
    review_sharpness: Annotated[float, Field(gt=0)] = Field(
        2.0, description="How sharply the margin decides a review (logistic slope)."
    )
    review_days: PosInt = Field(
        30,
        description="Days between reviews of which classes to attack (a change in the context "
        "drivers also prompts a review).",
    )


# --------------------------------------------------------------------------- Iran


class LineSpec(Frozen):
    """What one of Iran's lines means."""

    intensity: NonNeg = Field(description="How much pressure the line asks for (0-1).")
    bias: float = Field(
        0.0, description="Baseline utility of the line (ordering a truce costs Iran standing)."
    )
    effect: dict[str, float] = Field(
        default_factory=dict,
        description="Owner -> effect on compliant militias' utility of attacking that owner.",
    )
    resupply: NonNeg = Field(1.0, description="Multiplier on resupply under this line.")


def default_lines() -> dict[str, Any]:
    return {
        "escalate": {"intensity": 1.0, "effect": {"us": 1.0}, "resupply": 1.5},
        "sustain": {"intensity": 0.55, "effect": {"us": 0.2}, "resupply": 1.0},
        "restrain": {"intensity": 0.2, "effect": {"us": -1.0}, "resupply": 0.6},
        "truce": {"intensity": 0.0, "bias": -2.0, "effect": {"us": -2.5}, "resupply": 0.4},
    }


class IranWeights(Frozen):
    """Weights in Iran's choice of line."""

    leverage: NonNeg = Field(2.0, description="Value of pressure (times the line's intensity).")
    revenge: NonNeg = Field(1.0, description="Revenge for US strikes (times intensity).")
    war_fear: NonNeg = Field(2.0, description="Fear of a direct war with the US (times intensity).")
    effort: NonNeg = Field(
        1.5, description="Cost of intensity squared (keeps lines between the extremes)."
    )
    inertia: NonNeg = Field(2.0, description="Bonus for keeping the current line.")


class Resupply(Frozen):
    """Iran's periodic resupply of militia weapon stocks."""

    interval_days: PosInt = Field(30, description="Days between deliveries.")
    amounts: dict[str, NonNeg] = Field(
        default_factory=dict,
        description="Munitions per delivery to a militia of share 1, by weapon.",
    )


class DirectAction(Frozen):
    """Iran's option to strike US forces itself (as in January 2020)."""

    enabled: bool = Field(True, description="Whether Iran can strike directly.")
    threshold: float = Field(
        4.0, description="Revenge minus war fear above which a direct strike becomes likely."
    )
    rate: NonNeg = Field(
        0.5, description="Daily strike probability scale once the threshold is passed."
    )
    missiles: NonNegInt = Field(30, description="Missiles available for direct strikes.")
    target: str = Field("us_base", description="Target class of a direct strike.")
    size: PosInt = Field(16, description="Missiles fired in one strike.")
    satisfaction: Prob = Field(
        0.8, description="Share of Iran's revenge that a direct strike satisfies."
    )
    warning: Prob = Field(
        0.5,
        description="Share of casualties avoided by warning and evacuation before a direct strike.",
    )


class Iran(Frozen):
    """Iran: sets the network's line, resupplies, fears war, can act directly."""

    line: Line = Field("sustain", description="Line at the start.")
    review_days: PosInt = Field(30, description="Days between reviews of the line.")
    temperature: Annotated[float, Field(gt=0)] = Field(0.5, description="Logit temperature.")
    lines: dict[Line, LineSpec] = Field(default_factory=lambda: default_lines())
    weights: IranWeights = Field(default_factory=IranWeights)
    leverage: Motive = Field(
        default_factory=lambda: Motive(base=0.5, context={}),
        description="Iran's need for leverage as a function of context drivers.",
    )
    revenge_half_life_days: Annotated[float, Field(gt=0)] = Field(45.0)
    war_fear_half_life_days: Annotated[float, Field(gt=0)] = Field(60.0)
    war_fear_per_us_casualty: NonNeg = Field(
        0.02, description="War fear added per US casualty caused by the network."
    )
    war_fear_wounded_weight: Prob = Field(
        1.0,
        description="Weight of a wounded US casualty relative to a killed one in Iran's war fear "
        "(deaths are what the US answers; injuries such as concussions may surface only later).",
    )
    resupply: Resupply = Field(default_factory=Resupply)
    direct_action: DirectAction = Field(default_factory=DirectAction)


# --------------------------------------------------------------------------- US forces


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


def default_strike_effects() -> dict[str, Any]:
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
    option_bias: dict[Literal["consolidate", "drawdown", "end_mission", "leave"], float] = Field(
        default_factory=lambda: {
            "consolidate": 0.0,
            "drawdown": -1.0,
            "end_mission": -2.0,
            "leave": -4.0,
        },
        description="Baseline utility of each withdrawal option.",
    )


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


# --------------------------------------------------------------------------- Iraqi government


class Government(Frozen):
    """The government in office."""

    name: str = Field("Government", description="Who holds office.")
    alignment: Annotated[float, Field(ge=-1, le=1)] = Field(
        0.0, description="-1 pro-US ... +1 aligned with the militias' political allies."
    )
    militias_in_government: bool = Field(
        False, description="Whether the militias' political wings hold posts (raises their stake)."
    )
    crackdown: float = Field(-4.0, description="Baseline utility of a crackdown at a review.")
    mediation: float = Field(-6.0, description="Baseline utility of brokering a truce.")


class IraqiGovernment(Frozen):
    """Sovereignty costs, pressure on the US presence, truce mediation, crackdowns."""

    government: Government = Field(default_factory=Government)
    review_days: PosInt = Field(7, description="Days between reviews.")
    temperature: Annotated[float, Field(gt=0)] = Field(0.5)
    sovereignty_half_life_days: Annotated[float, Field(gt=0)] = Field(90.0)
    pressure_on_us: NonNeg = Field(0.0, description="Initial pressure on the US presence.")
    pressure_per_sovereignty: NonNeg = Field(
        0.3, description="Pressure on the US presence added per unit of sovereignty cost."
    )
    pressure_half_life_days: Annotated[float, Field(gt=0)] = Field(365.0)
    violence_weight: NonNeg = Field(
        0.02, description="Mediation utility per attack in the last 30 days."
    )
    domestic_weight: NonNeg = Field(
        0.1, description="Crackdown utility per domestic attack in the last 30 days."
    )
    alignment_weight: NonNeg = Field(
        2.0, description="Crackdown utility lost per unit of alignment with the militias."
    )
    crackdown_stock_loss: Prob = Field(0.2, description="Share of stocks seized in a crackdown.")
    crackdown_grievance: NonNeg = Field(0.5, description="Grievance a crackdown adds.")
    truce_days: PosInt = Field(60, description="Duration of a brokered truce.")


# --------------------------------------------------------------------------- truces, deniability


class TruceRules(Frozen):
    """How truces are accepted, kept and collapse."""

    acceptance: float = Field(
        -3.5,
        description="Utility of accepting a truce is acceptance + compliance_weight * compliance "
        "(logit against refusing).",
    )
    compliance_weight: NonNeg = Field(
        8.0, description="Weight of compliance with Iran in accepting a truce."
    )
    collapse_share: Prob = Field(
        0.67, description="Share of militias breaking a truce at which it collapses."
    )
    ends_on_us_strike: Prob = Field(
        0.3, description="Probability that a US strike in Iraq ends the truce."
    )


class Deniability(Frozen):
    """Facade brands and attribution."""

    facades: bool = Field(True, description="Whether militias can claim under facade brands.")
    claim_temperature: Annotated[float, Field(gt=0)] = Field(
        0.5, description="Logit temperature of the choice of claim."
    )
    facade_credit: Prob = Field(
        0.6, description="Share of a claim's standing value that a facade brand keeps."
    )
    own_claim_cost: NonNeg = Field(
        1.5,
        description="Cost of claiming under the militia's own name (exposes its political wing "
        "and its posts in the state).",
    )
    facade_claim_cost: NonNeg = Field(
        0.3, description="Cost of claiming under a facade brand (publicity, traceable channels)."
    )
    brand_appeal: dict[str, float] = Field(
        default_factory=dict,
        description="Extra utility of claiming under a named facade brand, for every militia "
        "that uses it (e.g. an umbrella brand launched to claim a campaign). Unnamed brands: 0.",
    )


# --------------------------------------------------------------------------- run outcomes


class Analysis(Frozen):
    """Definitions of run-level outcomes (not incentives): what counts as an escalation spiral.

    A run spirals if some window of ``spiral_window_days`` holds at least ``spiral_strikes`` US
    strikes while attacks on US targets in it reach ``spiral_growth`` times those of the window
    before (and at least ``spiral_min_attacks``): attacks rising despite retaliation.
    """

    spiral_window_days: PosInt = Field(90, description="Window length.")
    spiral_strikes: PosInt = Field(3, description="US strikes in the window.")
    spiral_growth: Annotated[float, Field(gt=1)] = Field(
        1.5, description="Growth of attacks on US targets over the previous window."
    )
    spiral_min_attacks: PosInt = Field(10, description="Attacks on US targets in the window.")


# --------------------------------------------------------------------------- observation


class SeriesSpec(Frozen):
    """An observed series: how a source counts the model's true events."""

    label: str = Field(description="Short name for plots.")
    description: str = Field("", description="The source's definition.")
    source: str = Field("", description="Where the definition comes from.")
    action: Literal["attack", "retaliate", "false_claim"] = Field(
        "attack", description="attack; retaliate (US strikes, by the doctrine or the timeline)."
    )
    actors: str | list[str] = Field(
        "militias", description="militias, iran, any, us, or a list of militia ids."
    )
    targets: str | list[str] = Field("any", description="any, or a list of target classes.")
    weapons: str | list[str] = Field("any", description="any, or a list of weapons.")
    theatre: Literal["any", "iraq", "syria"] = Field("any")
    claim: Literal["any", "claimed", "own", "facade", "unclaimed"] = Field("any")
    convention: Literal["event", "landed_near", "wounding"] = Field(
        "event",
        description="event: every true attack once; landed_near: the Pentagon rule (impact near "
        "US personnel or infrastructure); wounding: attacks that wounded or killed US personnel.",
    )
    coverage: Prob | dict[str, Prob] = Field(
        1.0,
        description="Probability that a true event enters the source (or per target class).",
    )
    measure: Literal["count", "us_wounded", "us_killed", "us_casualties"] = Field("count")
    min_size: PosInt | None = Field(
        None, description="Count only attacks with at least this many munitions (null: any)."
    )


# --------------------------------------------------------------------------- events


class EventBase(Frozen):
    """Fields every timeline event has."""

    date: dt.date = Field(description="Day the event happens.")
    label: str = Field(description="Short label for plots and logs.")
    source: str = Field("", description="Citation (seed file and passage, or other source).")
    precision: Literal["day", "month", "year"] = Field(
        "day", description="How precisely the source dates the event."
    )
    mark: bool = Field(True, description="Whether plots mark the event.")


class ContextEvent(EventBase):
    """Set or shift context drivers (tension, talks, wars, operations)."""

    type: Literal["context"]
    set: dict[str, float] = Field(default_factory=dict, description="Driver -> new value.")
    add: dict[str, float] = Field(default_factory=dict, description="Driver -> change.")


class LeadershipStrikeEvent(EventBase):
    """The US kills network leaders (e.g. Soleimani and al-Muhandis)."""

    type: Literal["leadership_strike"]
    militia: str | None = Field(None, description="Militia whose leader is killed.")
    severity: NonNeg = Field(1.0, description="Multiplier on the leadership strike effects.")
    compliance_change: float = Field(
        0.0, description="Change in the militia's compliance (loss of a coordinating leader)."
    )


class IraqPressureEvent(EventBase):
    """Parliament votes, strategic dialogue: pressure on the US presence."""

    type: Literal["iraq_pressure"]
    pressure: float = Field(description="Change in pressure on the US presence.")
    sovereignty: NonNeg = Field(0.0, description="Sovereignty cost added.")


class PostureEvent(EventBase):
    """US posture changes: base handovers, defences, end of mission, leaving."""

    type: Literal["us_posture"]
    sites: int | None = Field(None, description="New number of sites.")
    sites_change: int | None = Field(None, description="Change in number of sites.")
    troops: NonNeg | None = Field(None, description="New troop level.")
    air_defence: Prob | None = Field(None)
    force_protection: Prob | None = Field(None)
    embassy: bool | None = Field(None)
    syria: bool | None = Field(None)
    mission: Mission | None = Field(None)


class DoctrineEvent(EventBase):
    """A change of US deterrence doctrine (a new administration, a new policy)."""

    type: Literal["doctrine"]
    changes: dict[str, Any] = Field(description="Doctrine fields -> new values.")


class TruceEvent(EventBase):
    """A truce with US forces is declared."""

    type: Literal["truce"]
    by: Literal["militias", "iran", "government"] = Field(
        "militias", description="Who declares it (Iran orders, the government brokers)."
    )
    scope: list[str] | None = Field(
        None, description="Target classes covered (null: the classes covered_by_truce)."
    )
    ends: dt.date | None = Field(None, description="Scheduled end (null: open-ended).")
    iran_line: Line | None = Field(
        "truce", description="Iran's line for the truce's duration (null: unchanged)."
    )


class TruceEndEvent(EventBase):
    """The active truce ends."""

    type: Literal["truce_end"]
    iran_line: Line | None = Field(None, description="Iran's line afterwards (null: reviewed).")


class ElectionEvent(EventBase):
    """Iraqi parliamentary elections."""

    type: Literal["iraqi_election"]
    results: dict[str, float] = Field(
        default_factory=dict,
        description="Militia -> change in political stake (negative: seats lost).",
    )
    grievance_per_loss: NonNeg = Field(4.0, description="Grievance added per unit of stake lost.")


class GovernmentEvent(EventBase):
    """A new government takes office."""

    type: Literal["government_change"]
    government: Government
    stake_change: float = Field(0.0, description="Change in every militia's political stake.")


class ResupplyEvent(EventBase):
    """Iran changes its resupply, or makes a one-off delivery."""

    type: Literal["resupply"]
    amounts: dict[str, NonNeg] | None = Field(
        None, description="New per-delivery amounts by weapon (null: unchanged)."
    )
    deliver: dict[str, dict[str, NonNeg]] = Field(
        default_factory=dict, description="One-off delivery: militia (or 'all') -> weapon -> n."
    )


class IranLineEvent(EventBase):
    """Iran sets its line (e.g. orders restraint), optionally for a fixed period."""

    type: Literal["iran_line"]
    line: Line
    hold_days: NonNegInt = Field(0, description="Days the line is held before review resumes.")


class MilitiaEvent(EventBase):
    """Changes to a militia (compliance, resolve, stake, grievance, revenge, tactics)."""

    type: Literal["militia"]
    militia: str = Field(description="Militia id, or 'all'.")
    compliance: Prob | None = None
    resolve: float | None = None
    political_stake: NonNeg | None = None
    grievance: NonNeg | None = Field(None, description="Grievance added.")
    revenge: NonNeg | None = Field(
        None,
        description="Revenge added, as a strike's revenge is (a date that renews a loss, such "
        "as a slain leader's birthday): it drives attacks on US targets and their size, and "
        "decays with the militia's revenge half-life.",
    )
    affinity: dict[str, NonNeg] = Field(
        default_factory=dict, description="Target class -> new affinity (a change of tactics)."
    )


Event = Annotated[
    ContextEvent
    | LeadershipStrikeEvent
    | IraqPressureEvent
    | PostureEvent
    | DoctrineEvent
    | TruceEvent
    | TruceEndEvent
    | ElectionEvent
    | GovernmentEvent
    | ResupplyEvent
    | IranLineEvent
    | MilitiaEvent,
    Field(discriminator="type"),
]
EVENT_TYPES: tuple[str, ...] = (
    "context",
    "leadership_strike",
    "iraq_pressure",
    "us_posture",
    "doctrine",
    "truce",
    "truce_end",
    "iraqi_election",
    "government_change",
    "resupply",
    "iran_line",
    "militia",
)


# --------------------------------------------------------------------------- the scenario


class Scenario(Frozen):
    """A whole scenario: dates, actors, incentives, events and observed series."""

    name: str = Field(description="Scenario name (used for the output folder).")
    description: str = Field("", description="What the scenario is and the question it asks.")
    start: dt.date = Field(description="First simulated day.")
    end: dt.date = Field(description="Last simulated day.")
    step_days: PosInt = Field(1, description="Days per model step.")
    context: dict[str, float] = Field(
        default_factory=dict,
        description="Exogenous context drivers (tension, talks, wars...) and their start values. "
        "Events change them; motives weigh them.",
    )
    weapons: dict[str, Weapon] = Field(default_factory=lambda: default_weapons())
    targets: dict[str, TargetClass] = Field(default_factory=lambda: default_targets())
    iran: Iran = Field(default_factory=Iran)
    militias: dict[str, Militia] = Field(description="The militias, by short id.")
    us: US = Field(default_factory=US)
    iraq: IraqiGovernment = Field(default_factory=IraqiGovernment)
    truce: TruceRules = Field(default_factory=TruceRules)
    deniability: Deniability = Field(default_factory=Deniability)
    analysis: Analysis = Field(default_factory=Analysis)
    events: dict[str, Event] = Field(
        default_factory=dict, description="The dated timeline, by event id."
    )
    series: dict[str, SeriesSpec] = Field(
        default_factory=dict,
        description="Observed series reported for every run (added to the built-in ones).",
    )
    _provenance: Any = PrivateAttr(default=None)

    @field_validator("militias")
    @classmethod
    def _some_militia(cls, v: dict[str, Militia]) -> dict[str, Militia]:
        if not v:
            raise ValueError("at least one militia is needed")
        return v

    def sorted_events(self) -> list[tuple[str, Any]]:
        """Events in date order (ties keep file order)."""
        return sorted(self.events.items(), key=lambda kv: kv[1].date)

    def __reduce__(self) -> tuple[Any, ...]:
        # Sent to a worker process, a scenario is validated afresh there from its values: models
        # restored by pickle's default route (their __dict__ swapped in) run ~10% slower.
        return (_restore_scenario, (type(self), self.model_dump(), self._provenance))


def _restore_scenario(cls: type[Scenario], data: dict[str, Any], provenance: Any) -> Scenario:
    scenario = cls.model_validate(data)
    scenario._provenance = provenance
    return scenario


BUILTIN_CONTEXT: tuple[str, ...] = ("us_mission", "militias_in_government")
"""Context drivers the model maintains itself: us_mission (1 combat, 0.5 advisory, 0 none) and
militias_in_government (1 while the government in office gives the militias' political wings
posts, else 0)."""
