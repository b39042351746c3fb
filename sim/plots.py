"""Plots of simulated tempo: ensemble medians and bands, truces shaded, events marked."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sim import config as C

Overlay = Callable[[plt.Axes, str, pd.Timestamp, pd.Timestamp], bool]
"""Draws observed data for one simulated series on an axis; returns whether it drew anything."""

SIM_COLOUR = "#1f5fa8"
TRUCE_COLOUR = "#9bbf85"
EVENT_COLOUR = "#555555"


def month_starts(months: Sequence[str]) -> pd.DatetimeIndex:
    return pd.PeriodIndex(list(months), freq="M").to_timestamp()


def bands(
    monthly: pd.DataFrame, series: str, quantiles: tuple[float, float, float] = (0.05, 0.5, 0.95)
) -> pd.DataFrame:
    """Per month: quantiles across runs of one series (columns low, median, high)."""
    sub = monthly[monthly["series"] == series]
    wide = sub.pivot(index="month", columns="run", values="value")
    q = wide.quantile(list(quantiles), axis=1).T
    q.columns = ["low", "median", "high"]
    return q


def truce_share(events: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Share of runs under a truce on each day."""
    days = pd.date_range(start, end, freq="D")
    count = np.zeros(len(days))
    runs = events["run"].nunique() if "run" in events else 1
    marks = events[events["action"].isin(["truce_declare", "truce_end"])]
    for _, run_events in marks.groupby("run") if "run" in marks else [(0, marks)]:
        active_from = None
        for row in run_events.sort_values("day").itertuples():
            if row.action == "truce_declare":
                active_from = row.day
            elif active_from is not None:
                count[active_from : row.day] += 1
                active_from = None
        if active_from is not None:
            count[active_from:] += 1
    return pd.Series(count / max(runs, 1), index=days)


def shade_truces(ax: plt.Axes, share: pd.Series, threshold: float = 0.5) -> None:
    """Shade periods when at least ``threshold`` of runs are under a truce."""
    on = share >= threshold
    if not on.any():
        return
    edges = np.flatnonzero(np.diff(np.r_[0, on.to_numpy().astype(int), 0]))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        ax.axvspan(share.index[a], share.index[b - 1], color=TRUCE_COLOUR, alpha=0.25, lw=0)


def merge_close(
    events: Sequence[tuple[pd.Timestamp, str]], days: int = 12
) -> list[tuple[pd.Timestamp, str]]:
    """Join labels of events less than ``days`` apart, so labels do not overprint."""
    merged: list[tuple[pd.Timestamp, str]] = []
    for when, label in sorted(events):
        if merged and (when - merged[-1][0]).days < days:
            merged[-1] = (merged[-1][0], f"{merged[-1][1]}; {label}")
        else:
            merged.append((when, label))
    return merged


