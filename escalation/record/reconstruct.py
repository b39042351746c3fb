"""Monthly series reconstructed from the record's aggregates.

RECONSTRUCTION FROM PUBLISHED AGGREGATES, not observed monthly data. For each observed series, the
central line is the smoothest non-negative monthly series consistent with every target on that
series:

* Unknowns are counts on segments: calendar months, split wherever a target window starts or ends
  inside a month (so a figure for one day does not have to be spread over its month). Days inside a
  segment are taken as uniform.
* Central line: minimise sum over adjacent months of (X[m+1] - X[m])^2 (X = month totals), plus a
  small preference for spreading a month's total uniformly over its days (weight 1e-3) and a tiny
  ridge on the totals (1e-4) that picks the lowest level when only lower bounds pin it.
* Only months that some target window touches are reconstructed; a gap between windows breaks the
  roughness chain (nothing is interpolated where the record says nothing).
* Constraints: counts (windows cutting months use the segments inside), mean_annual, ratios and
  shares (linear, with the reference count at least 1, since a stated ratio implies one), zero,
  monthly_min >= a, monthly_max <= b, peak_month (that month at least every other month in the
  window, strictly above earlier ones), monthly_max >= a on one month (the peak_month of the same
  window if the record has one, else the largest month of a first pass), longest_zero_run >= L
  (the run is placed at the end of the window). Strict bounds keep a margin of STRICT_MARGIN.
* Nested series of the same source carry bounds between them: a zero or upper bound on a series
  also holds for every series it contains, and a lower bound on a contained series holds for the
  containing one (reported as implied targets).
* Targets that cannot all hold are found with an elastic LP (minimum total relative violation);
  those left violated are reported in ``unmet`` and the rest are reconstructed without them.

Band: for each month, the minimum and maximum of that month's total over all non-negative series
that meet every (kept) target and whose total variation sum |X[m+1] - X[m]| is at most
BAND_TV_FACTOR x that of the central line plus its mean monthly level (BAND_TV_FACTOR = 1.5).
``inf`` means the record does not bound the month from above within that budget.

Every kept target is re-evaluated on the reconstructed daily counts with
:func:`escalation.record.statistics.compute_statistic`; ``worst_violation`` is the largest relative
violation (target_violation), to be below TOLERANCE.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy import optimize, sparse

from escalation.record.statistics import compute_statistic, target_satisfied, target_violation
from escalation.record.types import Record, Target, Value, Window

__all__ = [
    "BAND_TV_FACTOR",
    "LABEL",
    "STRICT_MARGIN",
    "TOLERANCE",
    "Reconstruction",
    "UnmetTarget",
    "reconstruct",
]

LABEL = "Reconstruction from published aggregates (not observed monthly data)"
#: Relative tolerance to which the reconstruction meets every kept target.
TOLERANCE = 1e-6
#: Margin kept inside strict bounds (relative to the bound, at least this much absolute).
STRICT_MARGIN = 1e-3
#: Total-variation budget of the band, as a multiple of the central line's.
BAND_TV_FACTOR = 1.5
_WITHIN = 1e-3
_RIDGE = 1e-4
BAND_DEFINITION = (
    "per-month min and max over all non-negative series meeting every target with total variation "
    f"at most {BAND_TV_FACTOR} x the central line's plus its mean monthly level"
)


@dataclass(frozen=True)
class UnmetTarget:
    """A target the reconstruction could not meet together with the others."""

    id: str
    series: str
    reason: str
    violation: float


@dataclass(frozen=True)
class Reconstruction:
    """Result of :func:`reconstruct`.

    ``table``: tidy DataFrame (series, month, value, low, high), month = first day of the month.
    ``checks``: one row per target used (explicit and implied) with the reconstructed statistic.
    """

    table: pd.DataFrame
    checks: pd.DataFrame
    unmet: tuple[UnmetTarget, ...]
    worst_violation: float
    seconds: float
    segments: Mapping[str, pd.DataFrame] = field(repr=False, default_factory=dict)
    label: str = LABEL
    band_definition: str = BAND_DEFINITION

    def daily(self) -> dict[str, pd.Series]:
        """Reconstructed daily counts per series (segment totals spread evenly over their days)."""
        out: dict[str, pd.Series] = {}
        for sid, seg in self.segments.items():
            parts = []
            for start, end, val in zip(seg["start"], seg["end"], seg["value"], strict=True):
                days = pd.date_range(start, end, freq="D")
                parts.append(pd.Series(val / len(days), index=days))
            out[sid] = pd.concat(parts) if parts else pd.Series(dtype=float)
        return out


# --------------------------------------------------------------------------------------------
# implied targets between nested series
# --------------------------------------------------------------------------------------------


def _implied_targets(record: Record, targets: Sequence[Target]) -> list[tuple[Target, str]]:
    """Bounds carried to nested series of the same source: (implied target, origin id)."""
    series = record.series
    pairs = [(a, b) for a in series for b in series if a != b and series[a].is_subset_of(series[b])]
    have = {(t.series, t.statistic, t.window, t.value) for t in targets}
    out: list[tuple[Target, str]] = []
    frontier = [(t, t.id) for t in targets if t.statistic in ("count", "zero")]
    for _ in range(4):  # nesting is shallow; a few passes reach the fixpoint
        new: list[tuple[Target, str]] = []
        for t, origin in frontier:
            for a, b in pairs:
                implied = None
                if t.series == b and t.statistic == "zero":
                    implied = replace(t, series=a)
                elif t.series == b and t.statistic == "count" and math.isfinite(t.value.high):
                    v = Value(form="upper", high=t.value.high, high_strict=t.value.high_strict)
                    implied = replace(t, series=a, value=v)
                elif t.series == a and t.statistic == "count" and t.value.low > 0:
                    v = Value(form="lower", low=t.value.low, low_strict=t.value.low_strict)
                    implied = replace(t, series=b, value=v)
                if implied is None:
                    continue
                key = (implied.series, implied.statistic, implied.window, implied.value)
                if key in have:
                    continue
                have.add(key)
                implied = replace(
                    implied,
                    id=f"{origin}@{implied.series}",
                    tags=("derived",),
                    notes=f"implied by {origin} (nested series of the same source)",
                )
                new.append((implied, origin))
        out += new
        frontier = new
        if not new:
            break
    return out


# --------------------------------------------------------------------------------------------
# problem construction
# --------------------------------------------------------------------------------------------


def _month_start(d: date) -> date:
    return d.replace(day=1)


def _next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def _windows_on(t: Target, sid: str) -> list[Window]:
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
class _SeriesLayout:
    sid: str
    months: list[date]
    seg_start: list[date]
    seg_end: list[date]
    seg_month: list[int]
    offset: int = 0

    @property
    def n(self) -> int:
        return len(self.seg_start)


def _layout(sid: str, windows: Iterable[Window]) -> _SeriesLayout:
    windows = list(windows)
    months: set[date] = set()
    cuts: set[date] = set()
    for w in windows:
        m = _month_start(w.start)
        while m <= w.end:
            months.add(m)
            m = _next_month(m)
        cuts.add(w.start)
        cuts.add(w.end + timedelta(days=1))
    mlist = sorted(months)
    lay = _SeriesLayout(sid, mlist, [], [], [])
    for mi, m in enumerate(mlist):
        nxt = _next_month(m)
        inner = sorted(c for c in cuts if m < c < nxt)
        bounds = [m, *inner, nxt]
        for a, b in itertools.pairwise(bounds):
            lay.seg_start.append(a)
            lay.seg_end.append(b - timedelta(days=1))
            lay.seg_month.append(mi)
    return lay


class _Problem:
    """Linear constraints over the segment counts of one component of series."""

    def __init__(self, layouts: dict[str, _SeriesLayout]) -> None:
        self.layouts = layouts
        off = 0
        for lay in layouts.values():
            lay.offset = off
            off += lay.n
        self.n = off
        # inequality rows G y <= h, each tagged with a target index
        self.rows: list[tuple[np.ndarray, float, int, bool]] = []  # (coeffs, rhs, target, is_eq)

    def window_vec(self, sid: str, w: Window, scale: float = 1.0) -> np.ndarray:
        lay = self.layouts[sid]
        v = np.zeros(self.n)
        for i in range(lay.n):
            if lay.seg_start[i] >= w.start and lay.seg_end[i] <= w.end:
                v[lay.offset + i] = scale
        return v

    def month_vecs(self, sid: str, w: Window) -> list[tuple[date, np.ndarray]]:
        lay = self.layouts[sid]
        out = []
        for mi, m in enumerate(lay.months):
            if m > w.end or _next_month(m) <= w.start:
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
            self.rows.append((vec, lo, k, True))
            return
        if math.isfinite(lo):
            self.rows.append((-vec, -lo, k, False))
        if math.isfinite(hi):
            self.rows.append((vec, hi, k, False))


def _bounds(v: Value) -> tuple[float, float]:
    lo, hi = v.low, v.high
    if v.low_strict and math.isfinite(lo):
        lo += STRICT_MARGIN * max(1.0, abs(lo))
    if v.high_strict and math.isfinite(hi):
        hi -= STRICT_MARGIN * max(1.0, abs(hi))
    return lo, hi


def _add_target(
    p: _Problem, k: int, t: Target, peak_hint: Mapping[tuple[str, Window], date]
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
            vec = next((v for m, v in months if m == chosen), None)
            if vec is None:
                vec = months[0][1]
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


def _objective(p: _Problem) -> sparse.csr_matrix:
    """Hessian H of 0.5 y'Hy: roughness of month totals + within-month uniformity + ridge."""
    blocks = []
    for lay in p.layouts.values():
        n_m = len(lay.months)
        # S: months x segments aggregation
        s = sparse.csr_matrix(
            (np.ones(lay.n), (lay.seg_month, np.arange(lay.n))), shape=(n_m, lay.n)
        )
        rows = [i for i in range(n_m - 1) if _next_month(lay.months[i]) == lay.months[i + 1]]
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
        month_days = np.array([(_next_month(m) - m).days for m in lay.months], float)[lay.seg_month]
        w = seg_days / month_days
        u = sparse.identity(lay.n, format="csr") - sparse.diags(w) @ (s.T @ s)
        h = 2 * (ds.T @ ds) + 2 * _WITHIN * (u.T @ u) + 2 * _RIDGE * (s.T @ s)
        blocks.append(h)
    return sparse.block_diag(blocks, format="csr")


