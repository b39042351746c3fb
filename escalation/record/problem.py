"""The reconstruction as an optimisation problem over segment counts.

Each series of a component is cut into segments (:class:`SeriesLayout`): calendar months, split
wherever a target window starts or ends inside a month. A :class:`Problem` holds the linear rows
``lo <= a . y <= hi`` that the targets put on the segment counts ``y`` (:func:`add_target`), each
row tagged with its target; :func:`objective` is the quadratic form of the central line and
:func:`constraints` the matrices of the rows of the targets kept.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

import numpy as np
from scipy import sparse

from escalation.record.types import Target, Value, Window

__all__ = [
    "STRICT_MARGIN",
    "Constraints",
    "Problem",
    "Row",
    "SeriesLayout",
    "add_target",
    "constraints",
    "layout",
    "next_month",
    "objective",
    "windows_on",
]

#: Margin kept inside strict bounds (relative to the bound, at least this much absolute).
STRICT_MARGIN = 1e-3
_WITHIN = 1e-3
_RIDGE = 1e-4


def _month_start(d: date) -> date:
    return d.replace(day=1)


def next_month(d: date) -> date:
    """The first day of the month after ``d``'s."""
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def windows_on(t: Target, sid: str) -> list[Window]:
    """The windows target ``t`` reads on series ``sid`` (where the segments must be cut)."""
    ws = []
    if t.series == sid or t.of_series == sid:
        ws.append(t.window)
    if t.reference is not None and (t.reference_series or t.series) == sid:
        ws.append(t.reference)
    if t.statistic == "longest_zero_run" and t.series == sid:
        run = int(max(t.value.low, 0))
        if run > 0:
            ws.append(
                Window(max(t.window.start, t.window.end - timedelta(days=run - 1)), t.window.end)
            )
    return ws


@dataclass
class SeriesLayout:
    """The segments of one series: their days, their month (index into ``months``), and where
    they start in the component's vector of unknowns (``offset``)."""

    sid: str
    months: list[date]
    seg_start: list[date]
    seg_end: list[date]
    seg_month: list[int]
    offset: int = 0

    @property
    def n(self) -> int:
        """Number of segments."""
        return len(self.seg_start)


def layout(sid: str, windows: Iterable[Window]) -> SeriesLayout:
    """Segments of series ``sid``: the months the windows touch, cut where a window starts or
    ends inside a month."""
    windows = list(windows)
    months: set[date] = set()
    cuts: set[date] = set()
    for w in windows:
        m = _month_start(w.start)
        while m <= w.end:
            months.add(m)
            m = next_month(m)
        cuts.add(w.start)
        cuts.add(w.end + timedelta(days=1))
    mlist = sorted(months)
    lay = SeriesLayout(sid, mlist, [], [], [])
    for mi, m in enumerate(mlist):
        nxt = next_month(m)
        inner = sorted(c for c in cuts if m < c < nxt)
        bounds = [m, *inner, nxt]
        for a, b in itertools.pairwise(bounds):
            lay.seg_start.append(a)
            lay.seg_end.append(b - timedelta(days=1))
            lay.seg_month.append(mi)
    return lay


class Row(NamedTuple):
    """One linear row ``coeffs . y <= rhs`` (or ``== rhs`` when ``equality``) of a target."""

    coeffs: np.ndarray
    rhs: float
    target: int
    equality: bool


class Problem:
    """Linear constraints over the segment counts of one component of series."""

    def __init__(self, layouts: dict[str, SeriesLayout]) -> None:
        self.layouts = layouts
        off = 0
        for lay in layouts.values():
            lay.offset = off
            off += lay.n
        self.n = off
        self.rows: list[Row] = []

    def window_vec(self, sid: str, w: Window, scale: float = 1.0) -> np.ndarray:
        """Coefficients summing (times ``scale``) the segments of ``sid`` inside ``w``."""
        lay = self.layouts[sid]
        v = np.zeros(self.n)
        for i in range(lay.n):
            if lay.seg_start[i] >= w.start and lay.seg_end[i] <= w.end:
                v[lay.offset + i] = scale
        return v

    def month_vecs(self, sid: str, w: Window) -> list[tuple[date, np.ndarray]]:
        """(month, coefficients of its segments inside ``w``) for each month ``w`` touches."""
        lay = self.layouts[sid]
        out = []
        for mi, m in enumerate(lay.months):
            if m > w.end or next_month(m) <= w.start:
                continue
            v = np.zeros(self.n)
            for i in range(lay.n):
                if (
                    lay.seg_month[i] == mi
                    and lay.seg_start[i] >= w.start
                    and lay.seg_end[i] <= w.end
                ):
                    v[lay.offset + i] = 1.0
            out.append((m, v))
        return out

    def add(self, k: int, vec: np.ndarray, lo: float, hi: float) -> None:
        """Constrain lo <= vec . y <= hi (infinite ends dropped)."""
        if math.isfinite(lo) and math.isfinite(hi) and abs(hi - lo) <= 1e-12:
            self.rows.append(Row(vec, lo, k, True))
            return
        if math.isfinite(lo):
            self.rows.append(Row(-vec, -lo, k, False))
        if math.isfinite(hi):
            self.rows.append(Row(vec, hi, k, False))


def _bounds(v: Value) -> tuple[float, float]:
    lo, hi = v.low, v.high
    if v.low_strict and math.isfinite(lo):
        lo += STRICT_MARGIN * max(1.0, abs(lo))
    if v.high_strict and math.isfinite(hi):
        hi -= STRICT_MARGIN * max(1.0, abs(hi))
    return lo, hi


