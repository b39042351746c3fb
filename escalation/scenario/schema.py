"""The scenario schema: every weight, threshold and rate, with its default and meaning.

A scenario file is validated once, at the edge, into the frozen :class:`Scenario` defined here;
the model never re-checks its inputs. Field descriptions double as the reference documentation
(``escalation schema`` prints them).

This module is the schema's public face: it assembles the root :class:`Scenario` from the
sections defined beside it and names them all, so the rest of the package reads the schema
through one import (``from escalation.scenario import schema as C``; ``C.Militia``,
``C.SeriesSpec``, ``C.OWNERS``...). The sections live by concept:

- :mod:`~escalation.scenario.base`: bounded field types, named choices, the :class:`Frozen`
  base, :class:`Motive`;
- :mod:`~escalation.scenario.world`: weapons and target classes;
- :mod:`~escalation.scenario.militias`: militias, truce rules, deniability;
- :mod:`~escalation.scenario.iran`: Iran's lines, resupply, direct action;
- :mod:`~escalation.scenario.us`: US posture, doctrine, strike effects, withdrawal;
- :mod:`~escalation.scenario.iraq`: the Iraqi government;
- :mod:`~escalation.scenario.reporting`: observed series and the spiral definition;
- :mod:`~escalation.scenario.timeline`: the dated events.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field, PrivateAttr, field_validator

from escalation.scenario.base import (
    EARLIEST_DATE,
    LATEST_DATE,
    LINES,
    MAX_RUN_YEARS,
    OWNERS,
    Exposure,
    Frozen,
    Line,
    Mission,
    Motive,
    NonNeg,
    NonNegInt,
    Owner,
    PosInt,
    Prob,
    StrikeTheatre,
    Theatre,
    Trigger,
)
from escalation.scenario.iran import (
    DirectAction,
    Halt,
    Iran,
    IranWeights,
    LineSpec,
    Resupply,
    default_lines,
)
from escalation.scenario.iraq import Government, IraqiGovernment
from escalation.scenario.militias import Brand, Deniability, Militia, MilitiaWeights, TruceRules
from escalation.scenario.reporting import Analysis, SeriesSpec
from escalation.scenario.timeline import (
    EVENT_TYPES,
    ContextEvent,
    DoctrineEvent,
    ElectionEvent,
    Event,
    EventBase,
    GovernmentEvent,
    IranLineEvent,
    IraqPressureEvent,
    LeadershipStrikeEvent,
    MilitiaEvent,
    PostureEvent,
    ResupplyEvent,
    TruceEndEvent,
    TruceEvent,
    UsStrikeEvent,
)
from escalation.scenario.us import (
    US,
    Attribution,
    Doctrine,
    Posture,
    StrikeEffect,
    Withdrawal,
    WithdrawalOption,
    default_strike_effects,
)
from escalation.scenario.world import (
    SizeClass,
    TargetClass,
    Weapon,
    default_targets,
    default_weapons,
)

__all__ = [
    "BUILTIN_CONTEXT",
    "EVENT_TYPES",
    "LINES",
    "OWNERS",
    "US",
    "Analysis",
    "Attribution",
    "Brand",
    "ContextEvent",
    "Deniability",
    "DirectAction",
    "Doctrine",
    "DoctrineEvent",
    "ElectionEvent",
    "Event",
    "EventBase",
    "Exposure",
    "Frozen",
    "Government",
    "GovernmentEvent",
    "Halt",
    "Iran",
    "IranLineEvent",
    "IranWeights",
    "IraqPressureEvent",
    "IraqiGovernment",
    "LeadershipStrikeEvent",
    "Line",
    "LineSpec",
    "Militia",
    "MilitiaEvent",
    "MilitiaWeights",
    "Mission",
    "Motive",
    "NonNeg",
    "NonNegInt",
    "Owner",
    "PosInt",
    "Posture",
    "PostureEvent",
    "Prob",
    "Resupply",
    "ResupplyEvent",
    "Scenario",
    "SeriesSpec",
    "SizeClass",
    "StrikeEffect",
    "StrikeTheatre",
    "TargetClass",
    "Theatre",
    "Trigger",
    "TruceEndEvent",
    "TruceEvent",
    "TruceRules",
    "UsStrikeEvent",
    "Weapon",
    "Withdrawal",
    "WithdrawalOption",
    "default_lines",
    "default_strike_effects",
    "default_targets",
    "default_weapons",
]


class Scenario(Frozen):
    """A whole scenario: dates, actors, incentives, events and observed series."""

    name: str = Field(description="Scenario name (used for the output folder).")
    description: str = Field("", description="What the scenario is and the question it asks.")
    start: dt.date = Field(
        description=f"First simulated day, from {EARLIEST_DATE} to {LATEST_DATE}."
    )
    end: dt.date = Field(
        description=f"Last simulated day, after start, at most {MAX_RUN_YEARS} years after it "
        f"and by {LATEST_DATE}."
    )
    step_days: PosInt = Field(1, description="Days per model step (at most the length of the run).")
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