def _matrices(p: _Problem, keep: set[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    ub = [(v, r) for v, r, k, eq in p.rows if k in keep and not eq]
    eq = [(v, r) for v, r, k, e in p.rows if k in keep and e]
    a_ub = np.array([v for v, _ in ub]) if ub else np.zeros((0, p.n))
    b_ub = np.array([r for _, r in ub]) if ub else np.zeros(0)
    a_eq = np.array([v for v, _ in eq]) if eq else np.zeros((0, p.n))
    b_eq = np.array([r for _, r in eq]) if eq else np.zeros(0)
    return a_ub, b_ub, a_eq, b_eq


def _elastic(
    p: _Problem, targets: Sequence[int]
) -> tuple[np.ndarray | None, dict[int, float], set[int]]:
    """Feasible point, per-target minimal violation (relative) and the targets whose rows bind.

    Elastic LP: every row of target k may be relaxed by slack_k (relative to the row's bound);
    minimise the sum of slacks. Rows with non-zero dual values form the conflict.
    """
    idx = {k: j for j, k in enumerate(targets)}
    nt = len(targets)
    a_rows, b, owner = [], [], []
    for v, r, k, eq in p.rows:
        if k not in idx:
            continue
        scale = max(1.0, abs(r))
        slack = np.zeros(nt)
        slack[idx[k]] = -scale
        a_rows.append(np.r_[v, slack])
        b.append(r)
        owner.append(k)
        if eq:
            a_rows.append(np.r_[-v, slack])
            b.append(-r)
            owner.append(k)
    c = np.r_[np.zeros(p.n), np.ones(nt)]
    res = optimize.linprog(
        c,
        A_ub=np.array(a_rows) if a_rows else None,
        b_ub=np.array(b) if b else None,
        bounds=[(0, None)] * (p.n + nt),
        method="highs",
    )
    if res.status != 0:
        return None, {k: math.inf for k in targets}, set()
    slack_of = {k: float(res.x[p.n + idx[k]]) for k in targets}
    binding: set[int] = set()
    if any(v > 1e-9 for v in slack_of.values()) and res.ineqlin is not None:
        marg = np.asarray(res.ineqlin.marginals)
        binding = {owner[i] for i in np.flatnonzero(np.abs(marg) > 1e-9)}
    return res.x[: p.n], slack_of, binding


def _solve_qp(
    h: sparse.csr_matrix,
    a_ub: np.ndarray,
    b_ub: np.ndarray,
    a_eq: np.ndarray,
    b_eq: np.ndarray,
    x0: np.ndarray,
) -> np.ndarray:
    """min 0.5 y'Hy s.t. A_ub y <= b_ub, A_eq y = b_eq, y >= 0, H positive definite.

    Solved exactly as a least-distance problem (Lawson and Hanson): with H = L L' and z = L'y the
    problem is min |z|^2 s.t. G z >= g, whose solution follows from one NNLS. Falls back to SLSQP
    from the feasible point ``x0`` if the NNLS step fails numerically.
    """
    n = h.shape[0]
    c = np.vstack([-a_ub, a_eq, -a_eq, np.eye(n)])
    d = np.r_[-b_ub, b_eq, -b_eq, np.zeros(n)]
    try:
        chol = np.linalg.cholesky(h.toarray())
        # G = C L^-T  (solve L X = C' for X = L^-1 C', G = X')
        g = np.linalg.solve(chol, c.T).T
        e = np.vstack([g.T, d[None, :]])
        f = np.zeros(n + 1)
        f[-1] = 1.0
        u, _ = optimize.nnls(e, f, maxiter=50 * e.shape[1])
        r = e @ u - f
        if abs(r[-1]) > 1e-12:
            z = -r[:n] / r[-1]
            y = np.linalg.solve(chol.T, z)
            if _feasible(y, a_ub, b_ub, a_eq, b_eq, tol=1e-7):
                return np.maximum(y, 0.0)
    except (np.linalg.LinAlgError, RuntimeError):
        pass
    return _solve_slsqp(h, a_ub, b_ub, a_eq, b_eq, x0)


def _solve_slsqp(h, a_ub, b_ub, a_eq, b_eq, x0) -> np.ndarray:
    hd = h.toarray()
    cons = []
    if len(b_ub):
        cons.append({"type": "ineq", "fun": lambda y: b_ub - a_ub @ y, "jac": lambda y: -a_ub})
    if len(b_eq):
        cons.append({"type": "eq", "fun": lambda y: a_eq @ y - b_eq, "jac": lambda y: a_eq})
    res = optimize.minimize(
        lambda y: 0.5 * y @ hd @ y,
        x0,
        jac=lambda y: hd @ y,
        method="SLSQP",
        bounds=[(0, None)] * len(x0),
        constraints=cons,
        options={"maxiter": 1000, "ftol": 1e-12},
    )
    return np.maximum(res.x, 0.0)


# --------------------------------------------------------------------------------------------
# main entry point
# --------------------------------------------------------------------------------------------


def _components(targets: Sequence[Target]) -> list[list[int]]:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for t in targets:
        first, *rest = t.series_read
        for other in rest:
            parent[find(other)] = find(first)
        find(first)
    groups: dict[str, list[int]] = {}
    for k, t in enumerate(targets):
        groups.setdefault(find(t.series), []).append(k)
    return list(groups.values())


def reconstruct(
    record: Record,
    series: Iterable[str] | None = None,
    *,
    targets: Iterable[Target] | None = None,
    band: bool = True,
) -> Reconstruction:
    """Reconstruct monthly series from the record's used targets (see the module docstring).

    ``series`` limits the work to those series (and the series their targets read). ``targets``
    replaces the record's used targets (e.g. ``record.targets`` to include the alternative
    readings; conflicts then show in ``unmet``). ``band=False`` skips the band (NaN low/high).
    """
    t0 = time.perf_counter()
    chosen = list(record.used_targets() if targets is None else targets)
    if series is not None:
        wanted = set(series)
        unknown = wanted - set(record.series)
        if unknown:
            raise KeyError(f"unknown series: {', '.join(sorted(unknown))}")
        chosen = [t for t in chosen if set(t.series_read) & wanted]
    implied = _implied_targets(record, chosen)
    origin = {t.id: "" for t in chosen} | {t.id: o for t, o in implied}
    all_targets = chosen + [t for t, _ in implied]
    if series is not None:
        all_targets = [t for t in all_targets if set(t.series_read) & wanted]

    tables, checks, unmet, seg_tables = [], [], [], {}
    for comp in _components(all_targets):
        comp_targets = [all_targets[k] for k in comp]
        result = _reconstruct_component(comp_targets, band)
        tables.append(result[0])
        seg_tables.update(result[1])
        unmet += result[2]
    table = (
        pd.concat(tables, ignore_index=True)
        if tables
        else pd.DataFrame(columns=["series", "month", "value", "low", "high"])
    )
    table = table.sort_values(["series", "month"], ignore_index=True)
    recon = Reconstruction(
        table=table,
        checks=pd.DataFrame(),
        unmet=tuple(unmet),
        worst_violation=0.0,
        seconds=0.0,
        segments=seg_tables,
    )
    daily = recon.daily()
    unmet_ids = {u.id for u in unmet}
    worst = 0.0
    for t in all_targets:
        val = compute_statistic(t, daily)
        viol = target_violation(t, val)
        met = t.id not in unmet_ids
        if met:
            worst = max(worst, viol)
        checks.append(
            {
                "id": t.id,
                "series": t.series,
                "statistic": t.statistic,
                "window": str(t.window),
                "observed": t.value.describe(),
                "reconstructed": val,
                "satisfied": target_satisfied(t, val),
                "violation": viol,
                "kept": met,
                "implied_from": origin.get(t.id, ""),
            }
        )
    return replace(
        recon,
        checks=pd.DataFrame(checks),
        worst_violation=worst,
        seconds=time.perf_counter() - t0,
    )


def _reconstruct_component(
    targets: Sequence[Target], band: bool
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], list[UnmetTarget]]:
    sids: list[str] = []
    for t in targets:
        for s in t.series_read:
            if s not in sids:
                sids.append(s)
    layouts = {s: _layout(s, [w for t in targets for w in _windows_on(t, s)]) for s in sids}
    unmet: list[UnmetTarget] = []

    def build(hints: Mapping[tuple[str, Window], date]) -> tuple[_Problem, list[int]]:
        p = _Problem(layouts)
        ok = []
        for k, t in enumerate(targets):
            reason = _add_target(p, k, t, hints)
            if reason is None:
                ok.append(k)
            elif not any(u.id == t.id for u in unmet):
                unmet.append(UnmetTarget(t.id, t.series, reason, math.inf))
        return p, ok

    hints: dict[tuple[str, Window], date] = {}
    for t in targets:
        if t.statistic == "peak_month" and t.value.month:
            hints[(t.series, t.window)] = date.fromisoformat(f"{t.value.month}-01")
    open_max = [
        t
        for t in targets
        if t.statistic in ("monthly_max", "monthly_min") and (t.series, t.window) not in hints
    ]
    p, ok = build(hints)
    if open_max:
        # first pass without the disjunctive side, then put it on the extreme month
        relaxed = [k for k in ok if targets[k] not in open_max]
        y0 = _elastic(p, relaxed)[0] if relaxed else np.zeros(p.n)
        if y0 is not None:
            a_ub, b_ub, a_eq, b_eq = _matrices(p, set(relaxed))
            y1 = _solve_qp(_objective(p), a_ub, b_ub, a_eq, b_eq, y0)
            for t in open_max:
                months = p.month_vecs(t.series, t.window)
                vals = [float(v @ y1) for _, v in months]
                pick = (
                    int(np.argmax(vals)) if t.statistic == "monthly_max" else int(np.argmin(vals))
                )
                hints[(t.series, t.window)] = months[pick][0]
        p, ok = build(hints)

    y0, slack, binding = _elastic(p, ok)
    keep = {k for k in ok if slack.get(k, 0.0) <= 1e-9}
    for k in ok:
        if k not in keep:
            own = _origin_id(targets[k])
            partners = sorted({_origin_id(targets[j]) for j in binding} - {own})
            unmet.append(
                UnmetTarget(
                    targets[k].id,
                    targets[k].series,
                    f"conflicts with {', '.join(partners[:8]) or 'the other targets'} "
                    f"(minimum relative violation {slack[k]:.3g})",
                    slack[k],
                )
            )
    if keep != set(ok):
        y0 = _elastic(p, sorted(keep))[0]
    if y0 is None:
        y0 = np.zeros(p.n)
    a_ub, b_ub, a_eq, b_eq = _matrices(p, keep)
    h = _objective(p)
    y = _solve_qp(h, a_ub, b_ub, a_eq, b_eq, y0)
    y = _polish(y, y0, a_ub, b_ub, a_eq, b_eq)

    low = {s: np.full(len(layouts[s].months), np.nan) for s in sids}
    high = {s: np.full(len(layouts[s].months), np.nan) for s in sids}
    if band:
        _band(p, layouts, y, a_ub, b_ub, a_eq, b_eq, low, high)

    frames, segs = [], {}
    for s in sids:
        lay = layouts[s]
        ys = y[lay.offset : lay.offset + lay.n]
        totals = np.bincount(lay.seg_month, weights=ys, minlength=len(lay.months))
        if band:
            low[s] = np.minimum(low[s], totals)
            high[s] = np.maximum(high[s], totals)
        frames.append(
            pd.DataFrame(
                {
                    "series": s,
                    "month": pd.to_datetime(lay.months),
                    "value": totals,
                    "low": low[s],
                    "high": high[s],
                }
            )
        )
        segs[s] = pd.DataFrame(
            {
                "start": pd.to_datetime(lay.seg_start),
                "end": pd.to_datetime(lay.seg_end),
                "value": ys,
            }
        )
    return pd.concat(frames, ignore_index=True), segs, unmet


def _origin_id(t: Target) -> str:
    return t.id.split("@", 1)[0]


def _feasible(y: np.ndarray, a_ub, b_ub, a_eq, b_eq, tol: float = 1e-9) -> bool:
    ok = np.all(y >= -tol)
    if len(b_ub):
        ok &= np.all(a_ub @ y <= b_ub + tol * np.maximum(1, np.abs(b_ub)))
    if len(b_eq):
        ok &= np.all(np.abs(a_eq @ y - b_eq) <= tol * np.maximum(1, np.abs(b_eq)))
    return bool(ok)


def _polish(y: np.ndarray, y0: np.ndarray, a_ub, b_ub, a_eq, b_eq) -> np.ndarray:
    """Make the QP solution exactly feasible: step back toward the LP point if needed."""
    if _feasible(y, a_ub, b_ub, a_eq, b_eq):
        return y
    # bisect on the segment between the (feasible) LP point and the QP point
    lo, hi = 0.0, 1.0
    for _ in range(40):
        mid = (lo + hi) / 2
        if _feasible(y0 + mid * (y - y0), a_ub, b_ub, a_eq, b_eq):
            lo = mid
        else:
            hi = mid
    return np.maximum(y0 + lo * (y - y0), 0.0)


def _band(p, layouts, y, a_ub, b_ub, a_eq, b_eq, low, high) -> None:
    """Per-month min/max under the total-variation budget (LPs)."""
    n = p.n
    tv_rows, tv_rhs, aux = [], [], 0
    per_series = []
    for lay in layouts.values():
        pairs = [
            i for i in range(len(lay.months) - 1) if _next_month(lay.months[i]) == lay.months[i + 1]
        ]
        per_series.append((lay, pairs, aux))
        aux += len(pairs)
    total = n + aux
    for lay, pairs, start in per_series:
        ys = y[lay.offset : lay.offset + lay.n]
        totals = np.bincount(lay.seg_month, weights=ys, minlength=len(lay.months))
        tv = float(np.abs(np.diff(totals)[pairs]).sum()) if pairs else 0.0
        budget = BAND_TV_FACTOR * tv + float(totals.mean() if len(totals) else 0.0) + 1e-6
        for j, i in enumerate(pairs):
            diff = np.zeros(total)
            for seg in range(lay.n):
                if lay.seg_month[seg] == i + 1:
                    diff[lay.offset + seg] += 1
                elif lay.seg_month[seg] == i:
                    diff[lay.offset + seg] -= 1
            t_col = np.zeros(total)
            t_col[n + start + j] = -1
            tv_rows += [diff + t_col, -diff + t_col]
            tv_rhs += [0.0, 0.0]
        if pairs:
            row = np.zeros(total)
            row[n + start : n + start + len(pairs)] = 1
            tv_rows.append(row)
            tv_rhs.append(budget)
    pad = np.zeros((a_ub.shape[0], aux))
    a_ub_full = np.vstack([np.hstack([a_ub, pad]), *([np.array(tv_rows)] if tv_rows else [])])
    b_ub_full = np.r_[b_ub, tv_rhs]
    a_eq_full = np.hstack([a_eq, np.zeros((a_eq.shape[0], aux))]) if len(b_eq) else None
    costs, slots = [], []
    for lay in layouts.values():
        for mi in range(len(lay.months)):
            c = np.zeros(total)
            for seg in range(lay.n):
                if lay.seg_month[seg] == mi:
                    c[lay.offset + seg] = 1
            costs += [c, -c]
            slots += [(low, lay.sid, mi, 1), (high, lay.sid, mi, -1)]
    eq = (a_eq_full, b_eq) if a_eq_full is not None else None
    for (store, sid, mi, sign), (status, fun) in zip(
        slots, _solve_lps(costs, a_ub_full, b_ub_full, eq), strict=True
    ):
        if status == "optimal":
            store[sid][mi] = max(sign * fun, 0.0) + 0.0
        elif status == "unbounded":
            store[sid][mi] = math.inf if sign < 0 else 0.0


def _solve_lps(
    costs: Sequence[np.ndarray],
    a_ub: np.ndarray,
    b_ub: np.ndarray,
    eq: tuple[np.ndarray, np.ndarray] | None,
) -> list[tuple[str, float]]:
    """Solve min c.x s.t. a_ub x <= b_ub, eq, x >= 0 for each c; (status, objective) per c.

    Uses SciPy's bundled HiGHS model object, re-solved warm with each new cost vector, and falls
    back to :func:`scipy.optimize.linprog` where that object is not available.
    """
    n = a_ub.shape[1]
    a = sparse.vstack([sparse.csr_matrix(a_ub)] + ([sparse.csr_matrix(eq[0])] if eq else []))
    a = a.tocsc()
    row_lo = np.r_[np.full(len(b_ub), -np.inf), eq[1] if eq else []]
    row_hi = np.r_[b_ub, eq[1] if eq else []]
    try:
        from scipy.optimize._highspy import _core
    except ImportError:  # pragma: no cover - depends on the SciPy build
        _core = None
    out: list[tuple[str, float]] = []
    if _core is None:  # pragma: no cover
        for c in costs:
            res = optimize.linprog(
                c,
                A_ub=a_ub,
                b_ub=b_ub,
                A_eq=eq[0] if eq else None,
                b_eq=eq[1] if eq else None,
                bounds=(0, None),
                method="highs",
            )
            status = {0: "optimal", 3: "unbounded"}.get(res.status, "failed")
            out.append((status, float(res.fun) if res.status == 0 else math.nan))
        return out
    inf = _core.kHighsInf
    h = _core._Highs()
    h.setOptionValue("output_flag", False)
    lp = _core.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = a.shape[0]
    lp.col_cost_ = np.zeros(n)
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.full(n, inf)
    lp.row_lower_ = np.where(np.isfinite(row_lo), row_lo, -inf)
    lp.row_upper_ = np.where(np.isfinite(row_hi), row_hi, inf)
    lp.a_matrix_.format_ = _core.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr
    lp.a_matrix_.index_ = a.indices
    lp.a_matrix_.value_ = a.data
    lp.a_matrix_.num_col_ = n
    lp.a_matrix_.num_row_ = a.shape[0]
    h.passModel(lp)
    cols = np.arange(n, dtype=np.int32)
    ms = _core.HighsModelStatus
    for c in costs:
        h.changeColsCost(n, cols, c)
        h.run()
        st = h.getModelStatus()
        if st == ms.kOptimal:
            out.append(("optimal", h.getInfo().objective_function_value))
        elif st in (ms.kUnbounded, ms.kUnboundedOrInfeasible):
            out.append(("unbounded", math.nan))
        else:
            out.append(("failed", math.nan))
    return out
