"""The tempo figure: its labels (event badges and key, phase names, panel titles) never print over
one another, and the record's figures are drawn from the same marks the dashboard draws."""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from escalation.experiments.runner import run_ensemble
from escalation.scenario.loading import load_scenario
from escalation.viz.history import target_marks
from escalation.viz.labels import marked_events, stack_rows
from escalation.viz.tempo import plot_tempo, record_overlay
from tests.conftest import SCENARIOS


def test_items_too_close_go_to_further_rows_and_full_rows_leave_them_out():
    assert stack_rows([0, 0.5, 1, 10], [1, 1.5, 2, 11], gap=0.5) == [0, 1, 2, 0]
    assert stack_rows([0, 2], [1, 3], gap=0.5) == [0, 0]
    assert stack_rows([0, 0.5, 0.7], [1, 1.5, 1.7], gap=0.0, most=2) == [0, 1, -1]


@pytest.fixture(scope="module")
def baseline_runs():
    scenario = load_scenario(SCENARIOS / "baseline.yaml")
    overlay = record_overlay(scenario)
    return scenario, overlay, run_ensemble(scenario, 2, 0, jobs=1, series=overlay.series())


@pytest.mark.parametrize("with_record", [True, False])
def test_no_two_labels_of_the_tempo_figure_overlap(baseline_runs, with_record):
    scenario, overlay, ens = baseline_runs
    fig = plot_tempo(
        ens.monthly, scenario, events=ens.events, overlay=overlay if with_record else None
    )
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = [t for ax in fig.axes for t in ax.texts] + list(fig.texts)
    texts = [t for t in texts if t.get_visible() and t.get_text().strip()]
    boxes = []
    for t in texts:
        patch = t.get_bbox_patch()  # a badge: its circle, not only its number
        boxes.append((t.get_text(), (patch or t).get_window_extent(renderer)))
    marked = marked_events(scenario)
    numbers = {str(e.number) for e in marked}
    assert len(marked) > 10 and numbers <= {text for text, _ in boxes}  # every event numbered
    key = " ".join(text for text, _ in boxes)
    assert all(e.label[:20] in key for e in marked)  # and keyed with its label
    overlaps = [
        (a, b)
        for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2)
        if box_a.overlaps(box_b)
    ]
    assert overlaps == []
    plt.close(fig)


def test_the_record_is_drawn_from_its_marks(baseline_runs):
    _, overlay, _ = baseline_runs
    period = (pd.Timestamp("2019-06-01"), pd.Timestamp("2023-12-31"))
    figures = overlay.targets("acled_us_convoy", *period)
    shapes = {m["shape"] for t in figures for m in target_marks(t)}
    assert {"box", "zero", "up"} <= shapes
    marks = overlay.marks("acled_us_convoy", *period)
    assert len(marks) == sum(1 for t in figures if target_marks(t))
    assert all(m["text"] and m["marks"] for m in marks)
