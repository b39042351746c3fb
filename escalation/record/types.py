"""The record's data model: targets, observed series, phases and key events, as frozen dataclasses.

Value forms (see targets.yaml): ``{point: x}`` is exact, matched to a floating-point allowance of
``FLOAT_RTOL`` (relative); ``{point: x, tolerance: t}`` is a rounded figure, ``x +- t``;
``{point: x, approximate: true}`` is "approximately x", the band
``x * (1 +- APPROXIMATE_TOLERANCE)``; ``{low: a, high: b}`` a range; ``{lower: a}`` / ``{upper: b}``
bounds, exclusive with ``strict: true``.

Statistics (computed by :func:`escalation.record.statistics.compute_statistic` from daily counts):

* ``count``: total in the window (inclusive, day-precise).
* ``mean_annual``: total divided by the window length in years (days / 365.25).
* ``monthly_max`` / ``monthly_min``: highest / lowest calendar-month total; months are cut to the
  window, so use month-aligned windows.
* ``peak_month``: the month ('YYYY-MM') with the highest total in the window; the earliest month
  wins a tie; '' when the window holds nothing.
* ``zero``: nothing in the window (value implied: 0).
* ``ratio``: total in the window / total in ``reference`` of ``reference_series`` (default: same).
* ``share``: total of the series / total of ``of_series`` over the same window.
* ``longest_zero_run``: longest run of consecutive days with nothing inside the window, in days.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

from escalation.errors import UserError
from escalation.scenario.schema import SeriesSpec

__all__ = [
    "ACTIONS",
    "APPROXIMATE_TOLERANCE",
    "BASELINE_START",
    "CLAIMS",
    "CONVENTIONS",
    "EPISODE_DAYS",
    "FLOAT_RTOL",
    "MEASURES",
    "STATISTICS",
    "TARGET_CLASSES",
    "THEATRES",
    "WEAPONS",
    "ZERO",
    "ExpectedChange",
    "KeyEvent",
    "Phase",
    "Record",
    "RecordError",
    "Series",
    "Source",
    "Target",
    "Value",
    "Window",
]

#: Relative half-width of the band for "approximately x" figures: x * (1 +- 0.15).
APPROXIMATE_TOLERANCE = 0.15
#: Floating-point allowance (relative; at least 1e-6 absolute) for exact figures and bounds.
FLOAT_RTOL = 1e-6
#: A count over fewer days than this is a dated incident, not a tempo figure (Target.is_episode).
EPISODE_DAYS = 28
#: Start of the record in the seeds (ACLED: "between June 2019 and March 2023"). Targets whose
#: windows start earlier carry the tag ``pre_baseline``; nothing in the code depends on this date.
BASELINE_START = date(2019, 6, 1)

STATISTICS: Mapping[str, str] = MappingProxyType(
    {
        "count": "total in the window",
        "mean_annual": "total divided by the window length in years (days / 365.25)",
        "monthly_max": "highest calendar-month total inside the window",
        "monthly_min": "lowest calendar-month total inside the window",
        "peak_month": "calendar month 'YYYY-MM' with the highest total (earliest wins a tie)",
        "zero": "nothing in the window",
        "ratio": "total in the window / total in the reference window (of reference_series)",
        "share": "total of the series / total of of_series over the same window",
        "longest_zero_run": "longest run of consecutive days with nothing, in days",
    }
)
TARGET_CLASSES = (
    "us_base",
    "us_convoy",
    "us_embassy",
    "us_base_syria",
    "turkish_base",
    "domestic",
    "kurdish_energy",
)
WEAPONS = ("rocket", "drone", "ied", "missile")
THEATRES = ("any", "iraq", "syria")
CLAIMS = ("any", "claimed", "own", "facade", "unclaimed")
CONVENTIONS = ("event", "landed_near", "wounding")
MEASURES = ("count", "us_wounded", "us_killed")
ACTIONS = ("attack", "retaliate")


class RecordError(UserError):
    """A malformed record file. ``str()`` is a one-paragraph message naming file, entry and key."""


@dataclass(frozen=True)
class Source:
    """A citation: a seed file and the verbatim passages in it."""

    file: str
    passages: tuple[str, ...]


@dataclass(frozen=True)
class Window:
    """An inclusive, day-precise date window."""

    start: date
    end: date

    @property
    def days(self) -> int:
        """Number of days in the window, both ends included."""
        return (self.end - self.start).days + 1

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


@dataclass(frozen=True)
class Value:
    """A target value as the source gives it, with its admissible interval.

    ``low``/``high`` are the interval ends (infinite when open); ``low_strict``/``high_strict`` make
    them exclusive. ``form`` is one of point, range, lower, upper, zero, month.
    """

    form: str
    low: float = -math.inf
    high: float = math.inf
    low_strict: bool = False
    high_strict: bool = False
    point: float | None = None
    approximate: bool = False
    tolerance: float | None = None
    month: str | None = None

    def describe(self) -> str:
        """Short human-readable form, e.g. '> 35', '~50 (42.5-57.5)', '2-10', "'2020-09'"."""
        if self.form == "month":
            return str(self.month)
        if self.form == "zero":
            return "0"
        if self.form == "point":
            if self.approximate:
                return f"~{_fmt(self.point)} ({_fmt(self.low)}-{_fmt(self.high)})"
            if self.tolerance:
                return f"{_fmt(self.point)} +- {_fmt(self.tolerance)}"
            return f"= {_fmt(self.point)}"
        if self.form == "range":
            return f"{_fmt(self.low)}-{_fmt(self.high)}"
        if self.form == "lower":
            return f"{'>' if self.low_strict else '>='} {_fmt(self.low)}"
        return f"{'<' if self.high_strict else '<='} {_fmt(self.high)}"


def _fmt(x: float | None) -> str:
    if x is None:
        return "?"
    return f"{x:g}"


@dataclass(frozen=True)
class Target:
    """One cited figure of the record (an entry of targets.yaml)."""

    id: str
    series: str
    window: Window
    statistic: str
    value: Value
    sources: tuple[Source, ...]
    definition: str
    notes: str = ""
    use: bool = True
    tags: tuple[str, ...] = ()
    alternative_of: str | None = None
    reference: Window | None = None
    reference_series: str | None = None
    of_series: str | None = None
    origin: str = ""

    @property
    def is_episode(self) -> bool:
        """A dated incident rather than a tempo figure: a count over less than 28 days, or one or
        two events within a month ("a strike in June 2021", "one attack in April 2021").

        A stochastic model is not expected to place an incident on its day or month; the report
        gives the share of runs in which it happens, and calibration fits the tempo targets.
        """
        if self.statistic != "count":
            return False
        if self.window.days < EPISODE_DAYS:
            return True
        v = self.value
        few = v.high <= 2 if math.isfinite(v.high) else v.low <= 2
        return self.window.days <= 31 and few

    @property
    def series_read(self) -> tuple[str, ...]:
        """Every series the statistic reads (the target's own first)."""
        out = [self.series]
        for other in (self.reference_series, self.of_series):
            if other and other not in out:
                out.append(other)
        return tuple(out)

    @property
    def span(self) -> Window:
        """The smallest window covering the target's window and its reference window."""
        if self.reference is None:
            return self.window
        return Window(
            min(self.window.start, self.reference.start), max(self.window.end, self.reference.end)
        )

    def within(self, start: date, end: date) -> bool:
        """True if every window the target reads lies inside ``start..end``."""
        span = self.span
        return span.start >= start and span.end <= end


@dataclass(frozen=True)
class Series:
    """An observed series: how one source counts (an entry of series.yaml)."""

    id: str
    label: str
    description: str
    source: str
    action: str
    actors: str | tuple[str, ...]
    targets: str | tuple[str, ...]
    weapons: str | tuple[str, ...]
    theatre: str
    claim: str
    convention: str
    coverage: float | Mapping[str, float]
    measure: str
    min_size: int | None = None

    def to_spec(self) -> SeriesSpec:
        """The series as the simulator's observation layer takes it."""

        def listed(v: str | tuple[str, ...]) -> str | list[str]:
            return v if isinstance(v, str) else list(v)

        actors = self.actors
        if self.action == "retaliate" and actors == "any":
            actors = "us"
        # validated by the schema, which holds the choices each text field admits
        return SeriesSpec.model_validate(
            {
                "label": self.label,
                "description": self.description,
                "source": self.source,
                "action": self.action,
                "actors": listed(actors),
                "targets": listed(self.targets),
                "weapons": listed(self.weapons),
                "theatre": self.theatre,
                "claim": self.claim,
                "convention": self.convention,
                "coverage": (
                    dict(self.coverage) if isinstance(self.coverage, Mapping) else self.coverage
                ),
                "measure": self.measure,
                "min_size": self.min_size,
            }
        )

    def coverage_for(self, target_class: str) -> float:
        """Probability that a true event on ``target_class`` enters this source."""
        if isinstance(self.coverage, Mapping):
            return float(self.coverage.get(target_class, 1.0))
        return float(self.coverage)

    def is_subset_of(self, other: Series) -> bool:
        """True if every event this series counts is counted by ``other`` as well.

        Only series of the same source, action, convention, measure and coverage are comparable.
        """
        if self.id == other.id:
            return True
        same = ("source", "action", "convention", "measure", "coverage")
        if any(getattr(self, k) != getattr(other, k) for k in same):
            return False
        return (
            _actors_subset(self.actors, other.actors)
            and _list_subset(self.targets, other.targets)
            and _list_subset(self.weapons, other.weapons)
            and (other.theatre == "any" or self.theatre == other.theatre)
            and _claim_subset(self.claim, other.claim)
            and (self.min_size or 0) >= (other.min_size or 0)
        )


def _list_subset(a: str | tuple[str, ...], b: str | tuple[str, ...]) -> bool:
    if b == "any":
        return True
    if a == "any":
        return False
    return set(a) <= set(b)


def _actors_subset(a: str | tuple[str, ...], b: str | tuple[str, ...]) -> bool:
    if b == "any" or a == b:
        return True
    if b == "militias":
        return isinstance(a, tuple)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return set(a) <= set(b)
    return False


def _claim_subset(a: str, b: str) -> bool:
    return b == "any" or a == b or (b == "claimed" and a in ("own", "facade"))


@dataclass(frozen=True)
class ExpectedChange:
    """A direction of tempo change the seeds give for one series in one phase."""

    series: str
    direction: str
    versus: str | None
    source: Source


@dataclass(frozen=True)
class Phase:
    """A named, dated phase of the record (an entry of phases.yaml)."""

    id: str
    label: str
    start: date
    end: date
    level: str
    description: str
    sources: tuple[Source, ...]
    expected_change: tuple[ExpectedChange, ...] = ()
    within: str | None = None
    overlap: str = ""
    notes: str = ""

    @property
    def window(self) -> Window:
        """The phase as a :class:`Window`."""
        return Window(self.start, self.end)


@dataclass(frozen=True)
class KeyEvent:
    """A dated event the seeds name, for plot markers."""

    date: date
    label: str
    source: Source
    precision: str = "day"


@dataclass(frozen=True)
class Record:
    """The loaded record: targets, observed series, phases and key events."""

    targets: tuple[Target, ...]
    series: Mapping[str, Series]
    phases: tuple[Phase, ...]
    events: tuple[KeyEvent, ...] = ()
    files: tuple[str, ...] = field(default=())

    def target(self, target_id: str) -> Target:
        """The target with id ``target_id`` (KeyError if absent)."""
        for t in self.targets:
            if t.id == target_id:
                return t
        raise KeyError(target_id)

    def used_targets(self) -> tuple[Target, ...]:
        """Targets with ``use: true`` (the readings calibration uses)."""
        return tuple(t for t in self.targets if t.use)

    def targets_for_series(self, series_id: str, *, used_only: bool = True) -> tuple[Target, ...]:
        """Targets whose own series is ``series_id``."""
        return tuple(t for t in self.targets if t.series == series_id and (t.use or not used_only))

    def targets_within(
        self, start: date, end: date, *, used_only: bool = True
    ) -> tuple[Target, ...]:
        """Targets whose windows (reference included) lie inside a run's period."""
        return tuple(t for t in self.targets if t.within(start, end) and (t.use or not used_only))

    @property
    def main_phases(self) -> tuple[Phase, ...]:
        """Main phases in date order."""
        return tuple(sorted((p for p in self.phases if p.level == "main"), key=lambda p: p.start))

    def key_events(self) -> tuple[tuple[date, str], ...]:
        """Key events as (date, label) pairs for plotting."""
        return tuple((e.date, e.label) for e in self.events)


#: The value of a 'zero' target: nothing in the window.
ZERO = Value(form="zero", low=0.0, high=0.0, point=0.0)
