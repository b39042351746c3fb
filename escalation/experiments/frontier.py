"""The deterrence frontier of a sweep: per point (a doctrine), attack tempo on US targets, US
casualties and spiral risk, each with how sure the runs make it, set against the same scenario
without US retaliation.

A point *deters* when its attacks on US targets are lower than without retaliation by more than
the runs' uncertainty (the 90% interval of the mean paired difference, run against run on the
same seed, excludes zero), *provokes* when they are higher, and is *unclear* otherwise. The
*frontier* holds the points no other point beats on both tempo and casualties.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from escalation.errors import UserError
from escalation.experiments.executors import Shared, make_executor
from escalation.experiments.sweep import Sweep, native, sweep_task
from escalation.progress import QUIET, Bars
from escalation.scenario import schema as C
from escalation.scenario.loading import with_overrides

Z90 = 1.645
TEMPO, CASUALTIES, SPIRAL = "attacks_on_us", "us_casualties", "spiral"
NEEDED = ("attacks_on_us", "us_wounded", "us_killed", "spiral")


class Frontier(NamedTuple):
    """Per point: means and 90% intervals of tempo, casualties and spiral share, the effect
    against its reference, and whether the point is on the frontier; and the reference runs'
    means (over all of them, for the figure)."""

    points: pd.DataFrame
    reference: pd.Series
    """Means of the outcomes without retaliation, over every reference run."""


def mean_and_half_width(values: pd.Series | np.ndarray) -> tuple[float, float]:
    """The mean of ``values`` and the half-width of its 90% interval (normal, from the
    standard error; nan for fewer than two values)."""
    n = len(values)
    sd = float(values.std(ddof=1)) if n > 1 else float("nan")
    return float(values.mean()), Z90 * sd / np.sqrt(n) if n > 1 else float("nan")


def effect_of(difference: float, half_width: float) -> str:
    """A paired difference in attacks read as deters (its interval below zero), provokes
    (above zero) or unclear."""
    if difference + half_width < 0:
        return "deters"
    return "provokes" if difference - half_width > 0 else "unclear"


def _per_point(runs: pd.DataFrame, parameters: list[str]) -> pd.DataFrame:
    rows = []
    for point, block in runs.groupby("point", sort=True):
        row: dict[str, object] = {"point": point, "replicates": len(block)}
        row.update({p: block[p].iloc[0] for p in parameters})
        casualties = block["us_wounded"] + block["us_killed"]
        for name, values in ((TEMPO, block[TEMPO]), (CASUALTIES, casualties),
                             (SPIRAL, block[SPIRAL])):  # fmt: skip
            mean, half = mean_and_half_width(values.astype(float))
            row[name], row[f"{name}_pm90"] = mean, half
        rows.append(row)
    return pd.DataFrame(rows)


def _matching(reference: pd.DataFrame, block: pd.DataFrame, others: list[str]) -> pd.DataFrame:
    """The reference runs with the same values as ``block`` (one point's runs) of ``others``."""
    keep = np.ones(len(reference), dtype=bool)
    for name in others:
        keep &= (reference[name] == block[name].iloc[0]).to_numpy()
    found = reference[keep]
    if found.empty:
        raise UserError(
            f"deterrence frontier: no reference runs for point {block['point'].iloc[0]}"
        )
    return found


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
    """The frontier of a sweep's ``runs`` (one row per run, with ``point``, ``replicate`` and the
    swept ``parameters``) against ``reference``: runs without retaliation (with ``replicate``
    and the values of the parameters other than the doctrine, see :func:`reference_runs`).
    Each point is paired with the reference runs that share its other values."""
    missing = [c for c in NEEDED if c not in runs or c not in reference]
    if missing:
        raise UserError(f"deterrence frontier: the runs lack {', '.join(missing)}")
    if len(reference) < 2:
        raise UserError("deterrence frontier: the reference needs at least 2 runs")
    points = _per_point(runs, parameters)
    others = [p for p in parameters if not p.startswith("us.doctrine")]
    ref_casualties = reference["us_wounded"] + reference["us_killed"]
    ref = pd.Series(
        {
            TEMPO: reference[TEMPO].mean(),
            CASUALTIES: ref_casualties.mean(),
            SPIRAL: reference[SPIRAL].mean(),
            "replicates": len(reference),
        }
    )
    # runs of a point and of its reference share their seeds replicate by replicate: paired
    diffs = [
        mean_and_half_width(
            block.set_index("replicate")[TEMPO].astype(float)
            - _matching(reference, block, others).set_index("replicate")[TEMPO].astype(float)
        )
        for _, block in runs.groupby("point", sort=True)
    ]
    diff = pd.Series([d for d, _ in diffs], index=points.index)
    half = pd.Series([h for _, h in diffs], index=points.index)
    points["tempo_difference"] = diff
    points["tempo_difference_pm90"] = half
    points["effect"] = [effect_of(d, h) for d, h in zip(diff, half, strict=True)]
    points["on_frontier"] = _on_frontier(points[TEMPO].to_numpy(), points[CASUALTIES].to_numpy())
    return Frontier(points, ref)


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
    sweep: Sweep, *, jobs: int | None = None, scheduler: str | None = None, bars: Bars = QUIET
) -> pd.DataFrame:
    """Each point's counterfactual without retaliation: the sweep's scenario with the point's
    values of everything but the doctrine (force protection, say), the US never retaliating,
    on the sweep's replicate seeds, so a point's runs and its reference are paired. Points that
    differ only in their doctrine share one reference. ``bars`` shows the runs."""
    others = [p for p in sweep.parameters if not p.startswith("us.doctrine")]
    combos: list[tuple[Any, ...]] = [()]  # only the doctrine varies: one reference for all
    if others:
        combos = list(sweep.points[others].drop_duplicates().itertuples(index=False, name=None))
    base = Shared(without_retaliation(sweep.scenario))
    tasks = []
    for k, rec in enumerate(combos):
        values = {n: native(v) for n, v in zip(others, rec, strict=True)}
        tasks += [(base, values, seed, k, r, 0) for r, seed in enumerate(sweep.seeds)]
    executor = make_executor(jobs, scheduler)
    label = "reference runs without retaliation"
    try:
        with bars.counting(executor, label, len(tasks)) as counted:
            rows = [row for _, row in counted.imap(sweep_task, tasks)]
    finally:
        executor.close()
    frame = pd.DataFrame(rows).rename(columns={"point": "reference"})
    return frame.sort_values(["reference", "replicate"]).reset_index(drop=True)
