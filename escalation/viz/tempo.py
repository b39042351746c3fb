"""Plots of simulated tempo: ensemble medians and bands, truces shaded, events marked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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
from escalation.record.types import Record, Target
from escalation.scenario import schema as C
from escalation.viz.history import draw_target, target_marks
from escalation.viz.labels import (
    BADGE_INCHES,
    EVENT_COLOUR,
    PHASE_FILL,
    ROW_INCHES,
    Axis,
    Marked,
    badge_rows,
    event_key,
    event_strip,
    key_rows,
    mark_events,
    marked_events,
    phase_rows,
    phase_strip,
)

SIM_COLOUR = "#1f5fa8"
TRUCE_COLOUR = "#9bbf85"


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


class Overlay(Protocol):
    """Observed data drawn on simulated tempo (provided by a plugin such as the record)."""

    def panels(self) -> list[tuple[str, str]]: ...

    def phases(self) -> list[Period]: ...

    def draw(self, ax: plt.Axes, series: str, start: pd.Timestamp, end: pd.Timestamp) -> bool: ...


def shade_phases(ax: plt.Axes, phases: Sequence[Period]) -> None:
    for i, p in enumerate(phases):
        ax.axvspan(
            pd.Timestamp(p.start), pd.Timestamp(p.end) + pd.Timedelta(days=1),
            color=PHASE_FILL[i % 2], lw=0, zorder=0,
        )  # fmt: skip


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
    layout = _Layout.of(len(pairs), marked_events(scenario), phases, Axis(start, end, AXIS_INCHES))
    fig = plt.figure(figsize=(FIG_WIDTH, layout.height))
    grid = fig.add_gridspec(len(layout.ratios), 1, height_ratios=layout.ratios)
    first = len(layout.ratios) - len(pairs)
    axes = [fig.add_subplot(grid[first + i, 0]) for i in range(len(pairs))]
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
    if layout.events:
        event_strip(fig.add_subplot(grid[0, 0], sharex=axes[0]), layout.events, layout.badges)
        mark_events(axes, layout.events)
    if phases:
        phase_strip(fig.add_subplot(grid[first - 1, 0], sharex=axes[0]), phases, layout.phases)
    _year_axis(axes[-1], start, end)
    handles = _tempo_handles(monthly["run"].nunique(), share, drew_record)
    what = "simulated against the record" if drew_record else "simulated"
    _finish_tempo(fig, handles, title or f"Monthly attack tempo, {what}: {scenario.name}", layout)
    if path is not None:
        fig.savefig(path, dpi=130)
    return fig


FIG_WIDTH = 12.0
"""Width of the tempo figure in inches."""
AXIS_INCHES = 10.5
"""Width its panels take (the rest holds the axis labels), for placing labels before drawing."""
KEY_COLUMNS = 3
"""Columns of the event key below the tempo figure."""
PANEL_INCHES = 1.9


@dataclass(frozen=True)
class _Layout:
    """Where a tempo figure's parts go: the rows of badges and phase names, the heights of the
    strips, panels and event key, and the figure's height (inches)."""

    events: list[Marked]
    badges: list[int]
    phases: list[int]
    ratios: list[float]
    key: float
    height: float

    @classmethod
    def of(cls, n: int, events: list[Marked], phases: list[Period], axis: Axis) -> _Layout:
        badges = badge_rows(events, axis)
        names = phase_rows(phases, axis, 7.5)
        ratios = []
        if events:
            ratios.append((max(badges) + 1) * BADGE_INCHES + 0.08)
        if phases:
            ratios.append(max(max(names) + 1, 1) * ROW_INCHES + 0.1)
        ratios += [PANEL_INCHES] * n
        key = key_rows(events, KEY_COLUMNS) * ROW_INCHES
        height = sum(ratios) + 0.25 * (len(ratios) - 1) + 1.9 + key
        return cls(events, badges, names, ratios, key, height)


def _year_axis(ax: plt.Axes, start: pd.Timestamp, end: pd.Timestamp) -> None:
    ax.set_xlim(start, end)
    ax.xaxis.set_major_locator(mdates.YearLocator())
    ax.xaxis.set_minor_locator(mdates.MonthLocator(bymonth=(4, 7, 10)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))


def _tempo_handles(runs: int, share: pd.Series | None, drew_record: bool) -> list:
    handles = [
        plt.Line2D([], [], color=SIM_COLOUR, lw=1.6, label=f"simulated median ({runs} runs)"),
        plt.Rectangle((0, 0), 1, 1, color=SIM_COLOUR, alpha=0.25, label="simulated 90% band"),
        plt.Line2D([], [], color=EVENT_COLOUR, lw=0.8, ls=":", label="event (numbered, key below)"),
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


def _finish_tempo(fig: plt.Figure, handles: list, title: str, layout: _Layout) -> None:
    """Title above; below the panels the legend, then the key of numbered events."""
    height = layout.height
    legend_rows = 2 if len(handles) > 4 else 1
    key_top = (0.12 + layout.key) / height
    fig.legend(
        handles=handles, loc="lower center", ncol=min(len(handles), 4), frameon=False,
        fontsize=8.5, bbox_to_anchor=(0.5, key_top + 0.06 / height),
    )  # fmt: skip
    if layout.events:
        event_key(fig, layout.events, key_top, KEY_COLUMNS)
    fig.suptitle(title, fontsize=13, x=0.01, ha="left", y=1 - 0.08 / height)
    bottom = (0.12 + layout.key + 0.3 + 0.22 * legend_rows) / height
    fig.tight_layout(rect=(0, bottom, 0.97, 1 - 0.3 / height))


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

    def targets(self, series: str, start: pd.Timestamp, end: pd.Timestamp) -> list[Target]:
        """The record's figures on ``series`` that lie inside the run's period."""
        return [
            t
            for t in self.record.targets_for_series(series)
            if t.series == series and t.within(start.date(), end.date())
        ]

    def draw(self, ax: Axes, series: str, start: pd.Timestamp, end: pd.Timestamp) -> bool:
        """Every used target on ``series`` inside the run's period, as monthly levels."""
        drawn = False
        for t in self.targets(series, start, end):
            drawn |= draw_target(ax, t, RECORD_COLOUR)
        return drawn

    def marks(self, series: str, start: pd.Timestamp, end: pd.Timestamp) -> list[dict]:
        """What :meth:`draw` draws, as data: per figure its marks (:func:`target_marks`) and a
        line saying what the source reports, for pages that draw the record themselves."""
        out = []
        for t in self.targets(series, start, end):
            marks = target_marks(t)
            if marks:
                files = ", ".join(sorted({s.file for s in t.sources}))
                text = f"{t.definition} Reported: {t.value.describe()} ({t.window}; {files})"
                out.append({"id": t.id, "text": text, "marks": marks})
        return out


def record_overlay(scenario: C.Scenario) -> RecordOverlay | None:
    """The record overlay for a scenario whose dates overlap the record, else None."""
    record = load_record()
    if not periods_of(record, scenario):
        return None
    return RecordOverlay(record, scenario)
