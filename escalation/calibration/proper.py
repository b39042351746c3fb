"""A proper score of an ensemble's whole predictive distribution: the censored CRPS.

Hit counts judge an ensemble by its median alone; a model whose runs are spread wide, or
clustered away from the record, can meet as many targets as one that puts its mass where the
record is. The continuous ranked probability score compares the ensemble's empirical CDF ``F``
with the observation; since most observations of the record are ranges or one-sided bounds, not
points, this module uses its censored (threshold-weighted) form for an observation known only to
lie in ``[a, b]``::

    CRPS_[a,b](F) = int_{-inf}^{a} F(z)^2 dz + int_{b}^{inf} (1 - F(z))^2 dz

which is the ordinary CRPS when ``a = b``, 0 when every run lies inside ``[a, b]``, and grows
with the mass outside it and with its distance. It is proper: no ensemble scores better in
expectation than one drawn from the distribution the observations come from. Lower is better.

Targets are scored on the scale :meth:`TargetSet.distances` compares them on, so that targets of
different sizes can be averaged: counts on log(1 + x), ratios and shares on log(x + 0.05), peak
months in months / 3.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from escalation.record.summary import RATIO_EPS, TargetSet

#: The score of an undefined statistic (a ratio over an empty window): what
#: :meth:`TargetSet.distances` gives a missing value.
MISSING = 1.0
#: Infinite statistics (a ratio over a zero denominator) are clipped here, as distances does.
INF_CLIP = 1e9
#: A run with no attacks in a peak month's window lies this far (in months / 3) from the month.
NO_PEAK = 2.0


def censored_crps(samples: np.ndarray, low: float, high: float) -> float:
    """The CRPS of the empirical CDF of ``samples`` for an observation known to lie in
    [``low``, ``high``] (``low = high``: a point; infinite ends: a one-sided bound).

    Exact for the empirical CDF: it is constant between sorted samples, so both integrals are
    sums of squared CDF levels times the lengths of the steps below ``low`` and above ``high``.
    Whether a bound is strict does not matter (the ends have measure zero)."""
    if low > high:
        raise ValueError(f"empty observation [{low}, {high}]")
    x = np.sort(np.asarray(samples, dtype=float).ravel())
    n = len(x)
    if n == 0:
        raise ValueError("no samples")
    total = 0.0
    if low > -math.inf:
        # F = (i + 1) / n on [x_i, x_{i+1}) for i < n - 1, and 1 from x_{n-1} on; cut at ``low``
        edges = np.append(np.minimum(x, low), low)
        levels = np.arange(1, n + 1) / n
        total += float(np.sum(levels**2 * np.diff(edges)))
    if high < math.inf:
        # 1 - F = 1 below x_0, and 1 - i / n on [x_{i-1}, x_i); cut at ``high``
        edges = np.insert(np.maximum(x, high), 0, high)
        levels = 1.0 - np.arange(n) / n
        total += float(np.sum(levels**2 * np.diff(edges)))
    return total


def _count_scale(v: np.ndarray) -> np.ndarray:
    return np.log1p(np.maximum(v, 0.0))


def _ratio_scale(v: np.ndarray) -> np.ndarray:
    return np.log(np.minimum(v, INF_CLIP) + RATIO_EPS)


def _bound(scale, x: float) -> float:
    """A bound on the transformed scale (infinite bounds stay infinite)."""
    return x if math.isinf(x) else float(scale(np.array([x]))[0])


def _peak_crps(ts: TargetSet, i: int, column: np.ndarray) -> float:
    """A peak month: a point observation at the observed month, on the months / 3 scale. A run's
    month lies at most ``NO_PEAK`` from it (as distances caps it); a run with no attacks
    (index -1) lies ``NO_PEAK`` below it."""
    want = ts.peak_index[i] / 3.0
    gap = np.where(column < 0, -NO_PEAK, np.clip(column / 3.0 - want, -NO_PEAK, NO_PEAK))
    return censored_crps(want + gap, want, want)


def target_crps(ts: TargetSet, stats: np.ndarray) -> np.ndarray:
    """Per target: the censored CRPS of the runs' statistics (``stats``: runs x targets) on the
    target's scale.

    Undefined statistics (NaN: a ratio over an empty window) are mass the observation, a
    defined value, contradicts; they count as the largest per-target penalty, the distance
    distances gives a missing value (``MISSING``)::

        score = (1 - p_nan) * CRPS(defined runs) + p_nan * MISSING

    so a target undefined in every run scores ``MISSING``."""
    out = np.empty(len(ts.targets))
    for i, t in enumerate(ts.targets):
        column = np.asarray(stats[:, i], dtype=float)
        if t.statistic == "peak_month":
            out[i] = _peak_crps(ts, i, column)
            continue
        defined = column[~np.isnan(column)]
        p_nan = 1.0 - len(defined) / len(column)
        if not len(defined):
            out[i] = MISSING
            continue
        scale = _ratio_scale if t.statistic in ("ratio", "share") else _count_scale
        crps = censored_crps(scale(defined), _bound(scale, ts.low[i]), _bound(scale, ts.high[i]))
        out[i] = (1.0 - p_nan) * crps + p_nan * MISSING
    return out


def mean_crps(ts: TargetSet, stats: np.ndarray, subset: Sequence[str] | None = None) -> float:
    """The mean scaled CRPS over the targets (those named in ``subset``, if given); NaN when
    there are none. Lower is better."""
    keep = [i for i, t in enumerate(ts.targets) if subset is None or t.id in set(subset)]
    if not keep:
        return math.nan
    return float(np.mean(target_crps(ts, stats)[keep]))
