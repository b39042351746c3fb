"""One registry of outcome names: the runs table, sweeps and comparisons agree on each."""

from __future__ import annotations

from pathlib import Path

import pytest

from escalation import load_scenario, run_ensemble
from escalation.experiments.sweep import outcome_columns
from escalation.observe.outcomes import label, outcomes, period_metric_names
from escalation.observe.periods import period_metrics

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def baseline_runs():
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    return scenario, run_ensemble(scenario, 3, seed=4, jobs=1)


def test_the_runs_table_reports_every_registered_outcome_in_order(baseline_runs):
    scenario, ens = baseline_runs
    numeric = [c for c in ens.runs.columns if c not in ("scenario", "run", "seed")]
    numeric = [c for c in numeric if c != "final_us_mission"]  # a word, not a number
    assert numeric == list(outcomes(scenario)) == outcome_columns(scenario)


@pytest.mark.parametrize("name", ["baseline", "us_retaliates_always"])
def test_an_outcome_per_period_sums_to_its_run_total(name):
    """Also where US strikes end truces (one count of days under truce, from the log)."""
    scenario = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    ens = run_ensemble(scenario, 6, seed=4, jobs=1)
    overall = period_metrics(ens.events, scenario, [], include_overall=True)
    assert sorted(set(overall["metric"])) == sorted(period_metric_names(scenario))
    table = overall.pivot(index="run", columns="metric", values="value")
    runs = ens.runs.set_index("run")
    for name in period_metric_names(scenario):
        assert (table[name] == runs[name]).all(), name


def test_labels_say_what_is_counted(baseline_runs):
    scenario, _ = baseline_runs
    assert label("retaliations") == "US retaliations"
    assert label("attacks_turkish_base", scenario).startswith("attacks on ")
    assert label("not_an_outcome") == "not an outcome"
