"""Scenario discovery figures: PRIM's trade-off between coverage and density along the peeling
trajectory, and the chosen box drawn over each parameter's range."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from escalation.experiments.discover import Discovery
from escalation.files import write_figure
from escalation.viz.sweep import COLOUR, param_label

IN_BOX = "#1f5fa8"
OUT_OF_BOX = "#d0d7e2"


def plot_tradeoff(discovery: Discovery, ax: Axes | None = None) -> Axes:
    """Coverage against density of every box on the peeling trajectory, coloured by how many
    parameters it restricts; the chosen box is ringed, the density threshold dashed."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 4.2))
    steps = discovery.prim.trajectory
    coverage = np.array([s.coverage for s in steps])
    density = np.array([s.density for s in steps])
    restricted = np.array([len(s.restricted) for s in steps])
    ax.plot(coverage, density, color="#9aa5b5", lw=1, zorder=1)
    dots = ax.scatter(
        coverage, density, c=restricted, cmap="viridis", s=36, zorder=2, vmin=0,
        vmax=max(int(restricted.max()), 1),
    )  # fmt: skip
    chosen = discovery.prim.chosen
    ax.scatter(
        coverage[chosen], density[chosen], s=170, facecolors="none", edgecolors="#c0392b",
        linewidths=1.8, zorder=3, label=f"chosen box ({chosen})",
    )  # fmt: skip
    threshold = discovery.prim.settings.threshold
    ax.axhline(threshold, color="#c0392b", ls="--", lw=0.9, label=f"threshold {threshold:g}")
    for i in (0, chosen, len(steps) - 1):
        ax.annotate(str(i), (coverage[i], density[i]), xytext=(4, 4), textcoords="offset points")
    ax.set_xlabel("coverage: share of the cases of interest inside")
    ax.set_ylabel("density: share of the box of interest")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.05)
    top = max(int(restricted.max()), 1)
    ax.figure.colorbar(
        dots, ax=ax, label="parameters restricted", shrink=0.85, ticks=range(top + 1)
    )
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    ax.set_title("Peeling trajectory", loc="left", fontsize=11)
    return ax


def _rows(discovery: Discovery) -> list[str]:
    """The parameters to draw: the chosen box's restrictions first, then the others."""
    restricted = list(discovery.box.restricted)
    return restricted + [p for p in discovery.parameters if p not in restricted]


def _draw_range(ax: Axes, y: float, discovery: Discovery, name: str) -> None:
    step, initial = discovery.box, discovery.prim.initial
    floor, ceiling = initial.ranges[name]
    low, high = step.limits.ranges[name]
    span = (ceiling - floor) or 1.0
    ax.barh(y, 1.0, left=0.0, height=0.5, color=OUT_OF_BOX)
    ax.barh(y, (high - low) / span, left=(low - floor) / span, height=0.5, color=IN_BOX)


def _draw_values(ax: Axes, y: float, discovery: Discovery, name: str) -> None:
    everything = discovery.prim.initial.values[name]
    order = discovery.declared.get(name) or sorted(everything, key=str)
    order = [v for v in order if v in everything]
    kept = discovery.box.limits.values[name]
    width = 1.0 / len(order)
    for j, value in enumerate(order):
        inside = value in kept
        ax.barh(
            y, width * 0.92, left=j * width, height=0.5,
            color=IN_BOX if inside else OUT_OF_BOX,
        )  # fmt: skip
        ax.text(
            (j + 0.46) * width, y, str(value), ha="center", va="center", fontsize=7,
            color="white" if inside else "#445",
        )  # fmt: skip


def plot_box(discovery: Discovery, ax: Axes | None = None) -> Axes:
    """The chosen box over each swept parameter's range (blue: inside), with its limits and
    quasi-p values; restricted parameters come first."""
    names = _rows(discovery)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.6 * len(names) + 1.4))
    step = discovery.box
    for i, name in enumerate(names):
        y = len(names) - 1 - i
        if name in step.limits.ranges:
            _draw_range(ax, y, discovery, name)
        else:
            _draw_values(ax, y, discovery, name)
        note = discovery.limits_text(step, name) if name in step.restricted else "not restricted"
        qp = [p for p in step.quasi_p.get(name, ()) if not np.isnan(p)]
        if qp:
            note += "   quasi-p " + ", ".join(f"{p:.2g}" for p in qp)
        ax.text(1.02, y, note, va="center", fontsize=8, transform=ax.transData)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels([param_label(n) for n in reversed(names)], fontsize=9)
    ax.set_xlim(0, 1)
    ax.set_xticks([0, 1])
    ax.set_xticklabels(["lowest swept", "highest swept"], fontsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(
        f"Box {discovery.prim.chosen}: coverage {step.coverage:.2f}, density {step.density:.2f}"
        f" ({step.k} of {step.n} {discovery.per}s)",
        loc="left",
        fontsize=11,
    )
    return ax


def discovery_figure(discovery: Discovery, path: Path) -> Path:
    """The trade-off and the chosen box side by side, saved atomically to ``path``."""
    rows = len(discovery.parameters)
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(15, max(5.0, 0.6 * rows + 2.4)), gridspec_kw={"width_ratios": [1, 1.3]}
    )
    plot_tradeoff(discovery, ax=left)
    plot_box(discovery, ax=right)
    fig.suptitle(
        f"Where {discovery.condition.text}: PRIM over {len(discovery.cases)} "
        f"{discovery.per}s of the sweep in {discovery.source}",
        x=0.01,
        ha="left",
        fontsize=12,
        color=COLOUR,
    )
    fig.tight_layout(rect=(0, 0, 0.87, 0.94))
    write_figure(path, fig, dpi=120)
    plt.close(fig)
    return path
