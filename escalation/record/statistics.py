"""Pure statistics of the record, computed from daily counts.

``daily`` maps a series id to a :class:`pandas.Series` indexed by a DatetimeIndex of days; missing
days count as 0. Windows are inclusive and day-precise; only the month statistics group by calendar
month (months cut to the window). See :data:`~.types.STATISTICS` for the definitions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date

import numpy as np
import pandas as pd

from escalation.record.types import FLOAT_RTOL, Record, Target, Window

__all__ = [
    "ZERO_EPS",
    "compute_statistic",
    "evaluate_targets",
    "target_satisfied",
    "target_violation",
]

#: Daily values at or below this count as "nothing" (zero and longest_zero_run).
ZERO_EPS = 1e-9


def _daily(daily: Mapping[str, pd.Series], series_id: str) -> pd.Series:
    try:
        s = daily[series_id]
    except KeyError:
        raise KeyError(
            f"no daily counts for series '{series_id}' (have: {', '.join(sorted(daily)) or 'none'})"
        ) from None
    if not isinstance(s.index, pd.DatetimeIndex):
        raise TypeError(
            f"daily counts for '{series_id}' must be indexed by a DatetimeIndex of days"
        )
    if not s.index.is_monotonic_increasing:
        s = s.sort_index()
    return s


def _slice(s: pd.Series, w: Window) -> pd.Series:
    return s.loc[pd.Timestamp(w.start) : pd.Timestamp(w.end)]


def _total(daily: Mapping[str, pd.Series], series_id: str, w: Window) -> float:
    return float(_slice(_daily(daily, series_id), w).sum())


def _monthly(daily: Mapping[str, pd.Series], series_id: str, w: Window) -> pd.Series:
    part = _slice(_daily(daily, series_id), w)
    months = pd.period_range(w.start, w.end, freq="M")
    if part.empty:
        return pd.Series(0.0, index=months)
    totals = part.groupby(part.index.to_period("M")).sum()
    return totals.reindex(months, fill_value=0.0).astype(float)


def _divide(num: float, den: float) -> float:
    if den > 0:
        return num / den
    return math.inf if num > 0 else math.nan


def compute_statistic(target: Target, daily: Mapping[str, pd.Series]) -> float | str:
    """Compute ``target.statistic`` over its window from daily counts.

    Returns a float, except for ``peak_month`` which returns 'YYYY-MM' ('' if the window holds
    nothing). A ratio or share with a zero denominator is ``inf`` (numerator > 0) or ``nan``.
    """
    w, sid, stat = target.window, target.series, target.statistic
    if stat in ("count", "zero"):
        return _total(daily, sid, w)
    if stat == "mean_annual":
        return _total(daily, sid, w) / (w.days / 365.25)
    if stat in ("monthly_max", "monthly_min"):
        m = _monthly(daily, sid, w)
        return float(m.max() if stat == "monthly_max" else m.min())
    if stat == "peak_month":
        m = _monthly(daily, sid, w)
        if m.empty or m.max() <= ZERO_EPS:
            return ""
        # earliest month among those within floating-point noise of the maximum
        top = m.max()
        best = m[m >= top - FLOAT_RTOL * max(1.0, abs(top))].index[0]
        return str(best)
    if stat == "ratio":
        assert target.reference is not None
        ref_sid = target.reference_series or sid
        return _divide(_total(daily, sid, w), _total(daily, ref_sid, target.reference))
    if stat == "share":
        assert target.of_series is not None
        return _divide(_total(daily, sid, w), _total(daily, target.of_series, w))
    if stat == "longest_zero_run":
        days = pd.date_range(w.start, w.end, freq="D")
        vals = _slice(_daily(daily, sid), w).reindex(days, fill_value=0.0).to_numpy(dtype=float)
        return float(_longest_run(vals <= ZERO_EPS))
    raise ValueError(f"unknown statistic '{stat}' in target '{target.id}'")


def _longest_run(mask: np.ndarray) -> int:
    best = run = 0
    for flag in mask:
        run = run + 1 if flag else 0
        best = max(best, run)
    return best


def slack(bound: float) -> float:
    """The floating-point slack allowed beside an inclusive bound or an exact figure."""
    return FLOAT_RTOL * max(1.0, abs(bound))


def target_satisfied(target: Target, value: float | str) -> bool:
    """True if ``value`` (from :func:`compute_statistic`) is inside the target's admissible set.

    Exact figures and inclusive bounds allow a floating-point slack of ``FLOAT_RTOL`` (relative,
    at least 1e-6 absolute); strict bounds are strict; approximate figures use their band.
    """
    v = target.value
    if target.statistic == "peak_month":
        return isinstance(value, str) and value == v.month
    if isinstance(value, str):
        return False
    x = float(value)
    if math.isnan(x):
        return False
    if v.low_strict:
        ok_low = x > v.low
    else:
        ok_low = x >= v.low - slack(v.low) if math.isfinite(v.low) else True
    if v.high_strict:
        ok_high = x < v.high
    else:
        ok_high = x <= v.high + slack(v.high) if math.isfinite(v.high) else True
    return ok_low and ok_high


def target_violation(target: Target, value: float | str) -> float:
    """How far ``value`` lies outside the admissible set, relative to the bound (0 inside).

    Strict bounds are treated as inclusive here (a tolerance measure). For peak_month the
    violation is 0 or 1; for a missing value (nan) it is inf.
    """
    v = target.value
    if target.statistic == "peak_month":
        return 0.0 if value == v.month else 1.0
    x = float(value)
    if math.isnan(x):
        return math.inf
    if x < v.low:
        return (v.low - x) / max(1.0, abs(v.low))
    if x > v.high:
        return (x - v.high) / max(1.0, abs(v.high))
    return 0.0


def evaluate_targets(
    record: Record,
    daily: Mapping[str, pd.Series],
    targets: Iterable[Target] | None = None,
    *,
    period: tuple[date, date] | None = None,
) -> pd.DataFrame:
    """Evaluate targets on daily counts: one row per target.

    Columns: id, series, statistic, window, observed (the source's value form), value (computed),
    satisfied, violation, use. Targets reading a series absent from ``daily`` are skipped, and so
    are targets outside ``period`` (start, end) when given.
    """
    rows = []
    chosen = record.used_targets() if targets is None else tuple(targets)
    for t in chosen:
        if period is not None and not t.within(*period):
            continue
        if any(s not in daily for s in t.series_read):
            continue
        val = compute_statistic(t, daily)
        rows.append(
            {
                "id": t.id,
                "series": t.series,
                "statistic": t.statistic,
                "window": str(t.window),
                "observed": t.value.describe(),
                "value": val,
                "satisfied": target_satisfied(t, val),
                "violation": target_violation(t, val),
                "use": t.use,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "id", "series", "statistic", "window", "observed", "value", "satisfied", "violation",
            "use",
        ],
    )  # fmt: skip
