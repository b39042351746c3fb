"""The deterrence frontier of a sweep: per point (a doctrine), attack tempo on US targets, US
casualties and spiral risk, each with how sure the runs make it, set against the same scenario
without US retaliation.

A point *deters* when its attacks on US targets are lower than without retaliation by more than
the runs' uncertainty (the 90% interval of the mean paired difference, run against run on the
same seed, excludes zero), *provokes* when they are higher, and is *unclear* otherwise. The
*frontier* holds the points no other point beats on both tempo and casualties.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from escalation.errors import UserError
from escalation.experiments.runner import run_ensemble
from escalation.experiments.sweep import Sweep
from escalation.scenario import schema as C
from escalation.scenario.loading import with_overrides

Z90 = 1.645
TEMPO, CASUALTIES, SPIRAL = "attacks_on_us", "us_casualties", "spiral"
NEEDED = ("attacks_on_us", "us_wounded", "us_killed", "spiral")


class Frontier(NamedTuple):
    """Per point: means and 90% intervals of tempo, casualties and spiral share, the effect
    against the reference, and whether the point is on the frontier; and the reference."""

    points: pd.DataFrame
    reference: pd.Series
    """Means and standard errors of the outcomes without retaliation."""


def _mean_and_half_width(values: pd.Series) -> tuple[float, float]:
    n = len(values)
    sd = float(values.std(ddof=1)) if n > 1 else float("nan")
    return float(values.mean()), Z90 * sd / np.sqrt(n) if n > 1 else float("nan")


def _per_point(runs: pd.DataFrame, parameters: list[str]) -> pd.DataFrame:
    rows = []
    for point, block in runs.groupby("point", sort=True):
        row: dict[str, object] = {"point": point, "replicates": len(block)}
        row.update({p: block[p].iloc[0] for p in parameters})
        casualties = block["us_wounded"] + block["us_killed"]
        for name, values in ((TEMPO, block[TEMPO]), (CASUALTIES, casualties),
                             (SPIRAL, block[SPIRAL])):  # fmt: skip
            mean, half = _mean_and_half_width(values.astype(float))
            row[name], row[f"{name}_pm90"] = mean, half
            row[f"{name}_sd"] = float(values.astype(float).std(ddof=1))
        rows.append(row)
    return pd.DataFrame(rows)


def _on_frontier(tempo: np.ndarray, casualties: np.ndarray) -> np.ndarray:
    """Points that no other point beats on both (lower or equal on both, lower on one)."""
    n = len(tempo)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        better = (tempo <= tempo[i]) & (casualties <= casualties[i])
        better &= (tempo < tempo[i]) | (casualties < casualties[i])
        keep[i] = not better.any()
    return keep


def deterrence_frontier(
    runs: pd.DataFrame, parameters: list[str], reference: pd.DataFrame
) -> Frontier:
    """The frontier of a sweep's ``runs`` (one row per run, with ``point`` and the swept
    ``parameters``) against ``reference``, runs of the same scenario without retaliation."""
    missing = [c for c in NEEDED if c not in runs or c not in reference]
    if missing:
        raise UserError(f"deterrence frontier: the runs lack {', '.join(missing)}")
    if len(reference) < 2:
        raise UserError("deterrence frontier: the reference needs at least 2 runs")
    points = _per_point(runs, parameters)
    ref_casualties = reference["us_wounded"] + reference["us_killed"]
    ref = pd.Series(
        {
            TEMPO: reference[TEMPO].mean(),
            CASUALTIES: ref_casualties.mean(),
            SPIRAL: reference[SPIRAL].mean(),
            "replicates": len(reference),
        }
    )
    # runs of a point and of the reference share their seeds replicate by replicate: paired
    ref_tempo = reference.set_index("run")[TEMPO].astype(float)
    diffs = [
        _mean_and_half_width(
            block.set_index("replicate")[TEMPO].astype(float)
            - ref_tempo.reindex(block["replicate"]).to_numpy()
        )
        for _, block in runs.groupby("point", sort=True)
    ]
    diff = pd.Series([d for d, _ in diffs], index=points.index)
    half = pd.Series([h for _, h in diffs], index=points.index)
    points["tempo_difference"] = diff
    points["tempo_difference_pm90"] = half
    points["effect"] = np.where(
        diff + half < 0, "deters", np.where(diff - half > 0, "provokes", "unclear")
    )
    points["on_frontier"] = _on_frontier(points[TEMPO].to_numpy(), points[CASUALTIES].to_numpy())
    return Frontier(points.drop(columns=[f"{TEMPO}_sd", f"{CASUALTIES}_sd", f"{SPIRAL}_sd"]), ref)


def applies(sweep: Sweep) -> bool:
    """Whether a sweep has a frontier: it varies the US doctrine."""
    return any(p.startswith("us.doctrine") for p in sweep.parameters)


def without_retaliation(scenario: C.Scenario) -> C.Scenario:
    """The scenario with the US never retaliating, for the whole run (the timeline's doctrine
    changes dropped too)."""
    dropped = {f"events.{eid}": None for eid, ev in scenario.events.items()
               if isinstance(ev, C.DoctrineEvent)}  # fmt: skip
    return with_overrides(scenario, {"us.doctrine.trigger": "never", **dropped})


def reference_runs(
    sweep: Sweep, *, jobs: int | None = None, scheduler: str | None = None
) -> pd.DataFrame:
    """Runs of the sweep's scenario without retaliation, on the sweep's replicate seeds (so
    each point's runs and these are paired)."""
    scenario = without_retaliation(sweep.scenario)
    ens = run_ensemble(scenario, sweep.spec.replicates, sweep.spec.seed, jobs=jobs,
                       scheduler=scheduler)  # fmt: skip
    assert ens.seeds == sweep.seeds
    return ens.runs
