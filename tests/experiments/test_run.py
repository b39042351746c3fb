"""Ensembles: seeds, determinism across worker counts, outputs written by the CLI."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from escalation import load_scenario, run_ensemble, scenario_from_dict, spawn_seeds
from escalation.cli.main import main
from escalation.scenario.reference import describe
from escalation.tables import read_table

ROOT = Path(__file__).resolve().parents[2]


def test_spawned_seeds_are_stable_and_distinct():
    a = spawn_seeds(0, 50)
    assert a == spawn_seeds(0, 50)
    assert a[:10] == spawn_seeds(0, 10)  # a prefix does not depend on the ensemble size
    assert len(set(a)) == 50
    assert spawn_seeds(1, 5) != a[:5]


def test_same_seed_identical_tables_with_one_or_two_processes(small):
    sc = scenario_from_dict(small)
    one = run_ensemble(sc, 6, seed=42, jobs=1)
    two = run_ensemble(sc, 6, seed=42, jobs=2)
    pd.testing.assert_frame_equal(one.runs, two.runs)
    pd.testing.assert_frame_equal(one.monthly, two.monthly)
    pd.testing.assert_frame_equal(one.events, two.events)
    other = run_ensemble(sc, 6, seed=43, jobs=2)
    assert not one.runs.equals(other.runs)


def test_band_is_ordered(small):
    ens = run_ensemble(scenario_from_dict(small), 8, seed=1, jobs=1)
    band = ens.band("attacks_us_base")
    assert (band[0.05] <= band[0.5]).all() and (band[0.5] <= band[0.95]).all()
    assert band[0.5].sum() > 0


@pytest.mark.slow
def test_cli_run_writes_the_five_outputs(tmp_path, capsys):
    out = tmp_path / "res"
    code = main(
        [
            "run",
            str(ROOT / "scenarios/baseline.yaml"),
            "-n",
            "4",
            "--seed",
            "3",
            "--out",
            str(out),
            "--no-progress",
            "--set",
            "us.doctrine.delay_days=3",
        ]
    )
    assert code == 0
    for name in ("runs.parquet", "monthly.parquet", "events.parquet", "manifest.json", "tempo.png"):
        assert (out / name).stat().st_size > 0, name
    runs = read_table(out, "runs")
    assert list(runs["run"]) == [0, 1, 2, 3]
    monthly = read_table(out, "monthly")
    assert list(monthly.columns) == ["run", "month", "series", "value"]
    assert monthly["month"].min() == "2019-06" and monthly["month"].max() == "2023-12"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seeds"] == spawn_seeds(3, 4) == list(runs["seed"])
    assert manifest["scenario"]["overrides"] == ["us.doctrine.delay_days=3"]
    assert manifest["parameters"]["us"]["doctrine"]["delay_days"] == 3
    assert len(next(iter(manifest["scenario"]["files"].values()))) == 64
    assert manifest["versions"]["mesa"] == "3.5.1"
    assert manifest["kind"] == "run" and manifest["format"] == "parquet"
    assert set(manifest["outputs"]) == {p.name for p in out.iterdir() if p.name != ".lock"}
    # the manifest alone remakes the runs table
    again = run_ensemble(
        load_scenario(ROOT / "scenarios/baseline.yaml", manifest["scenario"]["overrides"]),
        manifest["replicates"],
        manifest["master_seed"],
        jobs=1,
    )
    pd.testing.assert_frame_equal(again.runs, runs, check_dtype=False)
    assert "4 runs" in capsys.readouterr().out


def test_schema_reference_is_up_to_date():
    doc = (ROOT / "docs" / "scenario-reference.md").read_text(encoding="utf-8")
    assert describe(markdown=True) in doc, "run: escalation schema --markdown > docs/..."


def test_schema_describes_every_doctrine_key():
    text = describe("us.doctrine")
    for key in ("trigger", "severity", "delay_days", "theatre"):
        assert f"us.doctrine.{key}" in text


def test_a_scenario_sent_to_a_worker_is_the_same_scenario():
    from escalation import run
    from escalation.scenario.loading import provenance

    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    copy = pickle.loads(pickle.dumps(scenario))
    assert copy == scenario and copy is not scenario
    assert provenance(copy) == provenance(scenario)  # error messages still cite file and line
    a, b = run(scenario, 5), run(copy, 5)
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.monthly, b.monthly)


def test_a_shared_input_is_unpickled_once_per_process():
    from escalation.experiments.executors import Shared

    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    shared = Shared(scenario)
    assert shared.get() is scenario  # the sender uses its own object
    first, second = (pickle.loads(pickle.dumps(shared)) for _ in range(2))
    assert first.get() is second.get()  # one copy per receiving process
    assert first.get() == scenario and first.key == shared.key
    other = Shared(scenario_from_dict({**scenario.model_dump(), "name": "other"}))
    assert pickle.loads(pickle.dumps(other)).get().name == "other"  # told apart by content


def test_a_run_without_tables_has_the_same_summary():
    from escalation import run

    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    for seed in (3, 4):
        full, light = run(scenario, seed), run(scenario, seed, tables=False)
        assert light.summary == full.summary
        assert light.monthly.empty and not full.monthly.empty
        pd.testing.assert_frame_equal(light.events, full.events)


def test_a_result_travels_without_its_tables_and_rebuilds_them(small):
    from escalation import run
    from escalation.experiments.runner import all_series
    from escalation.observe.series import EventColumns, observe

    scenario = scenario_from_dict(small)
    result = run(scenario, 5)
    events, monthly = result.events, result.monthly  # built on first read
    assert len(events) == len(result.log) > 0
    assert result.events is events  # and kept
    copy = pickle.loads(pickle.dumps(result))
    assert "events" not in copy.__dict__ and "monthly" not in copy.__dict__
    pd.testing.assert_frame_equal(copy.events, events)
    pd.testing.assert_frame_equal(copy.monthly, monthly)
    # the log's columns observe exactly as the event table does
    specs = all_series(scenario)
    n_days = int(events["day"].max()) + 1
    args = {"n_days": n_days, "militias": set(scenario.militias), "run_seed": 5}
    from_log = observe(
        EventColumns.from_log(result.log, tuple(events.columns.drop("date"))), specs, **args
    )
    from_frame = observe(events, specs, **args)
    assert (from_log == from_frame).all() and from_log.sum() > 0


def test_series_of_one_source_thin_the_same_events(small):
    """A source that misses an event misses it in every series it reports: a subset series
    never exceeds its superset, while another source thins on its own."""
    from escalation import run
    from escalation.observe.series import observe
    from escalation.scenario import schema as C

    scenario = scenario_from_dict(small)
    events = run(scenario, 11).events
    attacks = events[events["action"] == "attack"]
    assert len(attacks) > 40
    weapon = attacks["weapon"].mode()[0]

    def spec(source: str, weapons) -> C.SeriesSpec:
        return C.SeriesSpec(
            label=source, source=source, actors="any", weapons=weapons, coverage=0.5
        )

    series = {
        "all_a": spec("A", "any"),
        "weapon_a": spec("A", [weapon]),
        "weapon_b": spec("B", [weapon]),
    }
    n_days = int(events["day"].max()) + 1
    total = observe(
        attacks,
        {"x": C.SeriesSpec(label="x", actors="any", weapons=[weapon])},
        n_days=n_days,
        militias=set(scenario.militias),
    )[:, 0].sum()
    sums = []
    for seed in range(20):
        out = observe(events, series, n_days=n_days, militias=set(scenario.militias), run_seed=seed)
        assert (out[:, 1] <= out[:, 0]).all()  # the subset never outruns its superset
        sums.append(out.sum(axis=0))
    sums = np.array(sums)
    # each source records about half of the events, and the two sources disagree
    assert 0.35 * total < sums[:, 1].mean() < 0.65 * total
    assert (sums[:, 1] != sums[:, 2]).any()
