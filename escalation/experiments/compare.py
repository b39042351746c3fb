"""Scenario comparison: paired runs on common seeds, differences per period with intervals."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from escalation.errors import UserError
from escalation.experiments.runner import RunResult, ensemble_tasks, imap_runs, run_task
from escalation.observe.periods import Period, period_metrics, years
from escalation.scenario import schema as C
from escalation.seeds import Streams, spawn_seeds

PLOT_METRICS = (
    "attacks_on_us",
    "attacks_us_base",
    "attacks_us_convoy",
    "attacks_turkish_base",
    "attacks_domestic",
    "us_wounded",
    "retaliations",
    "truce_days",
)


@dataclass
class Comparison:
    """Paired runs of several scenarios; the first is the reference."""

    names: list[str]
    seeds: list[int]
    periods: list[Period]
    targets: dict[str, C.TargetClass] = field(repr=False)
    metrics: pd.DataFrame = field(repr=False)
    """scenario, run, period, metric, value"""
    differences: pd.DataFrame = field(repr=False)
    """scenario, reference, period, metric, reference_mean, mean, mean_difference, ci_low,
    ci_high (90% bootstrap interval of the mean difference), low, high (5% and 95% of the
    paired run differences), share_higher (share of paired runs where the scenario is higher)"""


def paired_differences(
    metrics: pd.DataFrame, reference: str, seed: int = 0, n_boot: int = 2000
) -> pd.DataFrame:
    """Per scenario, period and metric: statistics of run-by-run differences to ``reference``.

    The bootstrap of each (period, metric) draws from its own stream under ``seed``
    (``Streams(seed).child("bootstrap").child(period).child(metric)``), so a metric's interval
    does not depend on which other metrics or periods the table holds.
    """
    wide = metrics.pivot_table(
        index=["period", "metric", "run"], columns="scenario", values="value", aggfunc="first"
    )
    bootstrap = Streams(seed).child("bootstrap")
    rows = []
    for (period, metric), block in wide.groupby(level=["period", "metric"], sort=False):
        ref = block[reference].to_numpy()
        n = len(ref)
        rng = bootstrap.child(str(period)).child(str(metric)).rng()
        idx = rng.integers(0, n, size=(n_boot, n))
        for name in block.columns:
            if name == reference:
                continue
            d = block[name].to_numpy() - ref
            boot = d[idx].mean(axis=1)
            rows.append(
                {
                    "scenario": name,
                    "reference": reference,
                    "period": period,
                    "metric": metric,
                    "reference_mean": ref.mean(),
                    "mean": block[name].to_numpy().mean(),
                    "mean_difference": d.mean(),
                    "ci_low": np.quantile(boot, 0.05),
                    "ci_high": np.quantile(boot, 0.95),
                    "low": np.quantile(d, 0.05),
                    "high": np.quantile(d, 0.95),
                    "share_higher": float((d > 0).mean()),
                }
            )
    return pd.DataFrame(rows)


def compare(
    scenarios: Sequence[C.Scenario],
    replicates: int = 100,
    seed: int = 0,
    *,
    periods: Sequence[Period] | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[RunResult], None] | None = None,
) -> Comparison:
    """Run every scenario on the same seeds and compare each with the first.

    Periods default to calendar years; a period outside a scenario's dates is skipped.
    """
    if len(scenarios) < 2:
        raise UserError("compare needs at least two scenarios (the first is the reference)")
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise UserError(f"compare needs scenarios with distinct names, got {', '.join(names)}")
    periods = list(periods) if periods is not None else years(scenarios[0])
    seeds = spawn_seeds(seed, replicates)
    frames = []
    for sc in scenarios:
        inside = [p for p in periods if p.start <= sc.end and p.end >= sc.start]
        per_run = []  # each run's metrics as it finishes: memory holds no run's events for long
        tasks = ensemble_tasks(sc, seeds)
        for _, result in imap_runs(run_task, tasks, jobs=jobs, scheduler=scheduler):
            if progress:
                progress(result)
            per_run.append(period_metrics(result.events.assign(run=result.run), sc, inside))
        m = pd.concat(per_run, ignore_index=True).sort_values("run", kind="stable")
        frames.append(m.assign(scenario=sc.name))
    metrics = pd.concat(frames, ignore_index=True)[["scenario", "run", "period", "metric", "value"]]
    diffs = paired_differences(metrics, names[0], seed=seed)
    return Comparison(names, seeds, periods, dict(scenarios[0].targets), metrics, diffs)