def add_target(
    p: Problem, k: int, t: Target, peak_hint: Mapping[tuple[str, Window], date]
) -> str | None:
    """Add the rows of target ``t``; returns a reason if it cannot be expressed."""
    lo, hi = _bounds(t.value)
    sid, w, stat = t.series, t.window, t.statistic
    if stat in ("count", "zero"):
        p.add(k, p.window_vec(sid, w), lo, hi)
    elif stat == "mean_annual":
        p.add(k, p.window_vec(sid, w, 365.25 / w.days), lo, hi)
    elif stat in ("ratio", "share"):
        num = p.window_vec(sid, w)
        if stat == "ratio":
            assert t.reference is not None
            den = p.window_vec(t.reference_series or sid, t.reference)
        else:
            assert t.of_series is not None
            den = p.window_vec(t.of_series, w)
        p.add(k, den, 1.0, math.inf)
        if math.isfinite(lo) and math.isfinite(hi) and abs(hi - lo) <= 1e-12:
            p.add(k, num - lo * den, 0.0, 0.0)
        else:
            if math.isfinite(lo):
                p.add(k, num - lo * den, 0.0, math.inf)
            if math.isfinite(hi):
                p.add(k, num - hi * den, -math.inf, 0.0)
    elif stat in ("monthly_max", "monthly_min"):
        months = p.month_vecs(sid, w)
        inner_hi = hi if stat == "monthly_max" else math.inf
        inner_lo = lo if stat == "monthly_min" else -math.inf
        for _, vec in months:
            p.add(k, vec, inner_lo, inner_hi)
        # the disjunctive side: one month reaches the bound
        one = lo if stat == "monthly_max" else hi
        if math.isfinite(one):
            chosen = peak_hint.get((sid, w))
            found = next((v for m, v in months if m == chosen), None)
            vec = found if found is not None else months[0][1]
            if stat == "monthly_max":
                p.add(k, vec, one, math.inf)
            else:
                p.add(k, vec, -math.inf, one)
    elif stat == "peak_month":
        months = p.month_vecs(sid, w)
        target_month = date.fromisoformat(f"{t.value.month}-01")
        top = next((v for m, v in months if m == target_month), None)
        if top is None:
            return f"peak month {t.value.month} lies outside the window {w}"
        p.add(k, top, STRICT_MARGIN, math.inf)
        for m, v in months:
            if m < target_month:
                p.add(k, top - v, STRICT_MARGIN, math.inf)
            elif m > target_month:
                p.add(k, top - v, 0.0, math.inf)
    elif stat == "longest_zero_run":
        if not (t.value.form == "lower" and t.value.low > 0):
            return "only lower bounds on longest_zero_run can be reconstructed"
        run = math.ceil(t.value.low + (1 if t.value.low_strict else 0) - 1e-9)
        if run > w.days:
            return f"a run of {run} days does not fit in the window {w}"
        tail = Window(max(w.start, w.end - timedelta(days=run - 1)), w.end)
        p.add(k, p.window_vec(sid, tail), 0.0, 0.0)
    else:  # pragma: no cover - the loader rejects unknown statistics
        return f"unknown statistic {stat}"
    return None


def objective(p: Problem) -> sparse.csr_matrix:
    """Hessian H of 0.5 y'Hy: roughness of month totals + within-month uniformity + ridge."""
    blocks = []
    for lay in p.layouts.values():
        n_m = len(lay.months)
        # S: months x segments aggregation
        s = sparse.csr_matrix(
            (np.ones(lay.n), (lay.seg_month, np.arange(lay.n))), shape=(n_m, lay.n)
        )
        rows = [i for i in range(n_m - 1) if next_month(lay.months[i]) == lay.months[i + 1]]
        d = sparse.csr_matrix(
            (
                np.r_[-np.ones(len(rows)), np.ones(len(rows))],
                (np.r_[np.arange(len(rows)), np.arange(len(rows))], np.r_[rows, np.add(rows, 1)]),
            ),
            shape=(len(rows), n_m),
        )
        ds = d @ s
        # within-month: y_i - w_i X_m, w_i = days_i / days_m
        seg_days = np.array(
            [(e - a).days + 1 for a, e in zip(lay.seg_start, lay.seg_end, strict=True)], float
        )
        month_days = np.array([(next_month(m) - m).days for m in lay.months], float)[lay.seg_month]
        w = seg_days / month_days
        u = sparse.identity(lay.n, format="csr") - sparse.diags(w) @ (s.T @ s)
        h = 2 * (ds.T @ ds) + 2 * _WITHIN * (u.T @ u) + 2 * _RIDGE * (s.T @ s)
        blocks.append(h)
    return sparse.block_diag(blocks, format="csr")


class Constraints(NamedTuple):
    """The rows of the kept targets as matrices: ``a_ub y <= b_ub`` and ``a_eq y == b_eq``."""

    a_ub: np.ndarray
    b_ub: np.ndarray
    a_eq: np.ndarray
    b_eq: np.ndarray


def constraints(p: Problem, keep: set[int]) -> Constraints:
    """The rows of the targets in ``keep`` (indices into the component's targets)."""
    ub = [(v, r) for v, r, k, eq in p.rows if k in keep and not eq]
    eq = [(v, r) for v, r, k, e in p.rows if k in keep and e]
    a_ub = np.array([v for v, _ in ub]) if ub else np.zeros((0, p.n))
    b_ub = np.array([r for _, r in ub]) if ub else np.zeros(0)
    a_eq = np.array([v for v, _ in eq]) if eq else np.zeros((0, p.n))
    b_eq = np.array([r for _, r in eq]) if eq else np.zeros(0)
    return Constraints(a_ub, b_ub, a_eq, b_eq)
