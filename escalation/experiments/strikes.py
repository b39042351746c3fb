"""What each strike on a scenario's timeline does to the militias.

For every US strike the timeline schedules (``us_strike`` and ``leadership_strike`` events), the
attacks on US targets in the days after it are counted in runs of the scenario and in runs
without that one strike, on the same seeds. The mean paired difference and its 90% interval say
whether the strike *deters* (fewer attacks, the interval below zero), *provokes* (more, above
zero) or is *unclear*: the model's answer to "what did this strike do?", which the record's
response targets (tempo after a strike against before it) cannot give on their own, because the
tempo also moves for other reasons.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import numpy as np
import pandas as pd

from escalation.experiments.executors import Executor, Shared, make_executor
from escalation.experiments.frontier import effect_of, mean_and_half_width
from escalation.experiments.runner import run
from escalation.scenario import schema as C
from escalation.scenario.loading import with_overrides
from escalation.seeds import spawn_seeds

STRIKE_TYPES = (C.UsStrikeEvent, C.LeadershipStrikeEvent)
COLUMNS = [
    "event", "date", "theatre", "militia", "severity", "with_strike", "without_strike",
    "difference", "difference_pm90", "relative", "effect",
]  # fmt: skip


class _Task(NamedTuple):
    scenario: Shared[C.Scenario]
    seed: int
    windows: tuple[tuple[int, int], ...]  # (first day, last day) per strike


def strike_events(
    scenario: C.Scenario,
) -> list[tuple[str, C.UsStrikeEvent | C.LeadershipStrikeEvent]]:
    """The strikes a scenario's timeline schedules, in date order."""
    return [(eid, ev) for eid, ev in scenario.sorted_events() if isinstance(ev, STRIKE_TYPES)]


def _attacks_in_windows(task: _Task) -> list[int]:
    """Attacks on US targets in each window of one run."""
    scenario = task.scenario.get()
    events = run(scenario, task.seed).events
    owners = {tid: t.owner for tid, t in scenario.targets.items()}
    on_us = (events["action"] == "attack") & (events["target"].map(owners) == "us")
    days = events.loc[on_us, "day"].to_numpy()
    return [int(((days >= a) & (days <= b)).sum()) for a, b in task.windows]


def strike_effects(
    scenario: C.Scenario,
    replicates: int = 100,
    seed: int = 0,
    *,
    days: int = 30,
    jobs: int | None = None,
    scheduler: str | None = None,
    executor: Executor | None = None,
) -> pd.DataFrame:
    """One row per timeline strike: mean attacks on US targets in the ``days`` after it with
    the strike and without it (same seeds), their paired difference with its 90% half-width
    (also relative to the attacks without it), and the verdict (deters, provokes, unclear).
    Runs go to ``executor`` if given, else to ``jobs`` processes or the Dask ``scheduler``."""
    strikes = strike_events(scenario)
    if not strikes:
        return pd.DataFrame(columns=COLUMNS)
    seeds = spawn_seeds(seed, replicates)
    windows = tuple(_window(scenario, ev.date, days) for _, ev in strikes)
    own = executor is None
    executor = make_executor(jobs, scheduler) if executor is None else executor
    try:
        full = Shared(scenario)
        tasks = [_Task(full, s, windows) for s in seeds]
        for eid, _ in strikes:
            dropped = Shared(with_overrides(scenario, {f"events.{eid}": None}))
            tasks += [_Task(dropped, s, windows) for s in seeds]
        counts: list[list[int]] = [[] for _ in tasks]
        for i, out in executor.imap(_attacks_in_windows, tasks):
            counts[i] = out
    finally:
        if own:
            executor.close()
    table = np.array(counts)  # (1 + strikes) * replicates rows, one column per strike
    with_strike = table[:replicates]
    rows = []
    for k, (eid, ev) in enumerate(strikes):
        without = table[replicates * (k + 1) : replicates * (k + 2), k]
        mean, half = mean_and_half_width(with_strike[:, k] - without)
        rows.append(
            {
                "event": eid,
                "date": str(ev.date),
                "theatre": ev.theatre if isinstance(ev, C.UsStrikeEvent) else "leadership",
                "militia": ev.militia or "",
                "severity": ev.severity,
                "with_strike": float(with_strike[:, k].mean()),
                "without_strike": float(without.mean()),
                "difference": mean,
                "difference_pm90": float(half),
                "relative": mean / float(without.mean()) if without.mean() > 0 else np.nan,
                "effect": effect_of(mean, half),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def _window(scenario: C.Scenario, date: dt.date, days: int) -> tuple[int, int]:
    first = (date - scenario.start).days + 1  # from the day after the strike
    return first, first + days - 1
