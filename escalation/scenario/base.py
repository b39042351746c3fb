"""Building blocks shared by every section of the scenario schema: bounded field types, the
named choices (Iran's lines, target owners, theatres...), the :class:`Frozen` base of every
block, and :class:`Motive`, which both militias and Iran use to weigh the context drivers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

NonNeg = Annotated[float, Field(ge=0)]
Prob = Annotated[float, Field(ge=0, le=1)]
PosInt = Annotated[int, Field(ge=1)]
NonNegInt = Annotated[int, Field(ge=0)]

#: The dates a scenario (and an imported event record) may use: anything outside is a typo
#: (``0001-01-01``, ``9999-12-31``), and a run over it would write gigabytes.
EARLIEST_DATE = dt.date(1950, 1, 1)
LATEST_DATE = dt.date(2100, 12, 31)
#: The longest run a scenario may ask for, in years.
MAX_RUN_YEARS = 30

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
    """Base for all configuration blocks: unknown keys are errors, values are immutable, and
    every number is finite (an infinite rate or a NaN weight would stall or silently skew a
    run: ``inf / inf`` is NaN and no comparison with NaN is ever true)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False
    )


class Motive(Frozen):
    """How much a militia wants to pressure one owner, as a function of the context drivers."""

    base: float = Field(0.0, description="Motive with all context drivers at zero.")
    context: dict[str, float] = Field(
        default_factory=dict,
        description="Context driver -> weight; the motive is base + sum(weight * driver), "
        "floored at 0.",
    )
    scale: str | None = Field(
        None,
        description="Context driver the whole motive is multiplied by (us_mission: the pull to "
        "expel a force shrinks with the force's mission); null: none.",
    )

    def level(self, context: Mapping[str, float]) -> float:
        """The motive under the context drivers ``context``: base + sum(weight * driver),
        floored at 0, times the scaling driver if any."""
        value = max(0.0, self.base + sum(w * context[k] for k, w in self.context.items()))
        return value * context[self.scale] if self.scale is not None else value
