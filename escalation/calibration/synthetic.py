"""Model-made records: data with known parameters, in the forms of the real targets.

Each dataset draws true parameters from the prior, runs the model once at them and writes a
record from that run (:func:`synthetic_record`): a point stays a point at the run's value with the
real target's tolerance, a range keeps its relative width around the run's value, a bound keeps
its direction with the run's value inside it. :mod:`escalation.calibration.recovery` fits them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np

from escalation.calibration.simulate import Simulator, simulate
from escalation.progress import QUIET, Bars
from escalation.record.summary import RATIO_EPS, TargetSet
from escalation.record.types import APPROXIMATE_TOLERANCE, ZERO, Target, Value
from escalation.seeds import Streams

#: A model-made bound lies this far at most from the run's value, on the distances' scale (log
#: counts, log ratios); how far is drawn uniformly, so bounds are tight or loose as in the record.
GAP_SCALE = 0.5


class SyntheticRecord(NamedTuple):
    """A record made from one run: its targets, and which of the source's targets they are (a
    target whose statistic the run leaves undefined, a ratio of nothing or the peak month of an
    empty window, has no figure to state and is left out)."""

    targets: TargetSet
    columns: np.ndarray


def _scale(statistic: str, x: float) -> float:
    return math.log(x + RATIO_EPS) if statistic in ("ratio", "share") else math.log1p(max(x, 0))


def _unscale(statistic: str, y: float) -> float:
    return math.exp(y) - RATIO_EPS if statistic in ("ratio", "share") else math.expm1(y)


def synthetic_value(target: Target, x: float, gap: float, month: str = "") -> Value | None:
    """The figure a source of ``target``'s form would give for the statistic ``x``: ``gap``
    (on the distances' scale) places a bound, ``month`` names a peak month. None when ``x`` is
    undefined. A "nothing happened" figure stays one when the run has nothing; otherwise the
    source would have counted, so it becomes an exact count."""
    v, stat = target.value, target.statistic
    if stat == "peak_month":
        return Value(form="month", month=month) if x >= 0 and month else None
    if not math.isfinite(x):
        return None
    if v.form == "zero":
        return ZERO if x == 0 else Value(form="point", low=x, high=x, point=x)
    if v.form == "point":
        if v.approximate:
            half = abs(x) * APPROXIMATE_TOLERANCE
            return Value(form="point", low=x - half, high=x + half, point=x, approximate=True)
        if v.tolerance:
            t = v.tolerance
            return Value(form="point", low=x - t, high=x + t, point=x, tolerance=t)
        return Value(form="point", low=x, high=x, point=x)
    if v.form == "range":
        centre, half = (v.low + v.high) / 2, (v.high - v.low) / 2
        h = half / abs(centre) * abs(x) if centre else half
        return Value(form="range", low=x - h, high=x + h)
    if v.form == "lower":
        low = _unscale(stat, _scale(stat, x) - gap)
        return Value(form="lower", low=low, low_strict=v.low_strict)
    high = _unscale(stat, _scale(stat, x) + gap)
    return Value(form="upper", high=high, high_strict=v.high_strict)


def synthetic_record(
    source: TargetSet, stats: np.ndarray, rng: np.random.Generator
) -> SyntheticRecord:
    """A record with ``source``'s targets and forms, made from one run's statistics; bounds lie
    a gap drawn uniformly in (0, GAP_SCALE] from ``rng`` beyond the run's value."""
    gaps = GAP_SCALE * (1.0 - rng.random(len(source.targets)))
    kept, columns = [], []
    for i, (t, x) in enumerate(zip(source.targets, stats, strict=True)):
        labels = source.month_labels[i]
        month = labels[int(x)] if t.statistic == "peak_month" and x >= 0 else ""
        value = synthetic_value(t, float(x), float(gaps[i]), month)
        if value is not None:
            kept.append(replace(t, value=value))
            columns.append(i)
    targets = TargetSet(kept, source.series, source.start, source.n_days)
    return SyntheticRecord(targets, np.array(columns, dtype=int))


@dataclass(frozen=True)  # not a named tuple: its ``index`` would shadow tuple.index
class Dataset:
    """True prior quantiles, the run at them (the source targets' statistics), its record."""

    index: int
    u: np.ndarray
    stats: np.ndarray
    record: SyntheticRecord


def truths(sim: Simulator, n: int, streams: Streams) -> np.ndarray:
    """The true values of :func:`datasets`' first ``n`` datasets on the unit scale, one row each,
    drawn without running the model (so a check against them costs nothing)."""
    return streams.child("u").rng().random((n, len(sim.priors)))


def datasets(
    sim: Simulator, n: int, streams: Streams, executor: Any, bars: Bars = QUIET
) -> list[Dataset]:
    """``n`` model-made datasets: truths from stream ``u`` (:func:`truths`), their runs' seeds
    from ``run``, dataset i's bounds from ``record``/i (``bars`` shows the runs)."""
    u = truths(sim, n, streams)
    seeds = streams.child("run").seeds(n)
    with bars.counting(executor, "model-made datasets", n) as counted:
        stats = simulate(sim, [sim.values(x) for x in u], seeds, counted).stats
    out = []
    for i in range(n):
        record = synthetic_record(sim.targets, stats[i], streams.child("record").child(i).rng())
        out.append(Dataset(i, u[i], stats[i], record))
    return out
