"""Figures of a scenario comparison: paired differences from the reference, per period."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from escalation.experiments.compare import PLOT_METRICS, Comparison
from escalation.observe.outcomes import label as outcome_label


def plot_difference(
    comparison: Comparison, metric: str, *, ax: plt.Axes | None = None, legend: bool = False
) -> plt.Axes:
    """One metric's difference from the reference per period (and overall), one colour per
    scenario: mean (dot), 90% interval of the mean (thick), 5-95% of run differences (thin)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 2.8))
    d = comparison.differences
    order = [p.name for p in comparison.periods if p.name in set(d["period"])] + ["overall"]
    others = list(comparison.names[1:])
    colours = matplotlib.color_sequences["tab10"]
    width = 0.8 / max(len(others), 1)
    for j, name in enumerate(others):
        sub = d[(d["metric"] == metric) & (d["scenario"] == name)].set_index("period")
        sub = sub.reindex([p for p in order if p in sub.index])
        x = np.array([order.index(p) for p in sub.index]) + (j - (len(others) - 1) / 2) * width
        c = colours[j % len(colours)]
        ax.vlines(x, sub["low"], sub["high"], color=c, lw=1, alpha=0.45)
        ax.vlines(x, sub["ci_low"], sub["ci_high"], color=c, lw=3.5)
        ax.plot(x, sub["mean_difference"], "o", color=c, ms=4, label=name if legend else None)
    ax.axhline(0, color="#444444", lw=0.8)
    ax.axvline(len(order) - 1.5, color="#999999", lw=0.8, ls="--")
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels(order, rotation=30, ha="right", fontsize=8)
    ax.set_title(f"{outcome_label(metric)}: difference", fontsize=10, loc="left")
    ax.grid(axis="y", color="#e0e0e0", lw=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(axis="y", labelsize=8)
    return ax


def plot_comparison(
    comparison: Comparison,
    metrics: Sequence[str] = PLOT_METRICS,
    path: str | Path | None = None,
) -> plt.Figure:
    """Every metric's differences from the reference (:func:`plot_difference`), two per row."""
    metrics = [m for m in metrics if m in set(comparison.differences["metric"])]
    n = len(metrics)
    ncols = 2
    nrows = (n + 1) // 2
    fig, axes = plt.subplots(nrows, ncols, figsize=(13, 2.6 * nrows + 1.4), squeeze=False)
    for k, metric in enumerate(metrics):
        plot_difference(comparison, metric, ax=axes[k // ncols][k % ncols], legend=k == 0)
    for k in range(n, nrows * ncols):
        axes[k // ncols][k % ncols].axis("off")
    fig.legend(loc="upper right", fontsize=9, frameon=False, title="scenario", title_fontsize=9)
    fig.suptitle(
        f"Difference from {comparison.names[0]} per period (paired runs, "
        f"{len(comparison.seeds)} seeds): dot = mean, thick = 90% interval of the mean, "
        "thin = 5-95% of run differences",
        fontsize=10.5,
        x=0.01,
        ha="left",
    )
    fig.tight_layout(rect=(0, 0, 0.88, 0.96))
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
