"""What a run reports beyond its true events: observed series (how a source counts them) and the
definition of an escalation spiral.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from escalation.scenario.base import Frozen, PosInt, Prob


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