def mark_events(
    axes: Sequence[plt.Axes], events: Sequence[tuple[pd.Timestamp, str]], label_ax: plt.Axes
) -> None:
    """Dotted lines across all panels; labels above the top panel."""
    for when, _ in events:
        for ax in axes:
            ax.axvline(when, color=EVENT_COLOUR, lw=0.7, ls=":", zorder=1)
    for when, label in merge_close(events):
        label_ax.annotate(
            textwrap.fill(label, 30),
            xy=(when, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(0, 4),
            textcoords="offset points",
            rotation=55,
            rotation_mode="anchor",
            ha="left",
            va="bottom",
            fontsize=7.5,
            linespacing=1.0,
            color="#333333",
        )


def plot_tempo(
    monthly: pd.DataFrame,
    scenario: C.Scenario,
    *,
    events: pd.DataFrame | None = None,
    series: Sequence[str] | None = None,
    overlay: Overlay | None = None,
    title: str | None = None,
    path: str | Path | None = None,
) -> plt.Figure:
    """Monthly attacks by target class: ensemble median and 90% band, events marked.

    Args:
        monthly: tidy table with run, month, series, value (``Ensemble.monthly``).
        scenario: the scenario that was run (for labels and its event timeline).
        events: the ensemble's event log (to shade truces); optional.
        series: which series to draw, one panel each (default: attacks on each target class
            that saw any attack).
        overlay: draws the historical record on a panel where it has data.
        path: where to save the PNG (optional).
    """
    if series is None:
        series = []
        for tid in scenario.targets:
            name = f"attacks_{tid}"
            sub = monthly[monthly["series"] == name]
            if not sub.empty and sub["value"].sum() > 0:
                series.append(name)
        series = series or ["attacks_all"]
    start, end = pd.Timestamp(scenario.start), pd.Timestamp(scenario.end)
    labels = _series_labels(scenario)
    n = len(series)
    height = 1.9 * n + 2.4
    fig, axes = plt.subplots(n, 1, figsize=(12, height), sharex=True, squeeze=False)
    axes = axes[:, 0]
    share = truce_share(events, start, end) if events is not None else None
    runs = monthly["run"].nunique()
    drew_record = False
    for ax, name in zip(axes, series, strict=True):
        q = bands(monthly, name)
        x = month_starts(q.index) + pd.Timedelta(days=14)
        ax.fill_between(x, q["low"], q["high"], color=SIM_COLOUR, alpha=0.22, lw=0, step=None)
        ax.plot(x, q["median"], color=SIM_COLOUR, lw=1.6)
        if share is not None:
            shade_truces(ax, share)
        if overlay is not None:
            drew_record |= bool(overlay(ax, name, start, end))
        ax.set_ylim(bottom=0)
        ax.set_ylabel("attacks\nper month", fontsize=8)
        ax.text(
            0.005,
            0.93,
            labels.get(name, name),
            transform=ax.transAxes,
            fontsize=10,
            fontweight="bold",
            va="top",
            ha="left",
        )
        ax.grid(axis="y", color="#dddddd", lw=0.6)
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=8)
    marked = [
        (pd.Timestamp(ev.date), ev.label)
        for _, ev in scenario.sorted_events()
        if ev.mark and start <= pd.Timestamp(ev.date) <= end
    ]
    mark_events(axes, marked, axes[0])
    axes[-1].set_xlim(start, end)
    axes[-1].xaxis.set_major_locator(mdates.YearLocator())
    axes[-1].xaxis.set_minor_locator(mdates.MonthLocator(bymonth=(4, 7, 10)))
    axes[-1].xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    handles = [
        plt.Line2D([], [], color=SIM_COLOUR, lw=1.6, label=f"simulated median ({runs} runs)"),
        plt.Rectangle((0, 0), 1, 1, color=SIM_COLOUR, alpha=0.22, label="simulated 90% band"),
        plt.Line2D([], [], color=EVENT_COLOUR, lw=0.8, ls=":", label="event in the scenario"),
    ]
    if share is not None and (share >= 0.5).any():
        handles.append(
            plt.Rectangle(
                (0, 0), 1, 1, color=TRUCE_COLOUR, alpha=0.35, label="truce (in most runs)"
            )
        )
    if drew_record:
        handles += record_handles()
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=len(handles),
        frameon=False,
        fontsize=8.5,
        bbox_to_anchor=(0.5, 0.0),
    )
    fig.suptitle(
        title or f"Simulated attack tempo by target class: {scenario.name}",
        fontsize=13,
        x=0.01,
        ha="left",
        y=0.995,
    )
    fig.tight_layout(rect=(0, 0.45 / height, 0.97, 1 - 1.75 / height))
    if path is not None:
        fig.savefig(path, dpi=130)
    return fig


RECORD_COLOUR = "#c0392b"


def record_handles() -> list:
    """Legend entries for a historical-record overlay."""
    return [
        plt.Rectangle(
            (0, 0),
            1,
            1,
            facecolor="none",
            edgecolor=RECORD_COLOUR,
            lw=1.2,
            label="observed (window, range)",
        )
    ]


def _series_labels(scenario: C.Scenario) -> dict[str, str]:
    from sim.runner import all_series

    return {name: spec.label for name, spec in all_series(scenario).items()}
