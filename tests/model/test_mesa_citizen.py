"""EscalationModel as Mesa's own runners expect a model: ``running`` ends the run, scenario
values are keyword parameters by dotted key path, and the DataCollector reports the run's
counts, equal to those of :func:`escalation.run` on the same seed."""

from __future__ import annotations

import mesa
import pandas as pd
import yaml

from escalation import EscalationModel, load_scenario, run, scenario_from_dict
from escalation.model.model import MODEL_REPORTERS
from tests.conftest import ROOT

COUNTS = ("attacks", "attacks_on_us", "us_wounded", "us_killed", "retaliations", "us_strikes")


def test_batch_run_sweeps_a_scenario_value_to_the_end_of_the_run(small, tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(small), encoding="utf-8")
    results = pd.DataFrame(
        mesa.batch_run(
            EscalationModel,
            {"scenario": str(path), "us.doctrine.severity": [1.0, 2.5]},
            rng=[7],
            max_steps=100_000,  # far past the run: `running` must stop it
            data_collection_period=-1,
            display_progress=False,
        )
    ).drop_duplicates("RunId")  # one row per militia: the model's columns repeat
    n_steps = EscalationModel(str(path), seed=1).n_steps
    assert sorted(results["us.doctrine.severity"]) == [1.0, 2.5]
    assert (results["Step"] == n_steps).all()
    for _, row in results.iterrows():
        variant = load_scenario(path, {"us.doctrine.severity": row["us.doctrine.severity"]})
        summary = run(variant, 7).summary
        for count in COUNTS:
            assert row[count] == summary[count], count


def test_the_counts_equal_the_runs_on_the_timeline_with_replayed_strikes():
    """The baseline replays the record's strikes: us_strikes counts them, retaliations not."""
    path = ROOT / "scenarios" / "baseline.yaml"
    model = EscalationModel(path, seed=4, collect=False)
    model.run_model()
    summary = run(load_scenario(path), 4).summary
    assert summary["us_strikes"] > summary["retaliations"]
    counts = {name: MODEL_REPORTERS[name](model) for name in COUNTS}
    assert counts == {name: summary[name] for name in COUNTS}


def test_run_model_stops_at_the_scenario_end(small):
    model = EscalationModel(scenario_from_dict(small), seed=3)
    model.run_model()
    assert not model.running and model.steps == model.n_steps
    frame = model.datacollector.get_model_vars_dataframe()
    assert len(frame) == model.n_steps and frame["attacks"].is_monotonic_increasing
