"""Scenario comparison: paired runs on common seeds, differences with intervals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from escalation import load_scenario, scenario_from_dict
from escalation.cli.main import main
from escalation.experiments.compare import compare, paired_differences
from escalation.observe.periods import Period
from escalation.tables import read_table

ROOT = Path(__file__).resolve().parents[2]
WHAT_IFS = sorted(
    p
    for p in (ROOT / "scenarios").glob("*.yaml")
    if p.name not in ("baseline.yaml", "historical.yaml")
)


def test_identical_scenarios_differ_by_exactly_zero(small):
    a = scenario_from_dict(small)
    small["name"] = "copy"
    b = scenario_from_dict(small)
    result = compare([a, b], replicates=5, seed=1, jobs=1)
    d = result.differences
    assert set(d["scenario"]) == {"copy"}
    assert np.allclose(d[["mean_difference", "ci_low", "ci_high", "low", "high"]], 0.0)


def test_never_retaliating_removes_strikes_with_an_interval(small):
    small["militias"]["A"]["resolve"] = -1.0
    a = scenario_from_dict(small, {"us.doctrine.trigger": "every_attack", "us.doctrine.resolve": 8})
    b = scenario_from_dict(small, {"us.doctrine.trigger": "never", "name": "never"})
    result = compare(
        [a, b],
        replicates=8,
        seed=2,
        jobs=1,
        periods=[Period("h1", a.start, a.start.replace(month=6, day=30))],
    )
    row = result.differences.query("period == 'overall' and metric == 'retaliations'").iloc[0]
    assert row["mean_difference"] < 0
    assert row["ci_low"] <= row["mean_difference"] <= row["ci_high"] < 0
    assert row["share_higher"] == 0.0
    assert {"h1", "overall"} == set(result.differences["period"])


def test_paired_differences_are_run_by_run():
    metrics = pd.DataFrame(
        {
            "scenario": ["a"] * 4 + ["b"] * 4,
            "run": [0, 1, 2, 3] * 2,
            "period": "overall",
            "metric": "m",
            "value": [1, 2, 3, 4, 2, 3, 4, 5],
        }
    )
    d = paired_differences(metrics, "a").iloc[0]
    assert d["mean_difference"] == 1 and d["low"] == 1 and d["high"] == 1
    assert d["share_higher"] == 1.0


@pytest.mark.slow
def test_every_what_if_runs_and_compares_with_the_baseline(tmp_path, capsys):
    assert len(WHAT_IFS) >= 8
    out = tmp_path / "cmp"
    args = [
        "compare",
        str(ROOT / "scenarios/baseline.yaml"),
        *map(str, WHAT_IFS),
        "-n",
        "3",
        "--out",
        str(out),
        "--no-progress",
    ]
    assert main(args) == 0
    d = read_table(out, "differences")
    names = {load_scenario(p).name for p in WHAT_IFS}
    assert set(d["scenario"]) == names
    overall = d[d["period"] == "overall"]
    for name in names:
        rows = overall[overall["scenario"] == name]
        assert (rows["ci_low"] <= rows["mean_difference"]).all()
        assert (rows["mean_difference"] <= rows["ci_high"]).all()
        assert rows["mean_difference"].abs().sum() > 0, f"{name} changes nothing"
    phases = set(d["period"]) - {"overall"}
    assert len(phases) >= 5  # the record's phases, not just years
    assert (out / "compare.png").stat().st_size > 0
    text = capsys.readouterr().out
    assert "no_facades - baseline" in text


def test_an_interval_does_not_depend_on_the_other_metrics_in_the_table():
    rng = np.random.default_rng(0)
    rows = [
        (sc, run, period, metric, float(rng.poisson(5)))
        for sc in ("ref", "alt")
        for run in range(20)
        for period in ("p1", "p2")
        for metric in ("attacks", "retaliations", "us_killed")
    ]
    metrics = pd.DataFrame(rows, columns=["scenario", "run", "period", "metric", "value"])
    whole = paired_differences(metrics, "ref", seed=3).set_index(["period", "metric"])
    alone = paired_differences(metrics[metrics["metric"] == "us_killed"], "ref", seed=3)
    for _, row in alone.iterrows():
        same = whole.loc[(row["period"], "us_killed")]
        assert (same["ci_low"], same["ci_high"]) == (row["ci_low"], row["ci_high"])
    other = paired_differences(metrics, "ref", seed=4).set_index(["period", "metric"])
    assert not whole["ci_low"].equals(other["ci_low"])
