"""Fast evaluation of many targets on one run's daily observed values, and the ABC distance.

:class:`TargetSet` compiles targets once (day indices of windows, month boundaries, series
columns) so that a run's statistics are a few numpy operations on cumulative sums. It computes
exactly what :func:`escalation.record.statistics.compute_statistic` computes (the tests check both
agree); peak months come back as month indices.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from escalation.record.statistics import ZERO_EPS, slack
from escalation.record.types import Target, Window

#: Shares and ratios are compared on log(x + RATIO_EPS): a small floor keeps zero finite.
RATIO_EPS = 0.05


@dataclass(frozen=True)
class _Compiled:
    kind: str
    col: int
    a: int
    b: int  # inclusive day indices
    months: np.ndarray | None = None  # boundaries (day index of each month start, plus b + 1)
    ref_col: int = -1
    ref_a: int = 0
    ref_b: int = -1


def _month_edges(start: date, a: int, b: int) -> np.ndarray:
    """Day indices where the calendar months inside days a..b begin, then b + 1."""
    first = pd.Timestamp(start) + pd.Timedelta(days=a)
    last = pd.Timestamp(start) + pd.Timedelta(days=b)
    months = pd.period_range(first, last, freq="M")
    edges = [a]
    for p in months[1:]:
        edges.append((p.start_time - pd.Timestamp(start)).days)
    edges.append(b + 1)
    return np.array(edges)


class TargetSet:
    """Targets compiled against a run's calendar and series order."""

    def __init__(self, targets: Sequence[Target], series: Sequence[str], start: date, n_days: int):
        self.targets = list(targets)
        self.series = list(series)  # the run's series order (another set of targets reuses it)
        self.start = start
        self.n_days = n_days
        col = {s: i for i, s in enumerate(series)}
        self.month_labels: list[list[str]] = []
        compiled = []
        for t in self.targets:
            a, b = self._days(t.window)
            c = _Compiled(t.statistic, col[t.series], a, b)
            labels: list[str] = []
            if t.statistic in ("monthly_max", "monthly_min", "peak_month"):
                edges = _month_edges(start, a, b)
                c = _Compiled(t.statistic, c.col, a, b, months=edges)
                labels = [str(p) for p in pd.period_range(t.window.start, t.window.end, freq="M")]
            if t.statistic == "ratio":
                assert t.reference is not None
                ra, rb = self._days(t.reference)
                c = _Compiled(
                    "ratio",
                    c.col,
                    a,
                    b,
                    ref_col=col[t.reference_series or t.series],
                    ref_a=ra,
                    ref_b=rb,
                )
            if t.statistic == "share":
                assert t.of_series is not None
                c = _Compiled("share", c.col, a, b, ref_col=col[t.of_series], ref_a=a, ref_b=b)
            compiled.append(c)
            self.month_labels.append(labels)
        self.compiled = compiled
        self.low = np.array([t.value.low for t in self.targets], dtype=float)
        self.high = np.array([t.value.high for t in self.targets], dtype=float)
        self.peak_index = np.array(
            [
                labels.index(t.value.month)
                if t.statistic == "peak_month" and t.value.month is not None
                else -1
                for t, labels in zip(self.targets, self.month_labels, strict=True)
            ],
            dtype=float,
        )

    def _days(self, w: Window) -> tuple[int, int]:
        a = (w.start - self.start).days
        b = (w.end - self.start).days
        if a < 0 or b >= self.n_days:
            raise ValueError(f"window {w} is outside the run")
        return a, b

    @staticmethod
    def usable(targets: Sequence[Target], start: date, end: date, series: Sequence[str]):
        """Targets a run from ``start`` to ``end`` reporting ``series`` can evaluate."""
        have = set(series)
        return [t for t in targets if t.within(start, end) and set(t.series_read) <= have]

    def evaluate(self, values: np.ndarray) -> np.ndarray:
        """Every target's statistic for one run (values: days x series); peak months as index."""
        cs = np.vstack([np.zeros((1, values.shape[1])), np.cumsum(values, axis=0)])
        out = np.empty(len(self.compiled))
        for i, c in enumerate(self.compiled):
            k = c.kind
            total = cs[c.b + 1, c.col] - cs[c.a, c.col]
            if k in ("count", "zero"):
                out[i] = total
            elif k == "mean_annual":
                out[i] = total / ((c.b - c.a + 1) / 365.25)
            elif k in ("monthly_max", "monthly_min", "peak_month"):
                per = cs[c.months, c.col]
                monthly = np.diff(per)
                if k == "monthly_max":
                    out[i] = monthly.max()
                elif k == "monthly_min":
                    out[i] = monthly.min()
                else:
                    top = monthly.max()
                    if top <= ZERO_EPS:
                        out[i] = -1.0
                    else:
                        near = monthly >= top - slack(top)
                        out[i] = float(np.argmax(near))
            elif k in ("ratio", "share"):
                den = cs[c.ref_b + 1, c.ref_col] - cs[c.ref_a, c.ref_col]
                out[i] = total / den if den > 0 else (math.inf if total > 0 else math.nan)
            elif k == "longest_zero_run":
                zero = values[c.a : c.b + 1, c.col] <= ZERO_EPS
                out[i] = _longest_run(zero)
            else:  # pragma: no cover - the loader admits no other statistic
                raise ValueError(k)
        return out

    def satisfied(self, stats: np.ndarray) -> np.ndarray:
        """Whether each statistic is inside its target's admissible set."""
        from escalation.record.statistics import target_satisfied

        return np.array(
            [target_satisfied(t, self.value_of(i, stats[i])) for i, t in enumerate(self.targets)]
        )

    def satisfied_one(self, i: int, stat: float) -> bool:
        """Whether one statistic meets target ``i``."""
        from escalation.record.statistics import target_satisfied

        return bool(target_satisfied(self.targets[i], self.value_of(i, stat)))

    def value_of(self, i: int, stat: float) -> float | str:
        """A statistic as compute_statistic returns it (peak months as 'YYYY-MM')."""
        if self.targets[i].statistic == "peak_month":
            return self.month_labels[i][int(stat)] if stat >= 0 else ""
        return float(stat)

    def distances(self, stats: np.ndarray) -> np.ndarray:
        """Per target: 0 inside the admissible set, else the log-scale gap to its nearest end.

        Counts compare log(1 + x); ratios and shares log(x + 0.05); peak months count months
        apart / 3 (at most 2). Missing values (0/0) are 1.
        """
        d = np.zeros(len(self.targets))
        for i, t in enumerate(self.targets):
            x = stats[i]
            k = t.statistic
            if k == "peak_month":
                want = self.peak_index[i]
                d[i] = 0.0 if x == want else (2.0 if x < 0 else min(abs(x - want) / 3.0, 2.0))
                continue
            if math.isnan(x):
                d[i] = 1.0
                continue
            lo, hi = self.low[i], self.high[i]
            inside = lo - slack(lo) <= x <= hi + slack(hi)
            strict_miss = (t.value.low_strict and x <= lo) or (t.value.high_strict and x >= hi)
            if inside and not strict_miss:
                continue
            bound = lo if x <= lo else hi
            if k in ("ratio", "share"):
                f = lambda v: math.log(v + RATIO_EPS)  # noqa: E731
                gap = abs(f(min(x, 1e9)) - f(bound))
            else:
                gap = abs(math.log1p(max(x, 0.0)) - math.log1p(max(bound, 0.0)))
            d[i] = max(gap, 0.05)  # a strict bound missed by a hair still counts
        return d


def _longest_run(mask: np.ndarray) -> int:
    if not mask.any():
        return 0
    padded = np.r_[False, mask, False].astype(int)
    edges = np.flatnonzero(np.diff(padded))
    return int((edges[1::2] - edges[::2]).max())


def rms(d: np.ndarray) -> float:
    """The overall distance: root mean square of the per-target distances."""
    return float(np.sqrt(np.mean(d**2))) if len(d) else 0.0
