"""Labels on a time axis that never print over one another: the timeline's events as numbered
badges, stacked in rows where they crowd, with a key of numbers, dates and labels; and the names
of phases, each on the first row where it fits.

A figure shows a few years on one axis, and its events cluster (three in the first week of
2020): written out along the axis their labels overlap whatever their angle. Numbers in badges
take a fixed small width, and the key below the figure has room for every label in full.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import NamedTuple

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.textpath import TextPath

from escalation.observe.periods import Period
from escalation.scenario import schema as C

EVENT_COLOUR = "#555555"
PHASE_FILL = ("#ececec", "#f9f9f9")
BADGE_INCHES = 0.2
"""Width of an event's numbered badge, and the height of a row of them."""
ROW_INCHES = 0.2
"""Height of a row of phase names or of the event key."""
KEY_COLUMN_CHARS = 58
"""Longest event label the key writes in full in a column (longer ones are shortened)."""


class Marked(NamedTuple):
    """An event a figure marks: its number in the key, date and label."""

    number: int
    when: pd.Timestamp
    label: str


def marked_events(scenario: C.Scenario) -> list[Marked]:
    """The scenario's events to mark (``mark``, within its dates), numbered in date order."""
    start, end = pd.Timestamp(scenario.start), pd.Timestamp(scenario.end)
    out: list[Marked] = []
    for _, ev in scenario.sorted_events():
        when = pd.Timestamp(ev.date)
        if ev.mark and start <= when <= end:
            out.append(Marked(len(out) + 1, when, ev.label))
    return out


def text_inches(text: str, fontsize: float) -> float:
    """Width of a one-line text in inches at a font size (from the glyphs' outlines)."""
    return TextPath((0, 0), text, size=fontsize).get_extents().width / 72


def stack_rows(
    starts: Sequence[float], ends: Sequence[float], gap: float, most: int | None = None
) -> list[int]:
    """Row of each item (in order along the axis): the first row where it starts at least
    ``gap`` after the last item placed there ends; -1 when ``most`` rows are full."""
    row_ends: list[float] = []
    rows = []
    for a, b in zip(starts, ends, strict=True):
        row = next((r for r, end in enumerate(row_ends) if a >= end + gap), None)
        if row is None and (most is None or len(row_ends) < most):
            row_ends.append(b)
            row = len(row_ends) - 1
        elif row is not None:
            row_ends[row] = b
        rows.append(-1 if row is None else row)
    return rows


class Axis(NamedTuple):
    """A time axis as the layout sees it: its ends and its width on the figure in inches."""

    start: pd.Timestamp
    end: pd.Timestamp
    inches: float

    def days(self, inches: float) -> float:
        """Days spanned by a width in inches."""
        return inches / self.inches * max((self.end - self.start).days, 1)

    def day(self, when: pd.Timestamp) -> float:
        return float((when - self.start).days)


def badge_rows(events: Sequence[Marked], axis: Axis) -> list[int]:
    """Row of each event's badge: badges in one row are at least a badge apart."""
    half = axis.days(BADGE_INCHES * 1.1) / 2
    xs = [axis.day(e.when) for e in events]
    return stack_rows([x - half for x in xs], [x + half for x in xs], 0.0)


def event_strip(ax: plt.Axes, events: Sequence[Marked], rows: Sequence[int]) -> None:
    """Numbered badges at the events' dates, row 0 on top (the strip above the panels)."""
    n_rows = max(rows, default=0) + 1
    for e, row in zip(events, rows, strict=True):
        ax.text(
            e.when, n_rows - row - 0.5, str(e.number), ha="center", va="center", fontsize=7,
            fontweight="bold", color="#222222",
            bbox={"boxstyle": "circle,pad=0.25", "facecolor": "white", "edgecolor": EVENT_COLOUR,
                  "lw": 0.8},
        )  # fmt: skip
    ax.set_ylim(0, n_rows)
    ax.set_yticks([])
    for side in ("left", "right", "top", "bottom"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="x", which="both", bottom=False, labelbottom=False)
    ax.set_ylabel("events", fontsize=8, rotation=0, ha="right", va="center")


def mark_events(axes: Sequence[plt.Axes], events: Sequence[Marked]) -> None:
    """A dotted line at each event's date across the panels."""
    for e in events:
        for ax in axes:
            ax.axvline(e.when, color=EVENT_COLOUR, lw=0.7, ls=":", zorder=1)


def key_rows(events: Sequence[Marked], columns: int) -> int:
    """Rows the event key takes in ``columns`` columns."""
    return -(-len(events) // columns) if events else 0


def event_key(
    fig: plt.Figure, events: Sequence[Marked], top: float, columns: int, fontsize: float = 8
) -> None:
    """The key of numbered events, in columns below ``top`` (figure fraction), down the first
    column first."""
    rows = key_rows(events, columns)
    step = ROW_INCHES / fig.get_figheight()
    for k, e in enumerate(events):
        x = 0.02 + (k // rows) * (0.96 / columns)
        y = top - (k % rows) * step
        label = textwrap.shorten(e.label, KEY_COLUMN_CHARS, placeholder="...")
        fig.text(x, y, f"{e.number:>2}", fontsize=fontsize, fontweight="bold", va="top",
                 ha="right", color="#222222")  # fmt: skip
        fig.text(x + 0.004, y, f"{e.when:%Y-%m-%d}  {label}", fontsize=fontsize, va="top",
                 color="#333333")  # fmt: skip


def phase_rows(phases: Sequence[Period], axis: Axis, fontsize: float, most: int = 3) -> list[int]:
    """Row of each phase name, centred on its phase: the first row where it clears the names
    before it (-1 if none of ``most`` rows has room: the phase is left unnamed)."""
    starts, ends = [], []
    for p in phases:
        mid = (axis.day(pd.Timestamp(p.start)) + axis.day(pd.Timestamp(p.end))) / 2
        half = axis.days(text_inches(p.label or p.name, fontsize) + 0.1) / 2
        starts.append(mid - half)
        ends.append(mid + half)
    return stack_rows(starts, ends, 0.0, most)


def phase_strip(ax: plt.Axes, phases: Sequence[Period], rows: Sequence[int]) -> None:
    """The phases shaded in a strip, each name on its row (row 0 on top)."""
    n_rows = max(max(rows, default=0) + 1, 1)
    for i, (p, row) in enumerate(zip(phases, rows, strict=True)):
        x0, x1 = pd.Timestamp(p.start), pd.Timestamp(p.end) + pd.Timedelta(days=1)
        ax.axvspan(x0, x1, color=PHASE_FILL[i % 2], lw=0)
        ax.axvline(x0, color="#bbbbbb", lw=0.6)
        if row < 0:
            continue
        ax.text(
            x0 + (x1 - x0) / 2, n_rows - row - 0.5, p.label or p.name, ha="center",
            va="center", fontsize=7.5, color="#222222",
        )  # fmt: skip
    ax.set_yticks([])
    ax.set_ylim(0, n_rows)
    for side in ("left", "right", "top", "bottom"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="x", which="both", bottom=False, labelbottom=False)
    ax.set_ylabel("phases", fontsize=8, rotation=0, ha="right", va="center")
