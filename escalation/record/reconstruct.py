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

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from escalation.progress import QUIET, Bars
from escalation.record.problem import (
    Problem,
    SeriesLayout,
    add_target,
    constraints,
    layout,
    objective,
    windows_on,
)
from escalation.record.solve import BAND_TV_FACTOR, elastic, month_band, polish, solve_qp
from escalation.record.statistics import compute_statistic, target_satisfied, target_violation
from escalation.record.types import Record, Target, Value, Window

__all__ = [
    "LABEL",
    "TOLERANCE",
    "Reconstruction",
    "UnmetTarget",
    "reconstruct",
]

LABEL = "Reconstruction from published aggregates (not observed monthly data)"
#: Relative tolerance to which the reconstruction meets every kept target.
TOLERANCE = 1e-6
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
    bars: Bars = QUIET,
) -> Reconstruction:
    """Reconstruct monthly series from the record's used targets (see the module docstring).

    ``series`` limits the work to those series (and the series their targets read). ``targets``
    replaces the record's used targets (e.g. ``record.targets`` to include the alternative
    readings; conflicts then show in ``unmet``). ``band=False`` skips the band (NaN low/high).
    ``bars`` shows the groups of series reconstructed (each group: series that share a target).
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

    tables, unmet, seg_tables = [], [], {}
    components = _components(all_targets)
    weight = [len(c) for c in components]  # the bar counts targets: a group costs by its size
    with bars.bar("reconstructing the monthly record", sum(weight), unit="target") as bar:
        for comp, size in zip(components, weight, strict=True):
            result = _reconstruct_component([all_targets[k] for k in comp], band)
            tables.append(result.table)
            seg_tables.update(result.segments)
            unmet += result.unmet
            bar.update(size)
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
    checks = _checks(all_targets, recon.daily(), {u.id for u in unmet}, origin)
    kept = [row["violation"] for row in checks if row["kept"]]
    return replace(
        recon,
        checks=pd.DataFrame(checks),
        worst_violation=max([0.0, *kept]),
        seconds=time.perf_counter() - t0,
    )


def _checks(
    targets: Sequence[Target],
    daily: Mapping[str, pd.Series],
    unmet_ids: set[str],
    origin: Mapping[str, str],
) -> list[dict[str, Any]]:
    """One row per target: its statistic on the reconstructed daily counts, and its violation."""
    rows = []
    for t in targets:
        val = compute_statistic(t, daily)
        viol = target_violation(t, val)
        rows.append(
            {
                "id": t.id,
                "series": t.series,
                "statistic": t.statistic,
                "window": str(t.window),
                "observed": t.value.describe(),
                "reconstructed": val,
                "satisfied": target_satisfied(t, val),
                "violation": viol,
                "kept": t.id not in unmet_ids,
                "implied_from": origin.get(t.id, ""),
            }
        )
    return rows


class _Component(NamedTuple):
    """The reconstruction of one group of series that share targets."""

    table: pd.DataFrame
    segments: dict[str, pd.DataFrame]
    unmet: list[UnmetTarget]


def _reconstruct_component(targets: Sequence[Target], band: bool) -> _Component:
    sids: list[str] = []
    for t in targets:
        for s in t.series_read:
            if s not in sids:
                sids.append(s)
    layouts = {s: layout(s, [w for t in targets for w in windows_on(t, s)]) for s in sids}
    unmet: list[UnmetTarget] = []
    hints = _peak_hints(targets)
    open_max = [
        t
        for t in targets
        if t.statistic in ("monthly_max", "monthly_min") and (t.series, t.window) not in hints
    ]
    p, ok = _build(layouts, targets, hints, unmet)
    if open_max:
        _place_extremes(p, [k for k in ok if targets[k] not in open_max], open_max, hints)
        p, ok = _build(layouts, targets, hints, unmet)

    keep, y0 = _drop_conflicts(p, ok, targets, unmet)
    cons = constraints(p, keep)
    y = solve_qp(objective(p), cons, y0)
    y = polish(y, y0, cons)

    low = {s: np.full(len(layouts[s].months), np.nan) for s in sids}
    high = {s: np.full(len(layouts[s].months), np.nan) for s in sids}
    if band:
        month_band(p, y, cons, low, high)
    return _assemble(layouts, y, low, high, band, unmet)


def _peak_hints(targets: Sequence[Target]) -> dict[tuple[str, Window], date]:
    """The month each peak_month target names, keyed by (series, window)."""
    hints: dict[tuple[str, Window], date] = {}
    for t in targets:
        if t.statistic == "peak_month" and t.value.month:
            hints[(t.series, t.window)] = date.fromisoformat(f"{t.value.month}-01")
    return hints


class _Built(NamedTuple):
    """A problem and the indices of the targets it could express."""

    problem: Problem
    expressed: list[int]


def _build(
    layouts: dict[str, SeriesLayout],
    targets: Sequence[Target],
    hints: Mapping[tuple[str, Window], date],
    unmet: list[UnmetTarget],
) -> _Built:
    """The rows of every target; a target that cannot be expressed joins ``unmet`` (once)."""
    p = Problem(layouts)
    ok = []
    for k, t in enumerate(targets):
        reason = add_target(p, k, t, hints)
        if reason is None:
            ok.append(k)
        elif not any(u.id == t.id for u in unmet):
            unmet.append(UnmetTarget(t.id, t.series, reason, math.inf))
    return _Built(p, ok)


def _place_extremes(
    p: Problem,
    relaxed: list[int],
    open_max: Sequence[Target],
    hints: dict[tuple[str, Window], date],
) -> None:
    """Hint the month on which each monthly_max/min without a peak month reaches its bound: the
    extreme month of a first pass that leaves that side out (``relaxed`` are the other targets)."""
    y0 = elastic(p, relaxed).point if relaxed else np.zeros(p.n)
    if y0 is None:
        return
    y1 = solve_qp(objective(p), constraints(p, set(relaxed)), y0)
    for t in open_max:
        months = p.month_vecs(t.series, t.window)
        vals = [float(v @ y1) for _, v in months]
        pick = int(np.argmax(vals)) if t.statistic == "monthly_max" else int(np.argmin(vals))
        hints[(t.series, t.window)] = months[pick][0]


class _Kept(NamedTuple):
    """The targets met together, and a feasible point for them to start the QP from."""

    targets: set[int]
    start: np.ndarray


def _drop_conflicts(
    p: Problem, ok: list[int], targets: Sequence[Target], unmet: list[UnmetTarget]
) -> _Kept:
    """Leave out (into ``unmet``) the targets the elastic LP cannot meet with the others."""
    y0, slack, binding = elastic(p, ok)
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
        y0 = elastic(p, sorted(keep)).point
    if y0 is None:
        y0 = np.zeros(p.n)
    return _Kept(keep, y0)


def _assemble(
    layouts: Mapping[str, SeriesLayout],
    y: np.ndarray,
    low: dict[str, np.ndarray],
    high: dict[str, np.ndarray],
    band: bool,
    unmet: list[UnmetTarget],
) -> _Component:
    """Month totals with their band, and segment counts, per series of the component."""
    frames, segs = [], {}
    for s, lay in layouts.items():
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
    return _Component(pd.concat(frames, ignore_index=True), segs, unmet)


def _origin_id(t: Target) -> str:
    return t.id.split("@", 1)[0]
