"""Run metrics per period: attacks by target class, US casualties, US retaliations, days under
truce (the outcomes :mod:`escalation.observe.outcomes` marks ``per_period``).

Used by scenario comparison (per phase and overall) and by sweeps (whole run). Periods are
named, dated windows: the phases of the historical record when a plugin provides them, else
calendar years.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from escalation.observe.outcomes import period_metric_names
from escalation.scenario import schema as C


@dataclass(frozen=True)
class Period:
    """A named, dated window (inclusive)."""

    name: str
    start: dt.date
    end: dt.date
    label: str = ""


def years(scenario: C.Scenario) -> list[Period]:
    """Calendar years of the run (clipped to its dates)."""
    out = []
    for year in range(scenario.start.year, scenario.end.year + 1):
        start = max(scenario.start, dt.date(year, 1, 1))
        end = min(scenario.end, dt.date(year, 12, 31))
        out.append(Period(str(year), start, end, str(year)))
    return out


def truce_days_by_day(events: pd.DataFrame, n_days: int) -> np.ndarray:
    """For one run's event log: 1 on days under a truce, else 0."""
    return truce_days_on(events["action"].to_numpy(), events["day"].to_numpy(), n_days)


def truce_days_on(actions: np.ndarray, days: np.ndarray, n_days: int) -> np.ndarray:
    """1 on days under a truce, else 0, from one run's actions and their days in log order:
    a truce covers the days from its declaration to the day before it ends. The one count of
    days under truce, for the runs table and per period alike."""
    on = np.zeros(n_days, dtype=np.int8)
    marks = np.flatnonzero((actions == "truce_declare") | (actions == "truce_end"))
    marks = marks[np.argsort(days[marks], kind="stable")]  # same-day marks keep log order
    start = None
    for i in marks:
        day = int(days[i])
        if actions[i] == "truce_declare":
            start = day if start is None else start
        elif start is not None:
            on[start:day] = 1
            start = None
    if start is not None:
        on[start:] = 1
    return on


def period_metrics(
    events: pd.DataFrame,
    scenario: C.Scenario,
    periods: Sequence[Period],
    *,
    include_overall: bool = True,
) -> pd.DataFrame:
    """Per run and period: every metric (long format: run, period, metric, value).

    ``events`` is an ensemble event log (with a ``run`` column).
    """
    n_days = (scenario.end - scenario.start).days + 1
    all_periods = list(periods)
    if include_overall:
        all_periods.append(Period("overall", scenario.start, scenario.end, "whole run"))
    bounds = [
        (p, max(0, (p.start - scenario.start).days), min(n_days - 1, (p.end - scenario.start).days))
        for p in all_periods
    ]
    us_targets = [t for t, c in scenario.targets.items() if c.owner == "us"]
    names = period_metric_names(scenario)
    rows = []
    for run, ev in events.groupby("run", sort=True):
        day = ev["day"].to_numpy()
        attack = (ev["action"] == "attack").to_numpy()
        target = ev["target"].to_numpy()
        by_us = (ev["actor"] == "us").to_numpy()
        strike = (ev["action"] == "retaliate").to_numpy() & by_us
        any_strike = strike | ((ev["action"] == "strike").to_numpy() & by_us)
        wounded = ev["us_wounded"].to_numpy()
        killed = ev["us_killed"].to_numpy()
        truce = truce_days_by_day(ev, n_days)
        for p, lo, hi in bounds:
            if hi < lo:
                continue
            inside = (day >= lo) & (day <= hi)
            att = attack & inside
            values = {
                "attacks": att.sum(),
                "attacks_on_us": (att & np.isin(target, us_targets)).sum(),
                "us_wounded": wounded[att].sum(),
                "us_killed": killed[att].sum(),
                "retaliations": (strike & inside).sum(),
                "us_strikes": (any_strike & inside).sum(),
                "truce_days": truce[lo : hi + 1].sum(),
            }
            for tid in scenario.targets:
                values[f"attacks_{tid}"] = (att & (target == tid)).sum()
            for metric in names:
                rows.append((run, p.name, metric, float(values[metric])))
    return pd.DataFrame(rows, columns=["run", "period", "metric", "value"])
