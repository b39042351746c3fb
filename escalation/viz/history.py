"""Plots of the historical record: reported figures, reconstruction, phases and key events.

Reported figures are drawn as monthly averages over the window they cover (attacks per month):
exact figures as a line, ranges and approximate figures as boxes, "at least" with an upward and
"at most" with a downward triangle, "none" as a thick line at zero, monthly highs as a dashed line.
A figure for less than a month is a lower bound on its month (a triangle at the count). Ratios
and shares are not levels and are not drawn.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory
from matplotlib.typing import LegendLocType

from escalation.record.reconstruct import Reconstruction
from escalation.record.types import Record, Target

__all__ = ["DEFAULT_PANELS", "plot_history", "write_history_png"]

_MONTH_DAYS = 365.25 / 12
_COLORS = ("#1f5fa8", "#c0392b", "#2e8b57", "#8e44ad", "#d35400", "#555555")
_PHASE_FILL = ("#efefef", "#fbfbfb")

#: Panels of the overview figure: (title, series drawn in it).
DEFAULT_PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Attacks on Iraqi bases hosting US forces (ACLED)", ("acled_us_base",)),
    ("Attacks on US/Coalition logistics convoys (ACLED)", ("acled_us_convoy",)),
    ("Attacks on Turkish bases in northern Iraq (ACLED)", ("acled_turkish_base",)),
    (
        "'Morality' attacks: liquor stores, nightclubs, massage parlours (ACLED)",
        ("acled_domestic",),
    ),
    (
        "Attacks on US forces in Iraq and Syria (CTC compilation; DoD count)",
        ("ctc_us_forces", "dod_us_forces"),
    ),
)

_CAPTION = (
    "How to read: marks are figures reported in the five source documents, drawn as monthly "
    "averages over the period each covers (solid line = exact figure; box = range, or "
    "'approximately' +-15%; up/down triangle = 'at least' / 'at most'; thick line on zero = none; "
    "dashed line = highest single month; star = month of the peak). The stepped line and its "
    "shading are a RECONSTRUCTION from these published aggregates, not observed monthly data: the "
    "smoothest monthly series consistent with every figure, and the range that similarly smooth "
    "series could take. Alternating grey bands are the phases named in the top strip; dotted "
    "verticals are the key events named in the bottom strip."
)


def _months(t: Target) -> float:
    return t.window.days / _MONTH_DAYS


def _ts(d: date | str) -> pd.Timestamp:
    return pd.Timestamp(d)


def target_marks(t: Target) -> list[dict[str, Any]]:
    """One target as the marks of a monthly level, as data (empty if it is not a level: a ratio,
    a share...). :func:`draw_target` draws them with matplotlib and the dashboard's page draws the
    same marks in the browser, so both show a figure alike.

    Each mark has a ``shape``: ``line`` (``x0``, ``x1``, ``y``, ``dash`` for a monthly high),
    ``box`` (``x0``, ``x1``, ``low``, ``high``), ``up``/``down`` (a triangle at ``x``, ``y``:
    at least, at most), ``zero`` (``x0``, ``x1``: none) or ``star`` (``x``, at the top: the peak
    month). Dates are ISO strings; levels are attacks per month.
    """
    v = t.value
    start, stop = t.window.start, t.window.end + timedelta(days=1)
    x0, x1 = start.isoformat(), stop.isoformat()
    xm = (start + (stop - start) / 2).isoformat()
    stat = t.statistic
    if stat == "count" and t.window.days < 28:
        # a figure for a few days bounds its month from below: a marker at the count
        if v.form in ("point", "range", "lower") and v.low > 0:
            return [{"shape": "up", "x": xm, "y": float(v.low)}]
        return []
    if stat in ("count", "mean_annual"):
        scale = 1 / _months(t) if stat == "count" else 1 / 12
    elif stat in ("monthly_max", "monthly_min"):
        scale = 1.0
    elif stat == "zero":
        return [{"shape": "zero", "x0": x0, "x1": x1}]
    elif stat == "peak_month" and v.month:
        return [{"shape": "star", "x": f"{v.month}-16"}]
    else:
        return []
    dash = stat == "monthly_max"
    if v.form == "point" and v.point is not None and not (v.approximate or v.tolerance):
        return [{"shape": "line", "x0": x0, "x1": x1, "y": v.point * scale, "dash": dash}]
    if v.form in ("point", "range"):
        return [{"shape": "box", "x0": x0, "x1": x1, "low": v.low * scale,
                 "high": v.high * scale}]  # fmt: skip
    if v.form in ("lower", "upper"):
        y = (v.low if v.form == "lower" else v.high) * scale
        line = {"shape": "line", "x0": x0, "x1": x1, "y": y, "dash": dash, "thin": True}
        return [line, {"shape": "up" if v.form == "lower" else "down", "x": xm, "y": y}]
    return []


def draw_target(ax: Axes, t: Target, color: str) -> bool:
    """Draw one target as a monthly level (:func:`target_marks`); False if it is not a level."""
    marks = target_marks(t)
    top = blended_transform_factory(ax.transData, ax.transAxes)
    for m in marks:
        shape = m["shape"]
        if shape in ("up", "down"):
            ax.plot([_ts(m["x"])], [m["y"]], marker="^" if shape == "up" else "v", ms=7,
                    ls="none", color=color, zorder=5)  # fmt: skip
        elif shape == "star":
            ax.plot([_ts(m["x"])], [0.94], marker="*", color=color, ms=11, zorder=6,
                    transform=top, ls="none")  # fmt: skip
        elif shape == "zero":
            ax.plot([_ts(m["x0"]), _ts(m["x1"])], [0, 0], color=color, lw=4,
                    solid_capstyle="butt", alpha=0.8, zorder=4)  # fmt: skip
        elif shape == "line":
            style = (0, (4, 2)) if m["dash"] else "-"
            ax.plot([_ts(m["x0"]), _ts(m["x1"])], [m["y"]] * 2, color=color, zorder=5,
                    lw=1.8 if m.get("thin") else 2.2, ls=style)  # fmt: skip
        else:  # box
            a, b = mdates.date2num(_ts(m["x0"])), mdates.date2num(_ts(m["x1"]))
            ax.add_patch(
                plt.Rectangle(
                    (a, m["low"]), b - a, m["high"] - m["low"], facecolor=color, alpha=0.25,
                    edgecolor=color, lw=1.2, zorder=5,
                )
            )  # fmt: skip
    return bool(marks)


def _draw_reconstruction(ax: Axes, rec: Reconstruction, sid: str, color: str) -> bool:
    tab = rec.table[rec.table["series"] == sid].sort_values("month")
    if tab.empty:
        return False
    months = list(tab["month"])
    # split into runs of consecutive months
    runs, cur = [], [0]
    for i in range(1, len(months)):
        if months[i] == months[i - 1] + pd.offsets.MonthBegin(1):
            cur.append(i)
        else:
            runs.append(cur)
            cur = [i]
    runs.append(cur)
    for run in runs:
        part = tab.iloc[run]
        edges = [*part["month"], part["month"].iloc[-1] + pd.offsets.MonthBegin(1)]
        x = mdates.date2num(pd.DatetimeIndex(edges).to_pydatetime())
        vals = part["value"].to_numpy(float)
        lo = part["low"].to_numpy(float)
        hi = part["high"].to_numpy(float)
        ax.stairs(vals, x, color=color, lw=1.4, alpha=0.9, zorder=3, baseline=None)
        if np.isfinite(lo).any():
            ytop = ax.get_ylim()[1] if np.isinf(hi).any() else None
            hi_draw = np.where(np.isfinite(hi), hi, ytop if ytop is not None else np.nan)
            ax.fill_between(
                x, np.r_[lo, lo[-1]], np.r_[hi_draw, hi_draw[-1]], step="post", color=color,
                alpha=0.12, lw=0, zorder=2,
            )  # fmt: skip
    return True


def _phase_layer(ax: Axes, record: Record, labels: bool) -> None:
    """Shade the main phases; labels go just above the axes, staggered on two rows."""
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    for i, p in enumerate(record.main_phases):
        x0, x1 = _ts(p.start), _ts(p.end + timedelta(days=1))
        ax.axvspan(x0, x1, color=_PHASE_FILL[i % 2], zorder=0, lw=0)
        if labels:
            ax.text(
                x0 + (x1 - x0) / 2, 1.02 + 0.09 * (i % 2), p.label, transform=trans, ha="center",
                va="bottom", fontsize=7.5, color="#333333", clip_on=False,
            )  # fmt: skip


def _cluster_events(events: Iterable[tuple[date, str]], days: int = 12) -> list[tuple[date, str]]:
    """Merge events less than ``days`` apart into one marker with joined labels."""
    out: list[tuple[date, list[str]]] = []
    for d, label in sorted(events):
        if out and (d - out[-1][0]).days < days:
            out[-1][1].append(label)
        else:
            out.append((d, [label]))
    return [(d, "; ".join(labels)) for d, labels in out]


def _event_layer(ax: Axes, events: Iterable[tuple[date, str]], labels: bool) -> None:
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    for d, label in _cluster_events(events):
        x = _ts(d)
        ax.axvline(x, color="#888888", lw=0.8, ls=(0, (3, 3)), zorder=1)
        if labels:
            ax.text(
                x, 0.97, f" {label}", transform=trans, rotation=90, ha="right", va="top",
                fontsize=7, color="#444444", zorder=7,
                bbox={"facecolor": "white", "alpha": 0.6, "lw": 0, "pad": 0.5},
            )  # fmt: skip


def _phase_strip(ax: Axes, record: Record) -> None:
    """A label strip for the phases (used above a stack of panels)."""
    phases = record.main_phases
    short = 0
    for i, p in enumerate(phases):
        x0, x1 = _ts(p.start), _ts(p.end + timedelta(days=1))
        ax.axvspan(x0, x1, color=_PHASE_FILL[i % 2], lw=0)
        ax.axvline(x0, color="#bbbbbb", lw=0.6)
        months = (p.end - p.start).days / _MONTH_DAYS
        if months >= 6:
            y = 0.5
        else:  # short phases alternate between three rows
            y = (0.8, 0.2, 0.5)[short % 3]
            short += 1
        ax.text(
            x0 + (x1 - x0) / 2, y, p.label, ha="center", va="center", fontsize=8,
            color="#222222", bbox={"facecolor": "white", "alpha": 0.7, "lw": 0, "pad": 0.6},
        )  # fmt: skip
    ax.set_yticks([])
    ax.set_ylim(0, 1)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="x", which="both", bottom=False, labelbottom=False)
    ax.set_title("Phases described in the sources", loc="left", fontsize=9, color="#333333", pad=3)


def _event_strip(ax: Axes, events: Iterable[tuple[date, str]]) -> None:
    """A strip of rotated event labels (used below a stack of panels)."""
    for d, label in _cluster_events(events):
        x = _ts(d)
        ax.axvline(x, ymin=0.9, color="#888888", lw=0.8, ls=(0, (3, 3)))
        ax.text(x, 0.88, textwrap.fill(label, 26), rotation=90, ha="center", va="top",
                fontsize=7.5, color="#333333", linespacing=1.0)  # fmt: skip
    ax.set_yticks([])
    ax.set_ylim(0, 1)
    for side in ("left", "right", "bottom", "top"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="x", which="both", bottom=False, top=False, labelbottom=False)


def _glyph_key() -> list:
    c = "#444444"
    return [
        Line2D([], [], color=c, lw=2.2, label="reported figure (monthly average)"),
        Patch(facecolor=c, alpha=0.25, edgecolor=c, label="range / approximately (+-15%)"),
        Line2D([], [], color=c, marker="^", lw=1.8, label="at least"),
        Line2D([], [], color=c, marker="v", lw=1.8, label="at most"),
        Line2D([], [], color=c, lw=4, label="none"),
        Line2D([], [], color=c, ls=(0, (4, 2)), lw=2, label="monthly high"),
        Line2D([], [], color=c, marker="*", ms=10, ls="none", label="peak month"),
        Line2D([], [], color=c, lw=1.4, drawstyle="steps-post", label="reconstruction"),
        Patch(facecolor=c, alpha=0.12, label="reconstruction range"),
    ]


def plot_history(
    record: Record,
    ax: Axes | None = None,
    *,
    events: Iterable[tuple[date, str]] = (),
    series: str | Sequence[str] | None = None,
    reconstruction: Reconstruction | None = None,
    phase_labels: bool = True,
    event_labels: bool = True,
    period: tuple[date, date] | None = None,
    legend: bool | LegendLocType = True,
) -> Axes:
    """Draw the record for one or more series on ``ax`` (attacks per month).

    ``series``: a series id or ids (default: every series of the default overview panels).
    ``reconstruction``: a :class:`Reconstruction` whose line and band are drawn for those series.
    ``events``: (date, label) pairs drawn as vertical markers. ``legend``: True puts the legend
    outside the axes on the right (clear of event labels), a matplotlib location string puts it
    inside, False leaves it out. Returns the axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(12, 4))
    if series is None:
        sids: tuple[str, ...] = tuple(s for _, group in DEFAULT_PANELS for s in group)
    elif isinstance(series, str):
        sids = (series,)
    else:
        sids = tuple(series)
    for sid in sids:
        if sid not in record.series:
            raise KeyError(f"unknown series '{sid}'")
    events = list(events)
    if period is None:
        starts = [p.start for p in record.phases] or [record.targets[0].window.start]
        ends = [p.end for p in record.phases] or [record.targets[0].window.end]
        period = (min(starts), max(ends))
    _phase_layer(ax, record, phase_labels)
    handles = []
    for i, sid in enumerate(sids):
        color = _COLORS[i % len(_COLORS)]
        drawn = False
        for t in record.targets_for_series(sid):
            if t.window.end < period[0] or t.window.start > period[1]:
                continue
            drawn |= draw_target(ax, t, color)
        ax.autoscale_view()
        if reconstruction is not None:
            drawn |= _draw_reconstruction(ax, reconstruction, sid, color)
        if drawn:
            handles.append(Line2D([], [], color=color, lw=2, label=record.series[sid].label))
    _event_layer(ax, events, event_labels)
    ax.set_xlim(_ts(period[0]), _ts(period[1] + timedelta(days=1)))
    hi = ax.get_ylim()[1]
    ax.set_ylim(0, max(hi, 1.0) * 1.08)
    ax.set_ylabel("attacks per month")
    ax.xaxis.set_major_locator(mdates.YearLocator())
    ax.xaxis.set_minor_locator(mdates.MonthLocator(bymonth=(4, 7, 10)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.grid(axis="y", color="#dddddd", lw=0.6)
    ax.set_axisbelow(True)
    if legend and handles:
        extra = []
        if reconstruction is not None:
            extra.append(Patch(facecolor="#888888", alpha=0.25, label="reconstruction range"))
        if legend is True:
            ax.legend(
                handles=handles + extra, loc="upper left", bbox_to_anchor=(1.005, 1.0),
                fontsize=8, frameon=False,
            )  # fmt: skip
        else:
            ax.legend(handles=handles + extra, loc=legend, fontsize=8, framealpha=0.85)
    return ax


def write_history_png(
    record: Record,
    path: str | os.PathLike[str],
    *,
    reconstruction: Reconstruction | None = None,
    events: Iterable[tuple[date, str]] | None = None,
    panels: Sequence[tuple[str, Sequence[str]]] = DEFAULT_PANELS,
    period: tuple[date, date] | None = None,
    dpi: int = 110,
) -> Path:
    """Write a multi-panel PNG of the record, one panel per main series; returns the path.

    A phase strip sits above the panels and a strip of key events below them; ``events`` default
    to the key events named in phases.yaml.
    """
    events = list(record.key_events() if events is None else events)
    n = len(panels)
    fig = plt.figure(figsize=(13, 2.6 * n + 5.0))
    grid = fig.add_gridspec(n + 2, 1, height_ratios=[0.7] + [2.6] * n + [1.9], hspace=0.32)
    axes = [fig.add_subplot(grid[i + 1, 0]) for i in range(n)]
    for ax in axes[1:]:
        ax.sharex(axes[0])
    for i, (title, sids) in enumerate(panels):
        ax = axes[i]
        plot_history(
            record, ax, events=events, series=tuple(sids), reconstruction=reconstruction,
            phase_labels=False, event_labels=False, period=period,
            legend="upper center" if len(sids) > 1 else False,
        )  # fmt: skip
        ax.set_title(title, loc="left", fontsize=11, fontweight="bold", pad=4)
        ax.tick_params(axis="x", labelbottom=True, labelsize=9)
    axes[-1].set_xlabel("")
    top = fig.add_subplot(grid[0, 0], sharex=axes[0])
    _phase_strip(top, record)
    bottom = fig.add_subplot(grid[n + 1, 0], sharex=axes[0])
    _event_strip(bottom, events)
    bottom.text(0.0, 0.97, "Key events", transform=bottom.transAxes, fontsize=9,
                color="#333333", va="bottom")  # fmt: skip
    fig.suptitle(
        "Militia attack tempo: the historical record as reported in the sources",
        fontsize=14, fontweight="bold", x=0.012, ha="left", y=0.995,
    )  # fmt: skip
    fig.legend(
        handles=_glyph_key(), loc="upper left", bbox_to_anchor=(0.012, 0.978), ncol=5,
        fontsize=8.5, frameon=False, handlelength=2.4, columnspacing=1.6,
    )  # fmt: skip
    fig.text(0.012, 0.004, textwrap.fill(_CAPTION, 185), fontsize=8.5, va="bottom", ha="left")
    fig.subplots_adjust(left=0.06, right=0.985, top=0.93, bottom=0.045)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out
