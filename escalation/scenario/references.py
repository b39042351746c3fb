"""Cross-reference checks: names in a scenario that must refer to things that exist.

The schema checks every value on its own; these checks run on the validated scenario and find the
names that point nowhere (a militia's stocks of an unknown weapon, an event naming a militia the
scenario lacks, a series counting an unknown target class) and the few rules that tie one part to
another (the run ends after it starts, events fall inside it). Each check yields the problems it
finds as a key path and a message; :func:`broken_references` runs the checks in a fixed order, so
the problem reported first is always the same one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from pydantic import ValidationError

from escalation.errors import did_you_mean
from escalation.scenario import schema as C
from escalation.scenario.base import EARLIEST_DATE, LATEST_DATE, MAX_RUN_YEARS
from escalation.scenario.messages import explain_error


class Problem(NamedTuple):
    """A broken reference: the key path that holds it and what is wrong there."""

    path: Sequence[str | int]
    message: str


@dataclass(frozen=True, slots=True)
class Names:
    """The names a scenario defines, which its references must use."""

    militias: set[str]
    targets: set[str]
    weapons: set[str]
    contexts: set[str]

    @classmethod
    def of(cls, sc: C.Scenario) -> Names:
        return cls(
            militias=set(sc.militias),
            targets=set(sc.targets),
            weapons=set(sc.weapons),
            contexts=set(sc.context) | set(C.BUILTIN_CONTEXT),
        )


Check = Callable[[C.Scenario, Names], Iterator[Problem]]


def one_of(kind: str, value: str, known: Iterable[str]) -> str:
    """The message for an unknown name: the nearest known one, then all of them."""
    known = sorted(known)
    hint = did_you_mean(value, known)
    return f"unknown {kind} {value!r}{hint}; expected one of: {', '.join(known)}"


def _unknown_contexts(
    path: Sequence[str | int], keys: Iterable[str], names: Names
) -> Iterator[Problem]:
    for key in keys:
        if key not in names.contexts:
            yield Problem(
                [*path, key],
                one_of("context driver", key, names.contexts)
                + " (declare new drivers under 'context:')",
            )


def _check_motive(path: Sequence[str | int], motive: C.Motive, names: Names) -> Iterator[Problem]:
    yield from _unknown_contexts([*path, "context"], motive.context, names)
    if motive.scale is not None and motive.scale not in names.contexts:
        yield Problem([*path, "scale"], one_of("context driver", motive.scale, names.contexts))


def _check_dates(sc: C.Scenario, names: Names) -> Iterator[Problem]:
    for key in ("start", "end"):
        day = getattr(sc, key)
        if not EARLIEST_DATE <= day <= LATEST_DATE:
            yield Problem([key], f"is {day}; expected a date from {EARLIEST_DATE} to {LATEST_DATE}")
    if sc.end <= sc.start:
        yield Problem(["end"], f"is {sc.end}, not after start {sc.start}; expected a later date")
        return
    latest = _years_after(sc.start, MAX_RUN_YEARS)
    if sc.end > latest:
        yield Problem(
            ["end"],
            f"is {sc.end}, more than {MAX_RUN_YEARS} years after start {sc.start}; expected a "
            f"date by {latest} (a run is at most {MAX_RUN_YEARS} years)",
        )
    days = (sc.end - sc.start).days + 1
    if sc.step_days > days:
        yield Problem(
            ["step_days"],
            f"is {sc.step_days}, longer than the run ({days} days); expected at most {days}",
        )


def _years_after(day: dt.date, years: int) -> dt.date:
    """The same day ``years`` later (28 February for 29 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _check_targets(sc: C.Scenario, names: Names) -> Iterator[Problem]:
    for tid, t in sc.targets.items():
        for i, w in enumerate(t.weapons):
            if w not in names.weapons:
                yield Problem(["targets", tid, "weapons", i], one_of("weapon", w, names.weapons))


def _check_militias(sc: C.Scenario, names: Names) -> Iterator[Problem]:
    for mid, m in sc.militias.items():
        yield from _check_militia(mid, m, names)


def _check_militia(mid: str, m: C.Militia, names: Names) -> Iterator[Problem]:
    base = ["militias", mid]
    targets, weapons = names.targets, names.weapons
    for w in (*m.stocks, *m.capacity):
        if w not in weapons:
            key = "stocks" if w in m.stocks else "capacity"
            yield Problem([*base, key, w], one_of("weapon", w, weapons))
    for key in ("repertoire", "affinity"):
        for tid in getattr(m, key):
            if tid not in targets:
                yield Problem([*base, key, tid], one_of("target class", tid, targets))
    for i, b in enumerate(m.brands):
        for j, tid in enumerate(b.targets):
            if tid not in targets:
                yield Problem(
                    [*base, "brands", i, "targets", j], one_of("target class", tid, targets)
                )
    for i, r in enumerate(m.rivals):
        if r not in names.militias or r == mid:
            yield Problem([*base, "rivals", i], one_of("militia", r, names.militias - {mid}))
    for owner, motive in m.motives.items():
        if owner not in C.OWNERS:
            yield Problem([*base, "motives", owner], one_of("owner", owner, C.OWNERS))
        yield from _check_motive([*base, "motives", owner], motive, names)
    yield from _unknown_contexts([*base, "driver_half_life_days"], m.driver_half_life_days, names)
    for tid, weights in m.tactics.items():
        if tid not in targets:
            yield Problem([*base, "tactics", tid], one_of("target class", tid, targets))
        yield from _unknown_contexts([*base, "tactics", tid], weights, names)


def _check_brand_appeal(sc: C.Scenario, names: Names) -> Iterator[Problem]:
    brands = {b.name for m in sc.militias.values() for b in m.brands}
    for name in sc.deniability.brand_appeal:
        if name not in brands:
            yield Problem(
                ["deniability", "brand_appeal", name], one_of("facade brand", name, brands)
            )


def _check_iran(sc: C.Scenario, names: Names) -> Iterator[Problem]:
    yield from _check_motive(["iran", "leverage"], sc.iran.leverage, names)
    for line, spec in sc.iran.lines.items():
        for owner in spec.effect:
            if owner not in C.OWNERS:
                yield Problem(
                    ["iran", "lines", line, "effect", owner], one_of("owner", owner, C.OWNERS)
                )
    for w in sc.iran.resupply.amounts:
        if w not in names.weapons:
            yield Problem(["iran", "resupply", "amounts", w], one_of("weapon", w, names.weapons))
    direct = sc.iran.direct_action
    if direct.target not in names.targets:
        yield Problem(
            ["iran", "direct_action", "target"],
            one_of("target class", direct.target, names.targets),
        )
    if "missile" not in names.weapons and direct.enabled:
        yield Problem(["iran", "direct_action", "enabled"], "needs a weapon named 'missile'")


def _check_us(sc: C.Scenario, names: Names) -> Iterator[Problem]:
    suspect = sc.us.doctrine.prime_suspect
    if suspect is not None and suspect not in names.militias:
        yield Problem(
            ["us", "doctrine", "prime_suspect"], one_of("militia", suspect, names.militias)
        )


def _check_events(sc: C.Scenario, names: Names) -> Iterator[Problem]:
    for eid, ev in sc.events.items():
        base: list[str | int] = ["events", eid]
        if not (sc.start <= ev.date <= sc.end):
            yield Problem(
                [*base, "date"],
                f"is {ev.date}, outside the run ({sc.start} to {sc.end}); expected a date in "
                "the run (move the event, or change start/end)",
            )
        yield from _check_event(base, ev, sc, names)


def _check_event(
    base: list[str | int], ev: C.EventBase, sc: C.Scenario, names: Names
) -> Iterator[Problem]:
    """The names one event uses, by its type."""
    militias, targets, weapons = names.militias, names.targets, names.weapons
    match ev:
        case C.ContextEvent():
            yield from _unknown_contexts([*base, "set"], ev.set, names)
            yield from _unknown_contexts([*base, "add"], ev.add, names)
        case C.LeadershipStrikeEvent() | C.UsStrikeEvent() if (
            ev.militia is not None and ev.militia not in militias
        ):
            yield Problem([*base, "militia"], one_of("militia", ev.militia, militias))
        case C.TruceEvent():
            for i, tid in enumerate(ev.scope or ()):
                if tid not in targets:
                    yield Problem([*base, "scope", i], one_of("target class", tid, targets))
            if ev.ends is not None and ev.ends <= ev.date:
                yield Problem(
                    [*base, "ends"], f"is {ev.ends}; expected a date after the truce starts"
                )
        case C.ElectionEvent():
            for mid in ev.results:
                if mid not in militias:
                    yield Problem([*base, "results", mid], one_of("militia", mid, militias))
        case C.ResupplyEvent():
            for w in ev.amounts or {}:
                if w not in weapons:
                    yield Problem([*base, "amounts", w], one_of("weapon", w, weapons))
            for mid, load in ev.deliver.items():
                if mid != "all" and mid not in militias:
                    yield Problem(
                        [*base, "deliver", mid], one_of("militia", mid, militias | {"all"})
                    )
                for w in load:
                    if w not in weapons:
                        yield Problem([*base, "deliver", mid, w], one_of("weapon", w, weapons))
        case C.MilitiaEvent():
            if ev.militia != "all" and ev.militia not in militias:
                yield Problem([*base, "militia"], one_of("militia", ev.militia, militias | {"all"}))
            for tid in ev.affinity:
                if tid not in targets:
                    yield Problem([*base, "affinity", tid], one_of("target class", tid, targets))
        case C.DoctrineEvent():
            yield from _check_doctrine_changes(base, ev, sc, names)


def _check_doctrine_changes(
    base: list[str | int], ev: C.DoctrineEvent, sc: C.Scenario, names: Names
) -> Iterator[Problem]:
    """A doctrine change must leave a valid doctrine that names a known prime suspect."""
    merged = {**sc.us.doctrine.model_dump(), **ev.changes}
    try:
        C.Doctrine.model_validate(merged)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc, msg = explain_error(err, {})
        yield Problem([*base, "changes", *loc], msg)
    if ev.changes.get("prime_suspect") not in (None, *names.militias):
        yield Problem(
            [*base, "changes", "prime_suspect"],
            one_of("militia", str(ev.changes["prime_suspect"]), names.militias),
        )


def _check_series(sc: C.Scenario, names: Names) -> Iterator[Problem]:
    for sid, s in sc.series.items():
        yield from _check_one_series(["series", sid], s, names)


def _check_one_series(base: list[str | int], s: C.SeriesSpec, names: Names) -> Iterator[Problem]:
    actors = s.actors
    if isinstance(actors, str):
        if actors not in ("militias", "iran", "any", "us"):
            yield Problem(
                [*base, "actors"], "expected militias, iran, any, us or a list of militia ids"
            )
    else:
        for i, a in enumerate(actors):
            if a not in names.militias and a != "iran":
                yield Problem([*base, "actors", i], one_of("militia", a, names.militias))
    for key, known, kind in (
        ("targets", names.targets, "target class"),
        ("weapons", names.weapons, "weapon"),
    ):
        value = getattr(s, key)
        if isinstance(value, str):
            if value != "any":
                yield Problem([*base, key], f"expected 'any' or a list of {kind}es")
        else:
            for i, v in enumerate(value):
                if v not in known:
                    yield Problem([*base, key, i], one_of(kind, v, known))
    if isinstance(s.coverage, dict):
        for tid in s.coverage:
            if tid not in names.targets:
                yield Problem([*base, "coverage", tid], one_of("target class", tid, names.targets))


CHECKS: tuple[Check, ...] = (
    _check_dates,
    _check_targets,
    _check_militias,
    _check_brand_appeal,
    _check_iran,
    _check_us,
    _check_events,
    _check_series,
)
"""The checks in the order their problems are reported (roughly the order of a scenario file)."""


def broken_references(sc: C.Scenario) -> Iterator[Problem]:
    """Every broken reference in ``sc``, found lazily: a caller that stops at the first one runs
    no check past it."""
    names = Names.of(sc)
    for check in CHECKS:
        yield from check(sc, names)
