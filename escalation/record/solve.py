"""Solvers of the reconstruction: elastic LP, least-distance QP, polishing and the band's LPs.

:func:`elastic` finds a feasible point and the targets that conflict; :func:`solve_qp` finds the
central line (min 0.5 y'Hy under the constraints); :func:`polish` makes it exactly feasible;
:func:`month_band` bounds each month's total under the band's total-variation budget.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from scipy import optimize, sparse

from escalation.record.problem import Constraints, Problem, SeriesLayout, next_month

__all__ = ["BAND_TV_FACTOR", "Elastic", "elastic", "month_band", "polish", "solve_qp"]

#: Total-variation budget of the band, as a multiple of the central line's.
BAND_TV_FACTOR = 1.5


class Elastic(NamedTuple):
    """Result of :func:`elastic`: a feasible point (None if the LP failed), each target's minimal
    relative violation, and the targets whose rows bind when some violation is needed."""

    point: np.ndarray | None
    slack: dict[int, float]
    binding: set[int]


def elastic(p: Problem, targets: Sequence[int]) -> Elastic:
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
        return Elastic(None, {k: math.inf for k in targets}, set())
    slack_of = {k: float(res.x[p.n + idx[k]]) for k in targets}
    binding: set[int] = set()
    if any(v > 1e-9 for v in slack_of.values()) and res.ineqlin is not None:
        marg = np.asarray(res.ineqlin.marginals)
        binding = {owner[i] for i in np.flatnonzero(np.abs(marg) > 1e-9)}
    return Elastic(res.x[: p.n], slack_of, binding)


def solve_qp(h: sparse.csr_matrix, cons: Constraints, x0: np.ndarray) -> np.ndarray:
    """min 0.5 y'Hy s.t. A_ub y <= b_ub, A_eq y = b_eq, y >= 0, H positive definite.

    Solved exactly as a least-distance problem (Lawson and Hanson): with H = L L' and z = L'y the
    problem is min |z|^2 s.t. G z >= g, whose solution follows from one NNLS. Falls back to SLSQP
    from the feasible point ``x0`` if the NNLS step fails numerically.
    """
    a_ub, b_ub, a_eq, b_eq = cons
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
            if _feasible(y, cons, tol=1e-7):
                return np.maximum(y, 0.0)
    except (np.linalg.LinAlgError, RuntimeError):
        pass
    return _solve_slsqp(h, cons, x0)


def _solve_slsqp(h: sparse.csr_matrix, cons: Constraints, x0: np.ndarray) -> np.ndarray:
    a_ub, b_ub, a_eq, b_eq = cons
    hd = h.toarray()
    rows = []
    if len(b_ub):
        rows.append({"type": "ineq", "fun": lambda y: b_ub - a_ub @ y, "jac": lambda y: -a_ub})
    if len(b_eq):
        rows.append({"type": "eq", "fun": lambda y: a_eq @ y - b_eq, "jac": lambda y: a_eq})
    res = optimize.minimize(
        lambda y: 0.5 * y @ hd @ y,
        x0,
        jac=lambda y: hd @ y,
        method="SLSQP",
        bounds=[(0, None)] * len(x0),
        constraints=rows,
        options={"maxiter": 1000, "ftol": 1e-12},
    )
    return np.maximum(res.x, 0.0)


def _feasible(y: np.ndarray, cons: Constraints, tol: float = 1e-9) -> bool:
    a_ub, b_ub, a_eq, b_eq = cons
    ok = np.all(y >= -tol)
    if len(b_ub):
        ok &= np.all(a_ub @ y <= b_ub + tol * np.maximum(1, np.abs(b_ub)))
    if len(b_eq):
        ok &= np.all(np.abs(a_eq @ y - b_eq) <= tol * np.maximum(1, np.abs(b_eq)))
    return bool(ok)


def polish(y: np.ndarray, y0: np.ndarray, cons: Constraints) -> np.ndarray:
    """Make the QP solution exactly feasible: step back toward the LP point if needed."""
    if _feasible(y, cons):
        return y
    # bisect on the segment between the (feasible) LP point and the QP point
    lo, hi = 0.0, 1.0
    for _ in range(40):
        mid = (lo + hi) / 2
        if _feasible(y0 + mid * (y - y0), cons):
            lo = mid
        else:
            hi = mid
    return np.maximum(y0 + lo * (y - y0), 0.0)


def month_band(
    p: Problem,
    y: np.ndarray,
    cons: Constraints,
    low: dict[str, np.ndarray],
    high: dict[str, np.ndarray],
) -> None:
    """Per-month min/max under the total-variation budget (LPs), written into ``low``/``high``.

    Each series may vary by at most BAND_TV_FACTOR x the total variation of the central line
    ``y`` plus its mean monthly level; ``inf`` marks a month unbounded within that budget.
    """
    a_ub, b_ub, a_eq, b_eq = cons
    layouts: dict[str, SeriesLayout] = p.layouts
    n = p.n
    tv_rows, tv_rhs, aux = [], [], 0
    per_series = []
    for lay in layouts.values():
        pairs = [
            i for i in range(len(lay.months) - 1) if next_month(lay.months[i]) == lay.months[i + 1]
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

    One HiGHS model (the public ``highspy`` package, the solver SciPy's ``linprog`` wraps) is
    built once and re-solved warm with each new cost vector: the band's LPs differ only in
    their costs, and a cold ``linprog`` per month would redo the same work hundreds of times.
    """
    n = a_ub.shape[1]
    a = sparse.vstack([sparse.csr_matrix(a_ub)] + ([sparse.csr_matrix(eq[0])] if eq else []))
    a = a.tocsc()
    row_lo = np.r_[np.full(len(b_ub), -np.inf), eq[1] if eq else []]
    row_hi = np.r_[b_ub, eq[1] if eq else []]
    import highspy  # here, not at the top: keeps every command's start fast

    inf = highspy.kHighsInf
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = a.shape[0]
    lp.col_cost_ = np.zeros(n)
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.full(n, inf)
    lp.row_lower_ = np.where(np.isfinite(row_lo), row_lo, -inf)
    lp.row_upper_ = np.where(np.isfinite(row_hi), row_hi, inf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr
    lp.a_matrix_.index_ = a.indices
    lp.a_matrix_.value_ = a.data
    lp.a_matrix_.num_col_ = n
    lp.a_matrix_.num_row_ = a.shape[0]
    h.passModel(lp)
    cols = np.arange(n, dtype=np.int32)
    ms = highspy.HighsModelStatus
    out: list[tuple[str, float]] = []
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
