"""The dated timeline: every kind of exogenous event a scenario can schedule, told apart by its
``type`` key.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import Field

from escalation.scenario.base import (
    Frozen,
    Line,
    Mission,
    NonNeg,
    NonNegInt,
    Prob,
    StrikeTheatre,
)
from escalation.scenario.iraq import Government


class EventBase(Frozen):
    """Fields every timeline event has."""

    date: dt.date = Field(description="Day the event happens.")
    label: str = Field(description="Short label for plots and logs.")
    source: str = Field("", description="Citation (seed file and passage, or other source).")
    precision: Literal["day", "month", "year"] = Field(
        "day", description="How precisely the source dates the event."
    )
    mark: bool = Field(True, description="Whether plots mark the event.")
    restates: list[str] = Field(
        default_factory=list,
        description="Ids of record targets this event replays (a dated US strike of the record "
        "scheduled on its day): an input, so calibration and its report do not score them.",
    )


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


class UsStrikeEvent(EventBase):
    """A US strike the timeline schedules, whatever the doctrine would do (to replay or move a
    strike of the record, or to add a larger one). Its consequences are those of a doctrine
    strike in the same theatre (``us.strike_effects``), times its severity."""

    type: Literal["us_strike"]
    theatre: StrikeTheatre = Field(
        "iraq",
        description="Where it lands: iraq (militia sites in Iraq), syria (their sites in "
        "Syria), leadership (their leaders), iran (Iran itself).",
    )
    militia: str | None = Field(
        None, description="Militia struck (none: Iran, or the network as a whole)."
    )
    severity: Annotated[float, Field(gt=0)] = Field(
        1.0,
        description="Size of the strike as a multiple of one strike's effects (for example "
        "the number of sites or leaders hit).",
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
    troops: NonNeg | None = Field(
        None,
        description="New troop level (relative to the start). Without it, a change of mission "
        "brings the footprint the US would keep on choosing it: ending the combat mission "
        "leaves at most us.withdrawal.advisory_troops, ending all missions none.",
    )
    air_defence: Prob | None = Field(None)
    force_protection: Prob | None = Field(None)
    embassy: bool | None = Field(None)
    syria: bool | None = Field(None)
    mission: Mission | None = Field(None)


class DoctrineEvent(EventBase):
    """A change of US deterrence doctrine (a new administration, a new policy)."""

    type: Literal["doctrine"]
    changes: dict[str, Any] = Field(
        description="Doctrine fields -> new values. A field set by --set or the Python API "
        "holds over the change: the event changes only the others."
    )


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
        None,
        description="New per-delivery amounts of the weapons it names; the others keep theirs "
        "(null: unchanged).",
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
    | UsStrikeEvent
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
    "us_strike",
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
