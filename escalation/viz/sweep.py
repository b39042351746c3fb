"""Sweep plots: response curves with bands, heatmaps, Sobol indices as bars."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from escalation.experiments.frontier import CASUALTIES, SPIRAL, TEMPO, Frontier
from escalation.experiments.sweep import SweepResult
from escalation.observe.outcomes import label as outcome_label

COLOUR = "#1f5fa8"


def param_label(name: str) -> str:
    return name.split(".", 1)[-1] if name.count(".") >= 1 else name


def _finish(fig: plt.Figure, title: str, path: Path, bottom: float = 0.0) -> Path:
    """Title the figure, lay it out (leaving ``bottom`` of its height free) and save it."""
    fig.suptitle(title, fontsize=12, x=0.01, ha="left")
    fig.tight_layout(rect=(0, bottom, 1, 0.97))
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _grid(n: int, ncols: int = 3) -> tuple[plt.Figure, list[plt.Axes]]:
    ncols = min(ncols, n)
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.3 * ncols, 3.1 * nrows + 0.9), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.axis("off")
    return fig, flat[:n]


def plot_response(
    runs: pd.DataFrame,
    param: str,
    outcome: str,
    *,
    declared: Sequence[object] | None = None,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """One outcome against one parameter: replicate median, mean and 5-95% band of the runs.

    A numeric parameter with many values is binned (the response is then averaged over the
    other parameters); ``declared`` keeps the order a sweep file gives its choices.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(4.3, 3.1))
    x = runs[param]
    y = runs[outcome].astype(float)
    if _is_numeric(x) and x.nunique() > 8:
        bins = np.unique(np.quantile(x, np.linspace(0, 1, 9)))
        key = pd.cut(x, bins, include_lowest=True)
        centre = x.groupby(key, observed=True).mean()
    else:
        key = x
        centre = None
    g = y.groupby(key, observed=True)
    med, lo, hi, mean = g.median(), g.quantile(0.05), g.quantile(0.95), g.mean()
    if declared is not None and centre is None:
        order = [v for v in declared if v in med.index]
        med, lo, hi, mean = (s.reindex(order) for s in (med, lo, hi, mean))
    if centre is not None:
        xs = centre.reindex(med.index).to_numpy()
    elif _is_numeric(x):
        xs = med.index.to_numpy(dtype=float)
    else:
        xs = np.arange(len(med))
        ax.set_xticks(xs)
        ax.set_xticklabels([str(v) for v in med.index], rotation=20, fontsize=8)
    ax.fill_between(xs, lo, hi, color=COLOUR, alpha=0.2, lw=0, label="5-95% of runs")
    ax.plot(xs, med, color=COLOUR, lw=1.8, marker="o", ms=3, label="median")
    ax.plot(xs, mean, color=COLOUR, lw=0.9, ls="--", label="mean")
    ax.set_xlabel(param_label(param), fontsize=9)
    ax.set_ylabel(outcome_label(outcome), fontsize=9)
    ax.set_ylim(bottom=0)
    ax.grid(color="#e6e6e6", lw=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    return ax


def response_curves(result: SweepResult, outcomes: Sequence[str], path: Path) -> Path:
    """One panel per (parameter, outcome) (:func:`plot_response`)."""
    params = result.sweep.parameters
    panels = [(p, o) for p in params for o in outcomes]
    fig, axes = _grid(len(panels))
    for ax, (param, outcome) in zip(axes, panels, strict=True):
        declared = result.sweep.spec.parameters[param].values
        plot_response(result.runs, param, outcome, declared=declared, ax=ax)
    axes[0].legend(fontsize=8, frameon=False)
    n = len(result.runs)
    return _finish(
        fig,
        f"{result.sweep.spec.name}: response of each outcome ({n} runs, "
        f"{result.sweep.spec.replicates} per point)",
        path,
    )


def plot_heatmap(
    runs: pd.DataFrame, a: str, b: str, outcome: str, *, ax: plt.Axes | None = None
) -> plt.Axes:
    """The mean of an outcome over the grid of two parameters (``a`` across, ``b`` up), with
    the values written in the cells when there are few, and a colour bar."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4.3, 3.1))
    table = runs.pivot_table(index=b, columns=a, values=outcome, aggfunc="mean")
    im = ax.imshow(table.to_numpy(), origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(table.shape[1]))
    ax.set_xticklabels([_fmt(v) for v in table.columns], fontsize=8, rotation=30)
    ax.set_yticks(range(table.shape[0]))
    ax.set_yticklabels([_fmt(v) for v in table.index], fontsize=8)
    ax.set_xlabel(param_label(a), fontsize=9)
    ax.set_ylabel(param_label(b), fontsize=9)
    ax.set_title(f"{outcome_label(outcome)} (mean)", fontsize=10, loc="left")
    values = table.to_numpy()
    if values.size <= 64:
        top = np.nanmax(values) if np.isfinite(values).any() else 0
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                ax.text(
                    j, i, _fmt(v), ha="center", va="center", fontsize=7,
                    color="white" if v < 0.6 * top else "black",
                )  # fmt: skip
    ax.figure.colorbar(im, ax=ax, shrink=0.85)
    return ax


def heatmaps(result: SweepResult, outcomes: Sequence[str], path: Path) -> Path:
    """For two parameters: the replicate mean of each outcome over the grid."""
    a, b = result.sweep.parameters[:2]
    fig, axes = _grid(len(outcomes))
    for ax, outcome in zip(axes, outcomes, strict=True):
        plot_heatmap(result.runs, a, b, outcome, ax=ax)
    return _finish(
        fig,
        f"{result.sweep.spec.name}: mean over {result.sweep.spec.replicates} runs per cell",
        path,
    )


def plot_sensitivity(
    sensitivity: pd.DataFrame,
    outcome: str,
    params: Sequence[str],
    *,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Sobol first-order (S1) and total (ST) indices of one outcome, with 95% confidence; an
    index whose interval is wider than its estimate (``<index>_informative`` False) is hatched
    and faded, since it cannot be told from no effect."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4.3, 3.1))
    y = np.arange(len(params))
    sub = sensitivity[sensitivity["outcome"] == outcome].set_index("parameter").reindex(params)
    st = ax.barh(
        y + 0.2, sub["ST"], 0.38, xerr=sub["ST_conf"], color="#9bb8d8", label="total (ST)",
        error_kw={"lw": 0.8},
    )  # fmt: skip
    s1 = ax.barh(
        y - 0.2, sub["S1"], 0.38, xerr=sub["S1_conf"], color=COLOUR, label="first order (S1)",
        error_kw={"lw": 0.8},
    )  # fmt: skip
    for index, bars in (("ST", st), ("S1", s1)):
        flags = sub.get(f"{index}_informative")
        if flags is None:  # a table from before the flags
            continue
        for patch, informative in zip(bars.patches, flags, strict=True):
            if not pd.isna(informative) and not informative:
                patch.set_hatch("////")
                patch.set_alpha(0.45)
    ax.set_yticks(y)
    ax.set_yticklabels([param_label(p) for p in params], fontsize=8)
    ax.axvline(0, color="#444444", lw=0.7)
    ax.set_title(outcome_label(outcome), fontsize=10, loc="left")
    ax.set_xlabel("share of variance", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def sensitivity_bars(result: SweepResult, outcomes: Sequence[str], path: Path) -> Path:
    """Sobol indices of every outcome (:func:`plot_sensitivity`)."""
    s = result.sensitivity
    assert s is not None
    outcomes = [o for o in outcomes if o in set(s["outcome"])]
    fig, axes = _grid(len(outcomes))
    for ax, outcome in zip(axes, outcomes, strict=True):
        plot_sensitivity(s, outcome, result.sweep.parameters, ax=ax)
    handles = [
        Patch(color="#9bb8d8", label="total (ST)"),
        Patch(color=COLOUR, label="first order (S1)"),
        Patch(
            facecolor="#9bb8d8", alpha=0.45, hatch="////", label="interval wider than the estimate"
        ),
    ]
    fig.legend(handles=handles, fontsize=9, frameon=False, loc="lower center", ncol=3)
    return _finish(
        fig,
        f"{result.sweep.spec.name}: Sobol sensitivity indices (bars: 95% confidence)",
        path,
        bottom=0.3 / fig.get_figheight(),
    )


def _fmt(v) -> str:
    if isinstance(v, float | np.floating):
        return f"{v:.3g}"
    return str(v)


def plot_sweep(result: SweepResult, out: Path, outcomes: Sequence[str] | None = None) -> list[Path]:
    """Every plot the sweep's design supports; returns the files written."""
    outcomes = list(outcomes or result.sweep.spec.outcomes)[:6]
    written = []
    params = result.sweep.parameters
    design = result.sweep.spec.design.method
    if len(params) == 2 and design == "grid":
        written.append(heatmaps(result, outcomes, out / "heatmap.png"))
    written.append(
        response_curves(
            result, outcomes if len(params) == 1 else outcomes[:3], out / "response.png"
        )
    )
    if result.sensitivity is not None and not result.sensitivity.empty:
        written.append(sensitivity_bars(result, outcomes, out / "sensitivity.png"))
    return written


EFFECT_COLOURS = {"deters": "#2e7d32", "provokes": "#c0392b", "unclear": "#8c8c8c"}


def plot_frontier(
    frontier: Frontier, *, label: str | None = None, ax: plt.Axes | None = None
) -> plt.Axes:
    """Each doctrine (sweep point) by its attacks on US targets and US casualties per run, with
    90% intervals of both means; colour says whether it deters or provokes against no
    retaliation (the cross), size its spiral risk; the frontier joins the points no other beats
    on both."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 5.5))
    pts, ref = frontier.points, frontier.reference
    for effect, colour in EFFECT_COLOURS.items():
        sub = pts[pts["effect"] == effect]
        if sub.empty:
            continue
        ax.errorbar(
            sub[TEMPO], sub[CASUALTIES], xerr=sub[f"{TEMPO}_pm90"], yerr=sub[f"{CASUALTIES}_pm90"],
            fmt="none", ecolor=colour, alpha=0.35, lw=0.8, zorder=2,
        )  # fmt: skip
        ax.scatter(
            sub[TEMPO], sub[CASUALTIES], s=20 + 180 * sub[SPIRAL].clip(0, 1), color=colour,
            alpha=0.8, edgecolor="white", lw=0.5, zorder=3, label=f"{effect} ({len(sub)})",
        )  # fmt: skip
    front = pts[pts["on_frontier"]].sort_values(TEMPO)
    ax.plot(front[TEMPO], front[CASUALTIES], color="#333333", lw=1.2, ls="--", zorder=4,
            label="frontier")  # fmt: skip
    ax.plot(ref[TEMPO], ref[CASUALTIES], marker="X", ms=11, color="black", ls="none", zorder=5,
            label="no retaliation")  # fmt: skip
    ax.axvline(ref[TEMPO], color="#999999", lw=0.8, ls=":")
    ax.set_xlabel("attacks on US targets per run (mean, 90% interval)", fontsize=9)
    ax.set_ylabel("US wounded and killed per run (mean, 90% interval)", fontsize=9)
    ax.grid(color="#e6e6e6", lw=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    legend = ax.legend(fontsize=8, frameon=False, title="dot size: share of runs that spiral",
                       title_fontsize=8, loc="best")  # fmt: skip
    for handle in legend.legend_handles:
        if handle is not None and hasattr(handle, "set_sizes"):
            handle.set_sizes([60])
    if label:
        ax.set_title(label, fontsize=10, loc="left")
    return ax


def frontier_figure(frontier: Frontier, name: str, path: Path) -> Path:
    """The frontier of a sweep as its own figure."""
    fig, ax = plt.subplots(figsize=(8.5, 6))
    plot_frontier(frontier, ax=ax)
    counts = frontier.points["effect"].value_counts()
    return _finish(
        fig,
        f"{name}: deterrence frontier ({len(frontier.points)} points: "
        f"{counts.get('deters', 0)} deter, {counts.get('provokes', 0)} provoke, "
        f"{counts.get('unclear', 0)} unclear)",
        path,
    )
