"""The observation layer: from the model's true events to each source's observed series.

Sources count differently: ACLED records events, the Pentagon counts only impacts near its
personnel, compilations miss some convoy attacks, claims are made under brands. A
:class:`SeriesSpec` states one source's rule; :func:`observe` applies it to an event
log. Coverage below 1 thins events with a generator seeded from the run's seed and the series'
source (its name if it cites none): each event gets one draw per source, so the series of one
source agree on which events it recorded (a subset series never counts an event its superset
missed), and observations are replayable and independent of the model's own random stream.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from escalation.scenario import schema as C
from escalation.seeds import observation_rng


def builtin_series(scenario: C.Scenario) -> dict[str, C.SeriesSpec]:
    """Series every run reports: attacks by target class, weapon and militia, and totals."""
    S = C.SeriesSpec
    out: dict[str, C.SeriesSpec] = {
        "attacks_all": S(label="All attacks", actors="any"),
        "attacks_on_us": S(
            label="Attacks on US targets",
            actors="any",
            targets=[t for t, c in scenario.targets.items() if c.owner == "us"],
        ),
        "attacks_on_us_dod": S(
            label="Attacks on US forces, Pentagon rule",
            description="Attacks on US targets that landed near personnel or infrastructure.",
            actors="any",
            targets=[t for t, c in scenario.targets.items() if c.owner == "us"],
            convention="landed_near",
        ),
        "us_wounded": S(label="US wounded", actors="any", measure="us_wounded"),
        "us_killed": S(label="US killed", actors="any", measure="us_killed"),
        "us_strikes": S(label="US strikes", action="retaliate", actors="us"),
        "claimed_by_facades": S(label="Attacks claimed by facade brands", claim="facade"),
    }
    for tid, t in scenario.targets.items():
        out[f"attacks_{tid}"] = S(label=t.label, actors="any", targets=[tid])
    for w in scenario.weapons:
        out[f"attacks_{w}"] = S(label=f"Attacks using {w}s", actors="any", weapons=[w])
    for mid, m in scenario.militias.items():
        out[f"attacks_by_{mid}"] = S(label=f"Attacks by {m.name}", actors=[mid])
    out["attacks_by_iran"] = S(label="Direct attacks by Iran", actors="iran")
    return out


#: String columns of the event log that series select on.
_STRING_COLUMNS = ("action", "actor", "target", "weapon", "theatre", "claim")
_NUMBER_COLUMNS = ("day", "size", "landed_near", "us_wounded", "us_killed", "other_killed")


class EventColumns:
    """The event log's columns as numpy arrays, with memoised equality masks.

    Built from an event table (:meth:`from_frame`) or straight from a model's log records
    (:meth:`from_log`), which spares a run the table it may never need.
    """

    def __init__(self, columns: Mapping[str, np.ndarray]) -> None:
        self.n = len(columns["day"])
        self.cols = {c: columns[c] for c in _STRING_COLUMNS}
        self.day = columns["day"]
        self.size = columns["size"]
        self.landed_near = columns["landed_near"].astype(bool, copy=False)
        self.wounded = columns["us_wounded"]
        self.killed = columns["us_killed"]
        self.other_killed = columns["other_killed"]
        self._eq: dict[tuple[str, str], np.ndarray] = {}

    @classmethod
    def from_frame(cls, events: pd.DataFrame) -> EventColumns:
        """From an event table (``RunResult.events``)."""
        cols = {c: events[c].to_numpy() for c in _STRING_COLUMNS}
        cols.update({c: events[c].to_numpy() for c in _NUMBER_COLUMNS})
        return cls(cols)

    @classmethod
    def from_log(cls, log: Sequence[tuple], names: tuple[str, ...]) -> EventColumns:
        """From log records whose fields are named by ``names`` (``LOG_COLUMNS``)."""
        fields = list(zip(*log, strict=True)) if log else [()] * len(names)
        by_name = dict(zip(names, fields, strict=True))
        cols = {c: np.array(by_name[c], dtype=object) for c in _STRING_COLUMNS}
        cols.update({c: np.array(by_name[c], dtype=np.int64) for c in _NUMBER_COLUMNS})
        return cls(cols)

    def eq(self, col: str, value: str) -> np.ndarray:
        key = (col, value)
        mask = self._eq.get(key)
        if mask is None:
            mask = self._eq[key] = self.cols[col] == value
        return mask

    def isin(self, col: str, values) -> np.ndarray:
        out = np.zeros(self.n, dtype=bool)
        for v in values:
            out |= self.eq(col, v)
        return out


def _mask(ev: EventColumns, spec: C.SeriesSpec, militias: frozenset[str]) -> np.ndarray:
    if spec.action == "retaliate":  # US strikes: ordered by the doctrine or on the timeline
        mask = ev.isin("action", ("retaliate", "strike"))
    else:
        mask = ev.eq("action", spec.action).copy()
    actors = spec.actors
    if actors == "militias":
        mask &= ev.isin("actor", militias)
    elif actors == "any":
        if spec.action == "attack":
            mask &= ev.isin("actor", militias | {"iran"})
    elif isinstance(actors, str):
        mask &= ev.eq("actor", actors)
    else:
        mask &= ev.isin("actor", actors)
    if spec.targets != "any":
        mask &= ev.isin("target", spec.targets)
    if spec.weapons != "any":
        mask &= ev.isin("weapon", spec.weapons)
    if spec.theatre != "any":
        mask &= ev.eq("theatre", spec.theatre)
    if spec.claim == "claimed":
        mask &= ev.isin("claim", ("own", "facade"))
    elif spec.claim != "any":
        mask &= ev.eq("claim", spec.claim)
    if spec.min_size is not None:
        mask &= ev.size >= spec.min_size
    if spec.convention == "landed_near":
        mask &= ev.landed_near
    elif spec.convention == "wounding":
        mask &= (ev.wounded + ev.killed) > 0
    return mask


def observe(
    events: pd.DataFrame | EventColumns,
    series: Mapping[str, C.SeriesSpec],
    *,
    n_days: int,
    militias: frozenset[str] | set[str],
    run_seed: int = 0,
) -> np.ndarray:
    """Daily observed values, shape (n_days, len(series)), in the order of ``series``."""
    militias = frozenset(militias)
    out = np.zeros((n_days, len(series)))
    ev = events if isinstance(events, EventColumns) else EventColumns.from_frame(events)
    if ev.n == 0:
        return out
    draws: dict[str, np.ndarray] = {}  # per source: one uniform draw per event of the log
    for j, (name, spec) in enumerate(series.items()):
        mask = _mask(ev, spec, militias)
        if not mask.any():
            continue
        if spec.measure == "count":
            values = np.ones(int(mask.sum()))
        elif spec.measure == "us_casualties":
            values = (ev.wounded + ev.killed)[mask].astype(float)
        elif spec.measure == "us_wounded":
            values = ev.wounded[mask].astype(float)
        else:
            values = ev.killed[mask].astype(float)
        cov = spec.coverage
        if isinstance(cov, dict) or cov < 1.0:
            if isinstance(cov, dict):
                targets = ev.cols["target"][mask]
                p = np.array([cov.get(t, 1.0) for t in targets])
            else:
                p = np.full(values.shape, cov)
            key = spec.source or name
            u = draws.get(key)
            if u is None:
                u = draws[key] = observation_rng(run_seed, key).random(ev.n)
            keep = u[mask] < p
            values = values * keep
        np.add.at(out[:, j], ev.day[mask], values)
    return out


@functools.lru_cache(maxsize=8)
def month_index(start: dt.date, n_days: int) -> tuple[np.ndarray, list[str]]:
    """For each day, the index of its calendar month; and the month labels (YYYY-MM)."""
    dates = pd.date_range(start, periods=n_days, freq="D")
    periods = dates.to_period("M")
    labels = sorted(set(str(p) for p in periods))
    lookup = {lab: i for i, lab in enumerate(labels)}
    return np.array([lookup[str(p)] for p in periods]), labels


def to_monthly(daily: np.ndarray, start: dt.date) -> tuple[np.ndarray, list[str]]:
    """Sum daily values into calendar months: shape (n_months, n_series)."""
    idx, labels = month_index(start, daily.shape[0])
    out = np.zeros((len(labels), daily.shape[1]))
    np.add.at(out, idx, daily)
    return out, labels
