"""The deterrence frontier: which doctrines deter or provoke against no retaliation."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from escalation.cli.main import main
from escalation.errors import UserError
from escalation.experiments.frontier import deterrence_frontier
from escalation.tables import read_table
from escalation.viz.sweep import plot_frontier

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.yaml"


def _runs(tempo_by_point: dict[int, list[float]], casualties: dict[int, float]) -> pd.DataFrame:
    rows = []
    for point, tempos in tempo_by_point.items():
        for r, t in enumerate(tempos):
            rows.append({"point": point, "replicate": r, "us.doctrine.severity": float(point),
                         "attacks_on_us": t, "us_wounded": casualties[point], "us_killed": 0.0,
                         "spiral": float(point == 2)})  # fmt: skip
    return pd.DataFrame(rows)


def test_paired_runs_say_which_doctrines_deter_and_which_provoke():
    base = np.array([100.0, 120.0, 90.0, 110.0, 105.0])
    reference = pd.DataFrame({"replicate": range(5), "attacks_on_us": base, "us_wounded": 50.0,
                              "us_killed": 1.0, "spiral": 0.0})  # fmt: skip
    runs = _runs(
        {
            0: list(base - 20),
            1: list(base + np.array([1.0, -1.0, 2.0, -2.0, 0.0])),
            2: list(base + 30),
        },
        {0: 60.0, 1: 40.0, 2: 70.0},
    )
    f = deterrence_frontier(runs, ["us.doctrine.severity"], reference)
    assert list(f.points["effect"]) == ["deters", "unclear", "provokes"]
    # point 0 has the least tempo, point 1 the fewest casualties; point 2 is beaten on both
    assert list(f.points["on_frontier"]) == [True, True, False]
    assert f.points.loc[0, "tempo_difference"] == pytest.approx(-20.0)
    assert f.points.loc[2, "spiral"] == 1.0


def test_the_frontier_needs_the_outcomes_it_plots():
    reference = pd.DataFrame({"replicate": [0, 1], "attacks_on_us": [1.0, 2.0]})
    with pytest.raises(UserError, match="us_wounded"):
        deterrence_frontier(_runs({0: [1.0, 2.0]}, {0: 1.0}), ["us.doctrine.severity"], reference)


def test_a_doctrine_sweep_writes_its_frontier(tmp_path):
    out = tmp_path / "s"
    code = main(
        ["sweep", "--scenario", str(BASELINE), "--param", "us.doctrine.trigger=never,every_attack",
         "--set", "events.biden_doctrine=null", "-n", "2", "--seed", "1", "-j", "1",
         "--no-progress", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    frontier = read_table(out, "frontier")
    assert set(frontier["effect"]) <= {"deters", "provokes", "unclear"}
    never = frontier[frontier["us.doctrine.trigger"] == "never"].iloc[0]
    # never retaliating is the reference itself, run on the same seeds
    assert never["tempo_difference"] == 0.0
    assert (out / "frontier.png").stat().st_size > 0
    reference = read_table(out, "reference_runs")
    runs = read_table(out, "runs")
    assert list(reference["seed"]) == list(runs[runs["point"] == 0]["seed"])
    _, ax = plt.subplots()
    f = deterrence_frontier(runs, ["us.doctrine.trigger"], reference)
    assert plot_frontier(f, ax=ax) is ax
    plt.close("all")
