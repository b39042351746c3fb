"""Iran: its lines (escalate, sustain, restrain, truce), the weights of its choice of line,
resupply of the militias, and its option to strike US forces directly.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from escalation.scenario.base import Frozen, Line, Motive, NonNeg, NonNegInt, PosInt, Prob


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
    truce_scope: bool = Field(
        False,
        description="The effect binds only the target classes a truce covers (the active "
        "truce's scope, or with none active the classes covered_by_truce).",
    )


def default_lines() -> dict[Line, Any]:
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


class Halt(Frozen):
    """Iran's order to halt attacks on US forces when it fears a direct war."""

    enabled: bool = Field(True, description="Whether Iran can order a halt.")
    war_fear: Annotated[float, Field(gt=0)] = Field(
        4.0,
        description="War fear at which Iran orders the network to halt: it takes the truce "
        "line and declares a truce on every US target class, which each militia accepts "
        "according to its compliance.",
    )
    hold_days: NonNegInt = Field(
        30, description="Days Iran keeps the truce line before it reviews it again."
    )
    obedience: NonNeg = Field(
        15.0,
        description="Utility a militia loses by attacking US targets while the halt holds, "
        "times its compliance: a compliant militia obeys a direct order that a defiant one "
        "(low compliance) may ignore.",
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
    halt: Halt = Field(default_factory=Halt)
