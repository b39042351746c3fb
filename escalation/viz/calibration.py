"""Plots of a calibration: posterior marginals against the priors, posterior pairs, and the
simulated tempo under the posterior against the record.

Each single-panel function draws on the axes it is given (or on a new figure) and returns them;
the figure functions lay those panels out and save the PNG when given a path.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from escalation.calibration.loading import Calibration
from escalation.calibration.pipeline import CalibrationResult
from escalation.calibration.spec import Prior
from escalation.viz.tempo import RecordOverlay, plot_tempo

POSTERIOR_COLOUR = "#1f5fa8"
BEST_COLOUR = "#c0392b"


def plot_marginal(
    posterior: pd.DataFrame,
    name: str,
    prior: Prior,
    best: float | None = None,
    ax: Axes | None = None,
) -> Axes:
    """The weighted posterior histogram of one fitted value over its prior's range, with the
    uniform prior's height per bin and the best set's value."""
    if ax is None:
        _, ax = plt.subplots(figsize=(3.5, 2.3))
    lo, hi = prior.from_unit(0.0), prior.from_unit(1.0)
    bins = np.geomspace(lo, hi, 21) if prior.prior == "loguniform" else np.linspace(lo, hi, 21)
    ax.hist(
        posterior[name],
        bins=bins.tolist(),
        weights=posterior["weight"],
        color=POSTERIOR_COLOUR,
        alpha=0.75,
        label="posterior",
    )
    ax.axhline(1 / 20, color="#999999", ls="--", lw=1, label="uniform prior (per bin)")
    if best is not None:
        ax.axvline(best, color=BEST_COLOUR, lw=1.5, label="best set")
    if prior.prior == "loguniform":
        ax.set_xscale("log")
        # plain labels at 1, 2 and 5 of each decade (the default labels the minor ticks
        # too, in a larger font, and they run into each other)
        ax.xaxis.set_major_locator(mticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(mticker.FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(mticker.NullFormatter())
    ax.set_xlim(lo, hi)
    ax.set_title(
        name.replace("militia_defaults.", "all militias: ").replace("militias.", ""),
        fontsize=8.5,
        loc="left",
    )
    ax.tick_params(labelsize=7.5)
    ax.set_yticks([])
    return ax


def plot_marginals(
    cal: Calibration,
    posterior: pd.DataFrame,
    best: Sequence[float],
    path: str | Path | None = None,
) -> Figure:
    """Every fitted value's posterior marginal (:func:`plot_marginal`), four to a row."""
    names = cal.names
    n = len(names)
    ncols = 4
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(14, 2.3 * nrows + 0.8), squeeze=False)
    for k, name in enumerate(names):
        plot_marginal(
            posterior, name, cal.spec.parameters[name], best[k], axes[k // ncols][k % ncols]
        )
    for k in range(n, nrows * ncols):
        axes[k // ncols][k % ncols].axis("off")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", ncol=3, fontsize=9, frameon=False)
    fig.suptitle(
        f"Posterior marginals ({len(posterior)} particles, weighted): {cal.spec.name}",
        fontsize=12,
        x=0.01,
        ha="left",
    )
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.7 / fig.get_figheight()))  # room for the title
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


def plot_pair(posterior: pd.DataFrame, a: str, b: str, ax: Axes | None = None) -> Axes:
    """Value ``a`` against value ``b`` over the weighted posterior (dot size: weight); for
    ``a == b``, the weighted histogram of ``a``."""
    if ax is None:
        _, ax = plt.subplots(figsize=(2.5, 2.5))
    w = posterior["weight"].to_numpy()
    if a == b:
        ax.hist(posterior[a], bins=20, weights=w, color=POSTERIOR_COLOUR, alpha=0.75)
        ax.set_yticks([])
    else:
        ax.scatter(
            posterior[b], posterior[a], s=6 + 400 * w, alpha=0.5, color=POSTERIOR_COLOUR, lw=0
        )
    return ax


def best_identified(cal: Calibration, posterior: pd.DataFrame, most: int = 7) -> list[str]:
    """The ``most`` fitted values the data pin down most (narrowest posteriors, in prior
    quantiles)."""
    spread = {}
    for name in cal.names:
        prior = cal.spec.parameters[name]
        u = posterior[name].map(prior.to_unit)
        spread[name] = float(np.sqrt(np.cov(u, aweights=posterior["weight"])))
    return sorted(spread, key=spread.__getitem__)[:most]


def plot_pairs(
    cal: Calibration, posterior: pd.DataFrame, path: str | Path | None = None, most: int = 7
) -> Figure:
    """Pairs of the fitted values that the data pin down most (:func:`best_identified`)."""
    names = best_identified(cal, posterior, most)
    n = len(names)
    fig, axes = plt.subplots(n, n, figsize=(1.9 * n + 1, 1.9 * n + 1), squeeze=False)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            ax = axes[i][j]
            if i < j:
                ax.axis("off")
                continue
            plot_pair(posterior, a, b, ax)
            if i == n - 1:
                ax.set_xlabel(_short(b), fontsize=7)
            if j == 0 and i > 0:
                ax.set_ylabel(_short(a), fontsize=7)
            ax.tick_params(labelsize=6)
    fig.suptitle(
        "Posterior pairs of the best-identified values (dot size: weight)",
        fontsize=11,
        x=0.01,
        ha="left",
    )
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


def _short(name: str) -> str:
    return name.replace("militia_defaults.", "").replace("militias.", "").replace("context.", "")


def plot_posterior_tempo(
    cal: Calibration, monthly: pd.DataFrame, path: str | Path | None = None
) -> Figure:
    """Simulated tempo under the posterior (one run per draw) against the record."""
    return plot_tempo(
        monthly,
        cal.scenario,
        overlay=RecordOverlay(cal.record, cal.scenario),
        path=path,
        title=f"Calibrated tempo under the posterior against the record ({cal.spec.name})",
    )


def write_calibration_plots(cal: Calibration, result: CalibrationResult, out: Path) -> list[Path]:
    """marginals.png, pairs.png and tempo_posterior.png of a finished calibration in ``out``."""
    paths = [out / "marginals.png", out / "pairs.png", out / "tempo_posterior.png"]
    plt.close(plot_marginals(cal, result.posterior, result.best, paths[0]))
    plt.close(plot_pairs(cal, result.posterior, paths[1]))
    plt.close(plot_posterior_tempo(cal, result.monthly, paths[2]))
    return paths
