"""Targets in tension: pairs the posterior predictive runs meet apart but rarely together."""

from __future__ import annotations

from datetime import date

import numpy as np

from escalation.calibration.tension import tension_lines, tension_table
from escalation.record.summary import TargetSet
from escalation.record.types import Value


def _set(make_target) -> TargetSet:
    at_least = Value(form="lower", low=10)
    targets = [make_target(t, "count", at_least) for t in ("a", "b", "c", "always")]
    return TargetSet(targets, ["s"], date(2020, 1, 1), 366)


def test_targets_never_met_in_the_same_run_are_in_tension(make_target):
    """a and b are each met in half the runs, never together; c is met independently of
    both; a target met in every run is not judged."""
    ts = _set(make_target)
    runs = []
    for k in range(40):
        a = 20.0 if k % 2 == 0 else 0.0
        b = 0.0 if k % 2 == 0 else 20.0
        c = 20.0 if k % 4 < 2 else 0.0  # met in half of a's runs and half of b's
        runs.append([a, b, c, 50.0])
    table = tension_table(ts, np.array(runs))
    assert list(zip(table["target_a"], table["target_b"], strict=True)) == [("a", "b")]
    row = table.iloc[0]
    assert (row["met_a"], row["met_b"], row["met_both"], row["ratio"]) == (0.5, 0.5, 0.0, 0.0)
    text = "\n".join(tension_lines(table, runs=40))
    # p = 1 / C(40, 20): the chance that 20 runs drawn from 40 miss all 20 of a's
    assert "| a | b | 0.50 and 0.50 | 0.000 | 0.00 | 7.3e-12 |" in text


def test_independent_targets_are_not_in_tension(make_target):
    ts = _set(make_target)
    rng = np.random.default_rng(1)
    runs = np.where(rng.random((400, 4)) < 0.5, 20.0, 0.0)
    table = tension_table(ts, runs)
    assert table.empty and list(table.columns)[:2] == ["target_a", "target_b"]
    assert "None." in tension_lines(table, runs=400)
    assert tension_lines(None, runs=400) == []


def test_a_rare_pair_apart_by_chance_is_not_reported(make_target):
    """Two targets each met by 2 of 40 runs, never the same: independence would put them
    together in 0.1 runs, so their absence together is no evidence (p = 0.9)."""
    ts = _set(make_target)
    runs = np.zeros((40, 4))
    runs[[0, 1], 0] = runs[[2, 3], 1] = 20.0
    runs[:20, 2] = 20.0
    assert tension_table(ts, runs).empty
    assert tension_table(ts, runs, alpha=1.0)[["target_a", "target_b"]].values.tolist() == [
        ["a", "b"]
    ]
