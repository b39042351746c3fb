"""The calibration's figures: posterior marginals, pairs, and tempo under the posterior."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd

from escalation.calibration.loading import Calibration


def plot_marginals(cal: Calibration, posterior: pd.DataFrame, best: list[float], path: Path):
    """Weighted posterior histogram of each fitted value against its prior range."""
    names = cal.names
    n = len(names)
    ncols = 4
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(14, 2.3 * nrows + 0.8), squeeze=False)
    for k, name in enumerate(names):
        ax = axes[k // ncols][k % ncols]
        prior = cal.spec.parameters[name]
        lo, hi = prior.from_unit(0.0), prior.from_unit(1.0)
        bins = np.geomspace(lo, hi, 21) if prior.prior == "loguniform" else np.linspace(lo, hi, 21)
        ax.hist(
            posterior[name],
            bins=bins,
            weights=posterior["weight"],
            color="#1f5fa8",
            alpha=0.75,
            label="posterior",
        )
        ax.axhline(1 / 20, color="#999999", ls="--", lw=1, label="uniform prior (per bin)")
        ax.axvline(best[k], color="#c0392b", lw=1.5, label="best set")
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
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_pairs(cal: Calibration, posterior: pd.DataFrame, path: Path, most: int = 7) -> None:
    """Pairs of the fitted values that the data pin down most (narrowest posteriors)."""
    spread = {}
    for name in cal.names:
        prior = cal.spec.parameters[name]
        u = posterior[name].map(prior.to_unit)
        spread[name] = float(np.sqrt(np.cov(u, aweights=posterior["weight"])))
    names = sorted(spread, key=spread.get)[:most]
    n = len(names)
    fig, axes = plt.subplots(n, n, figsize=(1.9 * n + 1, 1.9 * n + 1), squeeze=False)
    w = posterior["weight"].to_numpy()
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            ax = axes[i][j]
            if i == j:
                ax.hist(posterior[a], bins=20, weights=w, color="#1f5fa8", alpha=0.75)
                ax.set_yticks([])
            elif i > j:
                ax.scatter(
                    posterior[b], posterior[a], s=6 + 400 * w, alpha=0.5, color="#1f5fa8", lw=0
                )
            else:
                ax.axis("off")
                continue
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
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _short(name: str) -> str:
    return name.replace("militia_defaults.", "").replace("militias.", "").replace("context.", "")


def plot_posterior_tempo(cal: Calibration, monthly: pd.DataFrame, path: Path) -> None:
    """Simulated tempo under the posterior (one run per draw) against the record."""
    from escalation.viz.tempo import RecordOverlay, plot_tempo

    overlay = RecordOverlay(cal.record, cal.scenario)
    fig = plot_tempo(
        monthly,
        cal.scenario,
        overlay=overlay,
        path=path,
        title=f"Calibrated tempo under the posterior against the record ({cal.spec.name})",
    )
    plt.close(fig)
