"""YAML entries of the record turned into its dataclasses, or a :class:`RecordError`.

Each ``parse_*`` function takes one entry of targets.yaml, series.yaml or phases.yaml and returns
the frozen record type; ``check_targets`` and ``check_phases`` then check what ties entries
together (series ids, alternative readings, nesting and order of phases). Every message names the
file, the entry id or key path, what was expected and what was found.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple, NoReturn

from escalation.record.types import (
    ACTIONS,
    APPROXIMATE_TOLERANCE,
    CLAIMS,
    CONVENTIONS,
    MEASURES,
    STATISTICS,
    TARGET_CLASSES,
    THEATRES,
    WEAPONS,
    ZERO,
    ExpectedChange,
    KeyEvent,
    Phase,
    RecordError,
    Series,
    Source,
    Target,
    Value,
    Window,
)

__all__ = [
    "check_phases",
    "check_targets",
    "parse_event",
    "parse_phase",
    "parse_series",
    "parse_target",
    "show",
]

_ACTOR_WORDS = ("militias", "iran", "any")
_TAGS = ("pre_baseline", "vague", "derived", "date_reading")
_DIRECTIONS = ("increase", "decrease", "zero")


class _Ctx:
    """Where in which file a value sits, to build messages."""

    def __init__(self, file: str, where: str) -> None:
        self.file = file
        self.where = where

    def fail(
        self, key: str | None, expected: str, got: Any = None, *, show_got: bool = True
    ) -> NoReturn:
        loc = f"{self.where}, key '{key}'" if key else self.where
        tail = f", got {show(got)}" if show_got else ""
        raise RecordError(f"{self.file}: {loc}: expected {expected}{tail}.")


def show(x: Any) -> str:
    """A value as an error message quotes it: its repr, cut to 120 characters."""
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
        texts = tuple(p for p in passages if isinstance(p, str))  # every one: checked above
        out.append(Source(file=file, passages=texts))
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


_TARGET_KEYS = {
    "id", "series", "window", "statistic", "value", "source", "definition", "notes", "use", "tags",
    "alternative_of", "reference", "reference_series", "of_series",
}  # fmt: skip


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


def parse_target(raw: Any, index: int, file: str) -> Target:
    """Entry ``index`` (from 0) of the 'targets' list of ``file``, as a :class:`Target`."""
    ctx = _Ctx(file, f"entry {index + 1} of 'targets'")
    if not isinstance(raw, Mapping):
        ctx.fail(
            None,
            "a mapping with keys id, series, window, statistic, value, source, definition",
            raw,
        )
    tid = _target_id(raw.get("id"), ctx)
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
    use = _target_use(raw, ctx)
    links = _target_links(raw, statistic, ctx)
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
        notes=use.notes.strip(),
        use=use.use,
        tags=tuple(use.tags),
        alternative_of=use.alternative_of,
        reference=links.reference,
        reference_series=links.reference_series,
        of_series=links.of_series,
        origin=file,
    )


def _target_id(tid: Any, ctx: _Ctx) -> str:
    if (
        not isinstance(tid, str)
        or not tid
        or not tid.replace("_", "a").isalnum()
        or tid != tid.lower()
    ):
        ctx.fail("id", "a snake_case identifier", tid)
    return tid


class _TargetUse(NamedTuple):
    """How a target entry is used: its notes, whether calibration reads it, tags, alternatives."""

    notes: str
    use: bool
    tags: list[str]
    alternative_of: str | None


def _target_use(raw: Mapping[str, Any], ctx: _Ctx) -> _TargetUse:
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
    return _TargetUse(notes, use, tags, alternative_of)


class _TargetLinks(NamedTuple):
    """What a ratio or share target reads beyond its own series and window."""

    reference: Window | None
    reference_series: str | None
    of_series: str | None


def _target_links(raw: Mapping[str, Any], statistic: str, ctx: _Ctx) -> _TargetLinks:
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
    return _TargetLinks(reference, reference_series, of_series)


_SERIES_KEYS = {
    "label", "description", "source", "action", "actors", "targets", "weapons", "theatre", "claim",
    "convention", "coverage", "measure", "min_size",
}  # fmt: skip


def parse_series(sid: Any, raw: Any, file: str) -> Series:
    """The definition ``raw`` of series ``sid`` in ``file``, as a :class:`Series`."""
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


def parse_phase(raw: Any, index: int, file: str) -> Phase:
    """Entry ``index`` (from 0) of the 'phases' list of ``file``, as a :class:`Phase`."""
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


def parse_event(raw: Any, index: int, file: str) -> KeyEvent:
    """Entry ``index`` (from 0) of the 'events' list of ``file``, as a :class:`KeyEvent`."""
    ctx = _Ctx(file, f"events[{index}]")
    if not isinstance(raw, Mapping):
        ctx.fail(None, "a mapping {date, label, source}", raw)
    return KeyEvent(
        date=_date(raw.get("date"), ctx, "date"),
        label=_str(raw, "label", ctx),
        source=_sources(raw.get("source"), ctx, "source")[0],
        precision=_choice(raw.get("precision", "day"), ("day", "month"), ctx, "precision"),
    )


def check_targets(
    targets: Sequence[Target], series: Mapping[str, Series], series_files: Sequence[Path]
) -> None:
    """Check that every series a target reads is defined, and that an alternative reading names
    another entry and is not itself used."""
    ids = {t.id for t in targets}
    for t in targets:
        ctx = _Ctx(t.origin, f"entry '{t.id}'")
        for key, sid in (
            ("series", t.series),
            ("of_series", t.of_series),
            ("reference_series", t.reference_series),
        ):
            if sid is not None and sid not in series:
                ctx.fail(key, "a series defined in " + ", ".join(str(p) for p in series_files), sid)
        if t.alternative_of is not None and t.alternative_of not in ids:
            ctx.fail("alternative_of", "the id of another entry", t.alternative_of)
        if t.alternative_of is not None and t.use:
            ctx.fail(
                "use", "false for an entry marked alternative_of (the alternative reading)", t.use
            )


def check_phases(
    phases: Sequence[Phase], series: Mapping[str, Series], files: Sequence[Path]
) -> None:
    """Check that phase ids are unique, main phases do not overlap, a sub phase lies in its main
    phase, and expected changes name known series and phases (messages cite the first file)."""
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
        ctx = _Ctx(str(files[0]), f"phase '{p.id}'")
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
