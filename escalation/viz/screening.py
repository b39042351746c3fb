"""The Morris screening of a calibration's fitted values: mu* per value against the seeds' floor."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from escalation.calibration.screening import NOISE

KEPT = "#1f5fa8"
DROPPED = "#b0b0b0"


def plot_screening(
    table: pd.DataFrame,
    kept: list[str] | None = None,
    ax: Axes | None = None,
    path: str | Path | None = None,
) -> Axes:
    """mu* of every fitted value on the fit's distance with its 95% bootstrap half-width, most
    influential at the top; the values in ``kept`` in colour, the seeds' floor as a line."""
    rows = table[table["name"] != NOISE].iloc[::-1]
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.17 * len(rows) + 1.4))
    keep = set(kept if kept is not None else rows["name"])
    colours = [KEPT if n in keep else DROPPED for n in rows["name"]]
    ax.barh(range(len(rows)), rows["mu_star"], xerr=rows["mu_star_conf"], color=colours,
            error_kw={"lw": 0.6, "color": "#555555"})  # fmt: skip
    floor = float(table.loc[table["name"] == NOISE, "mu_star"].iloc[0])
    line = ax.axvline(floor, color="#c0392b", ls="--", lw=1, label="seeds alone (the floor)")
    # an empty bar container carries no colour into the legend: name the patches
    handles = [
        line,
        Patch(color=KEPT, label="above the floor, or among the 3 largest movers of 4 targets"),
        Patch(color=DROPPED, label="neither"),
    ]
    ax.set_yticks(range(len(rows)), [_short(n) for n in rows["name"]], fontsize=6.5)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel("mu*: mean |elementary effect| on the RMS distance to the fit targets")
    ax.set_title("Which fitted values move the fit (Morris screening)", fontsize=10)
    ax.legend(handles=handles, loc="lower right", fontsize=8, frameon=False)
    if path is not None:
        fig = ax.get_figure(root=True)
        assert fig is not None  # the axes were drawn on above
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return ax


def _short(name: str) -> str:
    return name.replace("militia_defaults.", "").replace("militias.", "").replace("context.", "")
