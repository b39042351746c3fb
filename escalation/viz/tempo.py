"""Plots of simulated tempo: ensemble medians and bands, truces shaded, events marked."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from escalation.observe.periods import Period
from escalation.record.loading import load_record
from escalation.record.overlap import TEMPO_PANELS, periods_of
from escalation.record.types import Record
from escalation.scenario import schema as C
from escalation.viz.history import draw_target

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


def truce_share(
    events: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, runs: int | None = None
) -> pd.Series:
    """Share of runs under a truce on each day, out of ``runs`` runs (by default, those that
    ``events`` holds: give the number when ``events`` holds only the truce actions)."""
    days = pd.date_range(start, end, freq="D")
    count = np.zeros(len(days))
    if runs is None:
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
) -> list:
    """Dotted lines across all panels; labels above the top panel."""
    for when, _ in events:
        for ax in axes:
            ax.axvline(when, color=EVENT_COLOUR, lw=0.7, ls=":", zorder=1)
    texts = []
    for when, label in merge_close(events):
        texts.append(
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
        )
    return texts


class Overlay(Protocol):
    """Observed data drawn on simulated tempo (provided by a plugin such as the record)."""

    def panels(self) -> list[tuple[str, str]]: ...

    def phases(self) -> list[Period]: ...

    def draw(self, ax: plt.Axes, series: str, start: pd.Timestamp, end: pd.Timestamp) -> bool: ...


PHASE_FILL = ("#ececec", "#f9f9f9")


def shade_phases(ax: plt.Axes, phases: Sequence[Period]) -> None:
    for i, p in enumerate(phases):
        ax.axvspan(
            pd.Timestamp(p.start), pd.Timestamp(p.end) + pd.Timedelta(days=1),
            color=PHASE_FILL[i % 2], lw=0, zorder=0,
        )  # fmt: skip


def phase_strip(ax: plt.Axes, phases: Sequence[Period]) -> None:
    """Phase names in a strip (short phases alternate between rows)."""
    short = 0
    for i, p in enumerate(phases):
        x0, x1 = pd.Timestamp(p.start), pd.Timestamp(p.end) + pd.Timedelta(days=1)
        ax.axvspan(x0, x1, color=PHASE_FILL[i % 2], lw=0)
        ax.axvline(x0, color="#bbbbbb", lw=0.6)
        if (x1 - x0).days >= 180:
            y = 0.5
        else:
            y = (0.78, 0.22, 0.5)[short % 3]
            short += 1
        ax.text(
            x0 + (x1 - x0) / 2, y, p.label or p.name, ha="center", va="center", fontsize=7.5,
            color="#222222", bbox={"facecolor": "white", "alpha": 0.7, "lw": 0, "pad": 0.5},
        )  # fmt: skip
    ax.set_yticks([])
    ax.set_ylim(0, 1)
    for side in ("left", "right", "top", "bottom"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="x", which="both", bottom=False, labelbottom=False)
    ax.set_ylabel("phases", fontsize=8, rotation=0, ha="right", va="center")


def default_panels(
    monthly: pd.DataFrame, scenario: C.Scenario, overlay: Overlay | None = None
) -> list[tuple[str, str]]:
    """The (series, title) panels of a tempo figure: the overlay's panels the runs report, else
    attacks on each target class that saw an attack (else all attacks)."""
    labels = _series_labels(scenario)
    panels: list[str | tuple[str, str]] | None = None
    if overlay is not None:
        panels = [p for p in overlay.panels() if p[0] in set(monthly["series"])]
    if panels is None:
        panels = []
        for tid in scenario.targets:
            name = f"attacks_{tid}"
            sub = monthly[monthly["series"] == name]
            if not sub.empty and sub["value"].sum() > 0:
                panels.append(name)
        panels = panels or ["attacks_all"]
    return [(p, labels.get(p, p)) if isinstance(p, str) else p for p in panels]


def draw_series(
    monthly: pd.DataFrame,
    series: str,
    title: str | None = None,
    *,
    ax: plt.Axes | None = None,
    phases: Sequence[Period] = (),
    truces: pd.Series | None = None,
    overlay: Overlay | None = None,
    period: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> tuple[plt.Axes, bool]:
    """One series' monthly median and 90% band across runs, on ``ax`` (or a new figure).

    Shades ``phases`` (or, without them, the days most runs spend under a truce, ``truces`` from
    :func:`truce_share`) and draws the ``overlay``'s observed data for the series within
    ``period``. Returns the axes and whether the overlay drew anything.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(12, 2.6))
    q = bands(monthly, series)
    x = month_starts(q.index) + pd.Timedelta(days=14)
    if phases:
        shade_phases(ax, phases)
    elif truces is not None:
        shade_truces(ax, truces)
    ax.fill_between(x, q["low"], q["high"], color=SIM_COLOUR, alpha=0.25, lw=0, zorder=2)
    ax.plot(x, q["median"], color=SIM_COLOUR, lw=1.6, zorder=3)
    drew = False
    if overlay is not None:
        start, end = period if period is not None else (x.min(), x.max())
        drew = bool(overlay.draw(ax, series, start, end))
    ax.set_ylim(bottom=0)
    ax.set_ylabel("attacks\nper month", fontsize=8)
    ax.text(
        0.005, 0.95, title or series, transform=ax.transAxes, fontsize=10, fontweight="bold",
        va="top", ha="left", zorder=8,
        bbox={"facecolor": "white", "alpha": 0.75, "lw": 0, "pad": 1.0},
    )  # fmt: skip
    ax.grid(axis="y", color="#dddddd", lw=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    return ax, drew


def plot_tempo(
    monthly: pd.DataFrame,
    scenario: C.Scenario,
    *,
    events: pd.DataFrame | None = None,
    panels: Sequence[str | tuple[str, str]] | None = None,
    overlay: Overlay | None = None,
    title: str | None = None,
    path: str | Path | None = None,
) -> plt.Figure:
    """Monthly tempo: ensemble median and 90% band per panel (:func:`draw_series`), events
    marked, the record's phases in a strip above.

    Args:
        monthly: tidy table with run, month, series, value (``Ensemble.monthly``).
        scenario: the scenario that was run (for labels and its event timeline).
        events: the ensemble's event log, or only its truce actions (to shade truces when
            there are no phases); optional.
        panels: series to draw, one panel each, as names or (name, title) pairs (default:
            :func:`default_panels`).
        overlay: observed data (the historical record) to draw where it has data, with its
            phases shaded.
        path: where to save the PNG (optional).
    """
    start, end = pd.Timestamp(scenario.start), pd.Timestamp(scenario.end)
    if panels is None:
        pairs = default_panels(monthly, scenario, overlay)
    else:
        labels = _series_labels(scenario)
        pairs = [(p, labels.get(p, p)) if isinstance(p, str) else p for p in panels]
    phases = overlay.phases() if overlay is not None else []
    n = len(pairs)
    strip = 0.55 if phases else 0.0
    height = 1.9 * n + 2.4 + strip
    fig = plt.figure(figsize=(12, height))
    grid = fig.add_gridspec(
        n + (1 if phases else 0), 1, height_ratios=([strip] if phases else []) + [1.9] * n
    )
    axes = [fig.add_subplot(grid[i + (1 if phases else 0), 0]) for i in range(n)]
    for ax in axes[1:]:
        ax.sharex(axes[0])
    share = None
    if events is not None and not phases:
        share = truce_share(events, start, end, runs=monthly["run"].nunique())
    drew_record = False
    for ax, (name, panel_title) in zip(axes, pairs, strict=True):
        _, drew = draw_series(
            monthly, name, panel_title, ax=ax, phases=phases, truces=share, overlay=overlay,
            period=(start, end),
        )  # fmt: skip
        drew_record |= drew
        ax.tick_params(axis="x", labelbottom=ax is axes[-1])
    label_ax = axes[0]
    if phases:
        label_ax = fig.add_subplot(grid[0, 0], sharex=axes[0])
        phase_strip(label_ax, phases)
    marked = [
        (pd.Timestamp(ev.date), ev.label)
        for _, ev in scenario.sorted_events()
        if ev.mark and start <= pd.Timestamp(ev.date) <= end
    ]
    labels_drawn = mark_events(axes, marked, label_ax)
    _year_axis(axes[-1], start, end)
    handles = _tempo_handles(monthly["run"].nunique(), share, drew_record)
    what = "simulated against the record" if drew_record else "simulated"
    _finish_tempo(fig, handles, title or f"Monthly attack tempo, {what}: {scenario.name}", height,
                  labels_drawn)  # fmt: skip
    if path is not None:
        fig.savefig(path, dpi=130)
    return fig


def _year_axis(ax: plt.Axes, start: pd.Timestamp, end: pd.Timestamp) -> None:
    ax.set_xlim(start, end)
    ax.xaxis.set_major_locator(mdates.YearLocator())
    ax.xaxis.set_minor_locator(mdates.MonthLocator(bymonth=(4, 7, 10)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))


def _tempo_handles(runs: int, share: pd.Series | None, drew_record: bool) -> list:
    handles = [
        plt.Line2D([], [], color=SIM_COLOUR, lw=1.6, label=f"simulated median ({runs} runs)"),
        plt.Rectangle((0, 0), 1, 1, color=SIM_COLOUR, alpha=0.25, label="simulated 90% band"),
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
    return handles


def _finish_tempo(
    fig: plt.Figure, handles: list, title: str, height: float, labels_drawn: list
) -> None:
    """Legend below, title above, and room for the rotated event labels between them."""
    fig.legend(
        handles=handles, loc="lower center", ncol=min(len(handles), 4), frameon=False,
        fontsize=8.5, bbox_to_anchor=(0.5, 0.0),
    )  # fmt: skip
    fig.suptitle(title, fontsize=13, x=0.01, ha="left", y=0.997)
    legend_rows = 2 if len(handles) > 4 else 1
    bottom = (0.3 + 0.2 * legend_rows) / height
    top = 1 - 1.2 / height
    fig.tight_layout(rect=(0, bottom, 0.97, top))
    if labels_drawn:  # fit the rotated event labels exactly between the panels and the title
        renderer = fig.canvas.get_renderer()
        highest = max(t.get_window_extent(renderer).y1 for t in labels_drawn)
        room = (1 - 0.42 / height) * fig.bbox.height
        top = min(0.97, top + (room - highest) / fig.bbox.height)
        fig.tight_layout(rect=(0, bottom, 0.97, top))


RECORD_COLOUR = "#c0392b"


def record_handles() -> list:
    """Legend entries for a historical-record overlay (levels are monthly averages)."""
    c = RECORD_COLOUR
    return [
        plt.Line2D([], [], color=c, lw=2.2, label="reported figure (monthly average)"),
        plt.Rectangle((0, 0), 1, 1, facecolor=c, alpha=0.25, edgecolor=c, label="reported range"),
        plt.Line2D([], [], color=c, marker="^", lw=1.5, label="reported 'at least'"),
        plt.Line2D([], [], color=c, marker="v", lw=1.5, label="reported 'at most'"),
        plt.Line2D([], [], color=c, marker="*", ls="none", ms=9, label="reported peak month"),
    ]


def _series_labels(scenario: C.Scenario) -> dict[str, str]:
    from escalation.experiments.runner import all_series

    return {name: spec.label for name, spec in all_series(scenario).items()}


class RecordOverlay:
    """Draws the record on simulated tempo panels (see :func:`plot_tempo`)."""

    def __init__(self, record: Record, scenario: C.Scenario) -> None:
        self.record = record
        self.scenario = scenario

    def series(self) -> dict[str, C.SeriesSpec]:
        """The record's observed series, for the runs to report."""
        return {sid: s.to_spec() for sid, s in self.record.series.items()}

    def panels(self) -> list[tuple[str, str]]:
        return [(sid, title) for sid, title in TEMPO_PANELS if sid in self.record.series]

    def phases(self) -> list[Period]:
        return periods_of(self.record, self.scenario)

    def draw(self, ax: Axes, series: str, start: pd.Timestamp, end: pd.Timestamp) -> bool:
        """Every used target on ``series`` inside the run's period, as monthly levels."""
        drawn = False
        for t in self.record.targets_for_series(series):
            if t.series != series or not t.within(start.date(), end.date()):
                continue
            drawn |= draw_target(ax, t, RECORD_COLOUR)
        return drawn


def record_overlay(scenario: C.Scenario) -> RecordOverlay | None:
    """The record overlay for a scenario whose dates overlap the record, else None."""
    record = load_record()
    if not periods_of(record, scenario):
        return None
    return RecordOverlay(record, scenario)
