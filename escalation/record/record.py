"""The historical record as cited data: load and validate targets, observed series and phases.

The record lives in three YAML files in this package (``targets.yaml``, ``series.yaml``,
``phases.yaml``); their headers document every field. :func:`load_record` turns them into frozen
dataclasses and rejects malformed input with a :class:`RecordError` whose message names the file,
the entry id or key path, and what was expected.

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

import itertools
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

import yaml

from escalation.errors import UserError
from escalation.scenario.schema import SeriesSpec

__all__ = [
    "APPROXIMATE_TOLERANCE",
    "BASELINE_START",
    "CLAIMS",
    "CONVENTIONS",
    "FLOAT_RTOL",
    "MEASURES",
    "STATISTICS",
    "TARGET_CLASSES",
    "THEATRES",
    "WEAPONS",
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
    "find_seeds_dir",
    "load_record",
    "verify_passages",
]

#: Relative half-width of the band for "approximately x" figures: x * (1 +- 0.15).
APPROXIMATE_TOLERANCE = 0.15
#: Floating-point allowance (relative; at least 1e-6 absolute) for exact figures and bounds.
FLOAT_RTOL = 1e-6
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
_ACTOR_WORDS = ("militias", "iran", "any")
_TAGS = ("pre_baseline", "vague", "derived", "date_reading")
_DIRECTIONS = ("increase", "decrease", "zero")
_PACKAGE_DIR = Path(__file__).resolve().parent / "data"
_FILES = ("targets.yaml", "series.yaml", "phases.yaml")


class RecordError(UserError):
    """A malformed record file. ``str()`` is a one-paragraph message naming file, entry and key."""


# --------------------------------------------------------------------------------------------
# data model
# --------------------------------------------------------------------------------------------


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
        return SeriesSpec(
            label=self.label,
            description=self.description,
            source=self.source,
            action=self.action,
            actors=listed(actors),
            targets=listed(self.targets),
            weapons=listed(self.weapons),
            theatre=self.theatre,
            claim=self.claim,
            convention=self.convention,
            coverage=dict(self.coverage) if isinstance(self.coverage, Mapping) else self.coverage,
            measure=self.measure,
            min_size=self.min_size,
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


# --------------------------------------------------------------------------------------------
# error helpers
# --------------------------------------------------------------------------------------------


class _Ctx:
    """Where in which file a value sits, to build messages."""

    def __init__(self, file: str, where: str) -> None:
        self.file = file
        self.where = where

    def fail(
        self, key: str | None, expected: str, got: Any = None, *, show_got: bool = True
    ) -> NoReturn:
        loc = f"{self.where}, key '{key}'" if key else self.where
        tail = f", got {_show(got)}" if show_got else ""
        raise RecordError(f"{self.file}: {loc}: expected {expected}{tail}.")


def _show(x: Any) -> str:
    if x is None:
        return "nothing"
    text = repr(x)
    return text if len(text) <= 120 else text[:117] + "..."


_MISSING = object()


def _get(d: Mapping[str, Any], key: str, ctx: _Ctx, expected: str, default: Any = _MISSING) -> Any:
    if key not in d or d[key] is None:
        if default is _MISSING:
            ctx.fail(key, expected + " (the key is missing)", show_got=False)
        return default
    return d[key]


def _str(d: Mapping[str, Any], key: str, ctx: _Ctx, default: Any = _MISSING) -> str:
    v = _get(d, key, ctx, "a non-empty text", default)
    if v is default and default is not _MISSING:
        return v
    if not isinstance(v, str) or not v.strip():
        ctx.fail(key, "a non-empty text", v)
    return v.strip()


def _date(v: Any, ctx: _Ctx, key: str) -> date:
    if isinstance(v, date):
        return v
    if isinstance(v, str):
        try:
            return date.fromisoformat(v.strip())
        except ValueError:
            pass
    ctx.fail(key, "an ISO date YYYY-MM-DD", v)
    raise AssertionError  # unreachable


def _window(v: Any, ctx: _Ctx, key: str) -> Window:
    if not isinstance(v, Mapping):
        ctx.fail(key, "a mapping {start: YYYY-MM-DD, end: YYYY-MM-DD}", v)
    for k in v:
        if k not in ("start", "end"):
            ctx.fail(f"{key}.{k}", "only the keys start and end", k)
    start = _date(_get(v, "start", ctx, f"{key}.start as an ISO date"), ctx, f"{key}.start")
    end = _date(_get(v, "end", ctx, f"{key}.end as an ISO date"), ctx, f"{key}.end")
    if end < start:
        ctx.fail(
            f"{key}.end", f"a date on or after {key}.start ({start.isoformat()})", end.isoformat()
        )
    return Window(start, end)


def _number(v: Any, ctx: _Ctx, key: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        ctx.fail(key, "a finite number", v)
    return float(v)


def _sources(v: Any, ctx: _Ctx, key: str) -> tuple[Source, ...]:
    if v is None:
        ctx.fail(
            key,
            "a source {file: <seed file>, passage: <verbatim text>} (the key is missing)",
            show_got=False,
        )
    items = v if isinstance(v, list) else [v]
    if not items:
        ctx.fail(key, "at least one source {file, passage}", v)
    out = []
    for i, item in enumerate(items):
        k = f"{key}[{i}]" if isinstance(v, list) else key
        if not isinstance(item, Mapping):
            ctx.fail(k, "a mapping {file: <seed file>, passage: <verbatim text>}", item)
        for extra in item:
            if extra not in ("file", "passage"):
                ctx.fail(f"{k}.{extra}", "only the keys file and passage", extra)
        file = _str(item, "file", _Ctx(ctx.file, f"{ctx.where}, {k}"))
        passage = item.get("passage")
        passages = passage if isinstance(passage, list) else [passage]
        if not passages or any(not isinstance(p, str) or not p.strip() for p in passages):
            ctx.fail(
                f"{k}.passage",
                "a verbatim passage from the seed (text, or a list of texts)",
                passage,
            )
        out.append(Source(file=file, passages=tuple(passages)))
    return tuple(out)


def _choice(v: Any, options: Iterable[str], ctx: _Ctx, key: str) -> str:
    options = tuple(options)
    if v not in options:
        ctx.fail(key, "one of " + ", ".join(options), v)
    return v


def _any_or_list(v: Any, options: Iterable[str], ctx: _Ctx, key: str) -> str | tuple[str, ...]:
    options = tuple(options)
    if v == "any":
        return "any"
    if not isinstance(v, list) or not v:
        ctx.fail(key, "any, or a non-empty list of " + ", ".join(options), v)
    for item in v:
        if item not in options:
            ctx.fail(key, "list items from " + ", ".join(options), item)
    return tuple(v)


# --------------------------------------------------------------------------------------------
# parsing
# --------------------------------------------------------------------------------------------


def _read_yaml(path: Path, top_key: str) -> Mapping[str, Any]:
    if not path.is_file():
        raise RecordError(
            f"{path}: file not found; expected a YAML file with a top-level '{top_key}' key."
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RecordError(f"{path}: broken YAML{where}: {problem}; fix the syntax there.") from None
    except UnicodeDecodeError as exc:
        raise RecordError(
            f"{path}: not UTF-8 text ({exc.reason}); save the file as UTF-8."
        ) from None
    if not isinstance(data, Mapping) or top_key not in data:
        got = sorted(data) if isinstance(data, Mapping) else type(data).__name__
        raise RecordError(
            f"{path}: expected a mapping with a top-level '{top_key}' key, got {_show(got)}."
        )
    return data


_TARGET_KEYS = {
    "id", "series", "window", "statistic", "value", "source", "definition", "notes", "use", "tags",
    "alternative_of", "reference", "reference_series", "of_series",
}  # fmt: skip


#: The value of a 'zero' target: nothing in the window.
ZERO = Value(form="zero", low=0.0, high=0.0, point=0.0)


def _parse_value(raw: Any, statistic: str, ctx: _Ctx) -> Value:
    if statistic == "zero":
        if raw is None:
            return ZERO
        if isinstance(raw, Mapping) and set(raw) == {"point"} and raw["point"] == 0:
            return ZERO
        ctx.fail("value", "no value (or {point: 0}) for statistic zero", raw)
    if not isinstance(raw, Mapping) or not raw:
        ctx.fail("value", "a mapping: {point: x}, {low: a, high: b}, {lower: a} or {upper: b}", raw)
    if statistic == "peak_month":
        month = raw.get("point")
        if set(raw) != {"point"} or not isinstance(month, str) or not _is_month(month):
            ctx.fail("value", "{point: 'YYYY-MM'} for statistic peak_month", raw)
        return Value(form="month", month=month)
    keys = set(raw)
    allowed = {
        frozenset({"point"}), frozenset({"point", "approximate"}),
        frozenset({"point", "tolerance"}),
        frozenset({"low", "high"}), frozenset({"lower"}), frozenset({"lower", "strict"}),
        frozenset({"upper"}), frozenset({"upper", "strict"}),
    }  # fmt: skip
    if frozenset(keys) not in allowed:
        ctx.fail(
            "value",
            "one of {point: x}, {point: x, approximate: true}, {point: x, tolerance: t}, "
            "{low: a, high: b}, {lower: a[, strict: true]}, {upper: b[, strict: true]}",
            raw,
        )
    strict = raw.get("strict", False)
    if not isinstance(strict, bool):
        ctx.fail("value.strict", "true or false", strict)
    if "point" in keys:
        p = _number(raw["point"], ctx, "value.point")
        if raw.get("approximate") is not None:
            if raw["approximate"] is not True:
                ctx.fail(
                    "value.approximate", "true (omit it for an exact figure)", raw["approximate"]
                )
            half = abs(p) * APPROXIMATE_TOLERANCE
            return Value(form="point", low=p - half, high=p + half, point=p, approximate=True)
        if "tolerance" in keys:
            tol = _number(raw["tolerance"], ctx, "value.tolerance")
            if tol <= 0:
                ctx.fail("value.tolerance", "a positive number", raw["tolerance"])
            return Value(form="point", low=p - tol, high=p + tol, point=p, tolerance=tol)
        return Value(form="point", low=p, high=p, point=p)
    if "low" in keys:
        lo = _number(raw["low"], ctx, "value.low")
        hi = _number(raw["high"], ctx, "value.high")
        if lo > hi:
            ctx.fail(
                "value",
                f"low <= high, but low ({lo:g}) is above high ({hi:g})",
                raw,
                show_got=False,
            )
        return Value(form="range", low=lo, high=hi)
    if "lower" in keys:
        return Value(form="lower", low=_number(raw["lower"], ctx, "value.lower"), low_strict=strict)
    return Value(form="upper", high=_number(raw["upper"], ctx, "value.upper"), high_strict=strict)


def _is_month(s: str) -> bool:
    parts = s.split("-")
    return (
        len(parts) == 2
        and len(parts[0]) == 4
        and parts[0].isdigit()
        and len(parts[1]) == 2
        and parts[1].isdigit()
        and 1 <= int(parts[1]) <= 12
    )


def _parse_target(raw: Any, index: int, file: str) -> Target:
    where = f"entry {index + 1} of 'targets'"
    ctx = _Ctx(file, where)
    if not isinstance(raw, Mapping):
        ctx.fail(
            None,
            "a mapping with keys id, series, window, statistic, value, source, definition",
            raw,
        )
    tid = raw.get("id")
    if (
        not isinstance(tid, str)
        or not tid
        or not tid.replace("_", "a").isalnum()
        or tid != tid.lower()
    ):
        ctx.fail("id", "a snake_case identifier", tid)
    ctx = _Ctx(file, f"entry '{tid}' (targets[{index}])")
    for k in raw:
        if k not in _TARGET_KEYS:
            ctx.fail(k, "only the keys " + ", ".join(sorted(_TARGET_KEYS)), k)
    series = _str(raw, "series", ctx)
    statistic = _choice(_get(raw, "statistic", ctx, "a statistic"), STATISTICS, ctx, "statistic")
    window = _window(_get(raw, "window", ctx, "a window {start, end}"), ctx, "window")
    value = _parse_value(raw.get("value"), statistic, ctx)
    sources = _sources(raw.get("source"), ctx, "source")
    definition = _str(raw, "definition", ctx)
    notes = raw.get("notes") or ""
    if not isinstance(notes, str):
        ctx.fail("notes", "text", notes)
    use = raw.get("use", True)
    if not isinstance(use, bool):
        ctx.fail("use", "true or false", use)
    tags = raw.get("tags") or []
    if not isinstance(tags, list) or any(t not in _TAGS for t in tags):
        ctx.fail("tags", "a list of " + ", ".join(_TAGS), tags)
    alternative_of = raw.get("alternative_of")
    if alternative_of is not None and not isinstance(alternative_of, str):
        ctx.fail(
            "alternative_of",
            "the id of the entry this one is an alternative reading of",
            alternative_of,
        )
    reference = None
    reference_series = raw.get("reference_series")
    of_series = raw.get("of_series")
    if statistic == "ratio":
        reference = _window(
            _get(raw, "reference", ctx, "a reference window {start, end} for a ratio"),
            ctx,
            "reference",
        )
    elif "reference" in raw or reference_series is not None:
        ctx.fail(
            "reference", "no reference window except for statistic ratio", raw.get("reference")
        )
    if statistic == "share":
        of_series = _str(raw, "of_series", ctx)
    elif of_series is not None:
        ctx.fail("of_series", "no of_series except for statistic share", of_series)
    if reference_series is not None and (
        not isinstance(reference_series, str) or not reference_series
    ):
        ctx.fail("reference_series", "a series id", reference_series)
    if statistic in ("ratio", "share", "mean_annual", "longest_zero_run") and value.form == "zero":
        ctx.fail("value", f"a value for statistic {statistic}", None)
    return Target(
        id=tid,
        series=series,
        window=window,
        statistic=statistic,
        value=value,
        sources=sources,
        definition=definition,
        notes=notes.strip(),
        use=use,
        tags=tuple(tags),
        alternative_of=alternative_of,
        reference=reference,
        reference_series=reference_series,
        of_series=of_series,
        origin=file,
    )


_SERIES_KEYS = {
    "label", "description", "source", "action", "actors", "targets", "weapons", "theatre", "claim",
    "convention", "coverage", "measure", "min_size",
}  # fmt: skip


def _parse_series(sid: Any, raw: Any, file: str) -> Series:
    ctx = _Ctx(file, f"series '{sid}'")
    if not isinstance(sid, str) or not sid.replace("_", "a").isalnum() or sid != sid.lower():
        ctx.fail(None, "a snake_case series id", sid)
    if not isinstance(raw, Mapping):
        ctx.fail(
            None, "a mapping with label, description, source, action, actors, targets, ...", raw
        )
    for k in raw:
        if k not in _SERIES_KEYS:
            ctx.fail(k, "only the keys " + ", ".join(sorted(_SERIES_KEYS)), k)
    actors_raw = _get(raw, "actors", ctx, "militias, iran, any or a list of militia ids")
    if isinstance(actors_raw, list):
        if not actors_raw or any(not isinstance(a, str) or not a for a in actors_raw):
            ctx.fail("actors", "a non-empty list of militia ids such as [KH, AAH]", actors_raw)
        actors: str | tuple[str, ...] = tuple(actors_raw)
    else:
        actors = _choice(actors_raw, _ACTOR_WORDS, ctx, "actors")
    targets = _any_or_list(
        _get(raw, "targets", ctx, "any or a list of target classes"), TARGET_CLASSES, ctx, "targets"
    )
    weapons = _any_or_list(raw.get("weapons", "any"), WEAPONS, ctx, "weapons")
    cov_raw = raw.get("coverage", 1.0)
    coverage: float | Mapping[str, float]
    if isinstance(cov_raw, Mapping):
        classes = TARGET_CLASSES if targets == "any" else targets
        cov = {}
        for k, v in cov_raw.items():
            if k not in classes:
                ctx.fail(f"coverage.{k}", "a target class of this series: " + ", ".join(classes), k)
            cov[k] = _number(v, ctx, f"coverage.{k}")
            if not 0 < cov[k] <= 1:
                ctx.fail(f"coverage.{k}", "a probability in (0, 1]", v)
        if targets != "any" and set(cov) != set(targets):
            ctx.fail(
                "coverage",
                "a number for every target class of the series: " + ", ".join(targets),
                sorted(cov),
            )
        coverage = MappingProxyType(cov)
    else:
        coverage = _number(cov_raw, ctx, "coverage")
        if not 0 < coverage <= 1:
            ctx.fail("coverage", "a probability in (0, 1]", cov_raw)
    min_size = raw.get("min_size")
    if min_size is not None and (
        isinstance(min_size, bool) or not isinstance(min_size, int) or min_size < 1
    ):
        ctx.fail("min_size", "a positive whole number of munitions", min_size)
    return Series(
        id=sid,
        label=_str(raw, "label", ctx),
        description=_str(raw, "description", ctx),
        source=_str(raw, "source", ctx),
        action=_choice(raw.get("action", "attack"), ACTIONS, ctx, "action"),
        actors=actors,
        targets=targets,
        weapons=weapons,
        theatre=_choice(raw.get("theatre", "any"), THEATRES, ctx, "theatre"),
        claim=_choice(raw.get("claim", "any"), CLAIMS, ctx, "claim"),
        convention=_choice(raw.get("convention", "event"), CONVENTIONS, ctx, "convention"),
        coverage=coverage,
        measure=_choice(raw.get("measure", "count"), MEASURES, ctx, "measure"),
        min_size=min_size,
    )


_PHASE_KEYS = {
    "id", "label", "start", "end", "level", "description", "sources", "expected_change", "within",
    "overlap", "notes",
}  # fmt: skip


def _parse_phase(raw: Any, index: int, file: str) -> Phase:
    ctx = _Ctx(file, f"entry {index + 1} of 'phases'")
    if not isinstance(raw, Mapping):
        ctx.fail(None, "a mapping with id, label, start, end, level, description, sources", raw)
    pid = raw.get("id")
    if not isinstance(pid, str) or not pid:
        ctx.fail("id", "a snake_case identifier", pid)
    ctx = _Ctx(file, f"phase '{pid}' (phases[{index}])")
    for k in raw:
        if k not in _PHASE_KEYS:
            ctx.fail(k, "only the keys " + ", ".join(sorted(_PHASE_KEYS)), k)
    window = _window({"start": raw.get("start"), "end": raw.get("end")}, ctx, "dates")
    level = _choice(raw.get("level", "main"), ("main", "sub"), ctx, "level")
    changes = []
    for i, ch in enumerate(raw.get("expected_change") or []):
        key = f"expected_change[{i}]"
        if not isinstance(ch, Mapping):
            ctx.fail(key, "a mapping {series, direction, source}", ch)
        changes.append(
            ExpectedChange(
                series=_str(ch, "series", _Ctx(file, f"{ctx.where}, {key}")),
                direction=_choice(ch.get("direction"), _DIRECTIONS, ctx, f"{key}.direction"),
                versus=ch.get("versus"),
                source=_sources(ch.get("source"), ctx, f"{key}.source")[0],
            )
        )
    within = raw.get("within")
    if level == "sub" and (not within or not raw.get("overlap")):
        ctx.fail(
            "within",
            "for a sub phase, the id of the main phase it lies in and an 'overlap' reason",
            within,
        )
    return Phase(
        id=pid,
        label=_str(raw, "label", ctx),
        start=window.start,
        end=window.end,
        level=level,
        description=_str(raw, "description", ctx),
        sources=_sources(raw.get("sources"), ctx, "sources"),
        expected_change=tuple(changes),
        within=within,
        overlap=(raw.get("overlap") or "").strip(),
        notes=(raw.get("notes") or "").strip(),
    )


def _parse_event(raw: Any, index: int, file: str) -> KeyEvent:
    ctx = _Ctx(file, f"events[{index}]")
    if not isinstance(raw, Mapping):
        ctx.fail(None, "a mapping {date, label, source}", raw)
    return KeyEvent(
        date=_date(raw.get("date"), ctx, "date"),
        label=_str(raw, "label", ctx),
        source=_sources(raw.get("source"), ctx, "source")[0],
        precision=_choice(raw.get("precision", "day"), ("day", "month"), ctx, "precision"),
    )


# --------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------


def _as_list(raw: Any, path: Path, key: str) -> list[Any]:
    if not isinstance(raw, list):
        raise RecordError(f"{path}: key '{key}': expected a list of entries, got {_show(raw)}.")
    return raw


def load_record(
    path_or_dir: str | os.PathLike[str] | None = None,
    *,
    extra_targets: Iterable[str | os.PathLike[str]] = (),
    extra_series: Iterable[str | os.PathLike[str]] = (),
    extra_phases: Iterable[str | os.PathLike[str]] = (),
) -> Record:
    """Load and validate the record.

    ``path_or_dir`` is a directory holding targets.yaml, series.yaml and phases.yaml (default: this
    package), or a targets file to use instead of the packaged targets (series and phases then come
    from the package). ``extra_*`` add files of the same format; ids must stay unique.
    Raises :class:`RecordError` naming the file, entry and key of the first problem found.
    """
    base = Path(path_or_dir) if path_or_dir is not None else _PACKAGE_DIR
    if path_or_dir is not None and not base.exists():
        raise RecordError(
            f"{base}: not found; expected a record directory (holding targets.yaml, "
            "series.yaml and phases.yaml) or a targets YAML file."
        )
    if base.is_dir():
        target_files, series_files, phase_files = (
            [base / "targets.yaml"],
            [base / "series.yaml"],
            [base / "phases.yaml"],
        )
    else:
        target_files = [base]
        series_files, phase_files = [_PACKAGE_DIR / "series.yaml"], [_PACKAGE_DIR / "phases.yaml"]
    target_files += [Path(p) for p in extra_targets]
    series_files += [Path(p) for p in extra_series]
    phase_files += [Path(p) for p in extra_phases]

    series: dict[str, Series] = {}
    series_origin: dict[str, Path] = {}
    for path in series_files:
        raw = _read_yaml(path, "series")["series"]
        if not isinstance(raw, Mapping):
            raise RecordError(
                f"{path}: key 'series': expected a mapping from series id to definition, "
                f"got {_show(raw)}."
            )
        for sid, body in raw.items():
            if sid in series:
                raise RecordError(
                    f"{path}: series '{sid}': expected a new id, but it is already "
                    f"defined in {series_origin[sid]}."
                )
            series[sid] = _parse_series(sid, body, str(path))
            series_origin[sid] = path

    targets: list[Target] = []
    seen: dict[str, str] = {}
    for path in target_files:
        for i, raw in enumerate(_as_list(_read_yaml(path, "targets")["targets"], path, "targets")):
            t = _parse_target(raw, i, str(path))
            if t.id in seen:
                raise RecordError(
                    f"{path}: entry '{t.id}' (targets[{i}]), key 'id': expected a unique "
                    f"id, but '{t.id}' is already used in {seen[t.id]}."
                )
            seen[t.id] = str(path)
            targets.append(t)
    for t in targets:
        ctx = _Ctx(t.origin, f"entry '{t.id}'")
        for key, sid in (
            ("series", t.series),
            ("of_series", t.of_series),
            ("reference_series", t.reference_series),
        ):
            if sid is not None and sid not in series:
                ctx.fail(key, "a series defined in " + ", ".join(str(p) for p in series_files), sid)
        if t.alternative_of is not None and t.alternative_of not in seen:
            ctx.fail("alternative_of", "the id of another entry", t.alternative_of)
        if t.alternative_of is not None and t.use:
            ctx.fail(
                "use", "false for an entry marked alternative_of (the alternative reading)", t.use
            )

    phases: list[Phase] = []
    events: list[KeyEvent] = []
    for path in phase_files:
        data = _read_yaml(path, "phases")
        for i, raw in enumerate(_as_list(data["phases"], path, "phases")):
            phases.append(_parse_phase(raw, i, str(path)))
        for i, raw in enumerate(_as_list(data.get("events") or [], path, "events")):
            events.append(_parse_event(raw, i, str(path)))
    _check_phases(phases, series, phase_files)

    return Record(
        targets=tuple(targets),
        series=MappingProxyType(series),
        phases=tuple(phases),
        events=tuple(sorted(events, key=lambda e: e.date)),
        files=tuple(str(p) for p in (*target_files, *series_files, *phase_files)),
    )


def _check_phases(phases: list[Phase], series: Mapping[str, Series], files: list[Path]) -> None:
    ids: dict[str, Phase] = {}
    for p in phases:
        if p.id in ids:
            raise RecordError(
                f"{files[0]}: phase '{p.id}', key 'id': expected a unique id, got a duplicate."
            )
        ids[p.id] = p
    main = sorted((p for p in phases if p.level == "main"), key=lambda p: p.start)
    for a, b in itertools.pairwise(main):
        if b.start <= a.end:
            raise RecordError(
                f"{files[0]}: phase '{b.id}', key 'start': expected main phases not to overlap, "
                f"but it starts {b.start.isoformat()}, before '{a.id}' ends "
                f"({a.end.isoformat()}); make one of them a sub phase (level: sub, within, "
                "overlap) or move the dates."
            )
    for p in phases:
        ctx = _Ctx(files[0], f"phase '{p.id}'")
        if p.level == "sub":
            parent = ids.get(p.within or "")
            if parent is None or parent.level != "main":
                ctx.fail("within", "the id of a main phase", p.within)
            if p.start < parent.start or p.end > parent.end:
                ctx.fail("start", f"dates inside '{parent.id}' ({parent.window})", str(p.window))
        for i, ch in enumerate(p.expected_change):
            if ch.series not in series:
                ctx.fail(
                    f"expected_change[{i}].series", "a series defined in series.yaml", ch.series
                )
            if ch.versus is not None and ch.versus not in ids:
                ctx.fail(f"expected_change[{i}].versus", "a phase id", ch.versus)


# --------------------------------------------------------------------------------------------
# passages
# --------------------------------------------------------------------------------------------


def find_seeds_dir() -> Path | None:
    """The seed documents: ``$ESCALATION_SEEDS_DIR``, else the first ``shared/seeds`` folder
    beside the repository or one of its parent folders. None if there is none."""
    env = os.environ.get("ESCALATION_SEEDS_DIR")
    if env:
        path = Path(env)
        return path if path.is_dir() else None
    for parent in _PACKAGE_DIR.parent.parents:
        path = parent / "shared" / "seeds"
        if path.is_dir():
            return path
    return None


def verify_passages(record: Record, seeds_dir: str | os.PathLike[str] | None = None) -> None:
    """Check that every cited passage occurs verbatim in its seed file.

    Raises :class:`RecordError` listing each passage not found (file, entry, start of the passage).
    """
    root = Path(seeds_dir) if seeds_dir is not None else find_seeds_dir()
    if root is None or not root.is_dir():
        raise RecordError(
            f"seeds directory not found ({root or 'set ESCALATION_SEEDS_DIR'}); expected "
            "the directory of seed files the record cites."
        )
    cache: dict[str, str | None] = {}

    def text(name: str) -> str | None:
        if name not in cache:
            p = root / name
            cache[name] = p.read_text(encoding="utf-8") if p.is_file() else None
        return cache[name]

    cited: list[tuple[str, str, Source]] = []
    for t in record.targets:
        cited += [(t.origin, f"entry '{t.id}'", s) for s in t.sources]
    for p in record.phases:
        cited += [("phases", f"phase '{p.id}'", s) for s in p.sources]
        cited += [
            ("phases", f"phase '{p.id}' expected_change", c.source) for c in p.expected_change
        ]
    for e in record.events:
        cited.append(("phases", f"event '{e.label}'", e.source))
    problems = []
    for origin, where, src in cited:
        body = text(src.file)
        if body is None:
            problems.append(f"{origin}: {where}: seed file '{src.file}' not found in {root}")
            continue
        for passage in src.passages:
            if passage not in body:
                problems.append(
                    f"{origin}: {where}: passage not found verbatim in {src.file}: "
                    f"{_show(passage[:80])}"
                )
    if problems:
        raise RecordError(
            f"{len(problems)} cited passage(s) do not occur verbatim in the seeds (check curly "
            "quotes and apostrophes): " + "; ".join(problems) + "."
        )
