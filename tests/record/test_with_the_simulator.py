"""The record and the simulator together: observed series, overlay, history, phases."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from escalation import UserError, load_scenario, run
from escalation.cli.main import main
from escalation.record import RecordError, load_record
from escalation.record.overlap import TEMPO_PANELS, comparison_periods
from escalation.viz.tempo import record_overlay

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def baseline():
    return load_scenario(ROOT / "scenarios" / "baseline.yaml")


def test_record_errors_are_user_errors():
    assert issubclass(RecordError, UserError)


def test_the_record_is_package_data_found_without_a_plugin():
    import escalation.record

    data = Path(escalation.record.__file__).parent / "data"
    assert {"targets.yaml", "series.yaml", "phases.yaml"} <= {p.name for p in data.iterdir()}
    assert load_record().targets


def test_every_record_series_maps_onto_the_observation_layer(baseline):
    record = load_record()
    specs = {sid: s.to_spec() for sid, s in record.series.items()}
    result = run(baseline, 3, series=specs)
    monthly = result.monthly
    assert set(specs) <= set(monthly["series"])
    totals = monthly.groupby("series")["value"].sum()
    # a series with a size threshold counts a subset of the same series without it
    assert totals["osint_rocket_11plus"] <= totals["osint_rocket_attacks"]
    # the Pentagon's landed-near rule counts a subset of what the compilation sees
    assert totals["dod_us_forces"] > 0


def test_min_size_filters_small_attacks(baseline):
    from escalation.scenario.schema import SeriesSpec

    specs = {
        "all": SeriesSpec(label="all", targets=["us_base"]),
        "big": SeriesSpec(label="big", targets=["us_base"], min_size=5),
    }
    result = run(baseline, 4, series=specs)
    ev = result.events
    big = (
        (ev["action"] == "attack")
        & (ev["target"] == "us_base")
        & (ev["size"] >= 5)
        & ev["actor"].isin(["KH", "AAH", "HHN"])
    ).sum()
    totals = result.monthly.groupby("series")["value"].sum()
    assert totals["big"] == big < totals["all"]


def test_overlay_panels_and_phases_for_the_baseline(baseline):
    ov = record_overlay(baseline)
    assert ov is not None
    assert [p for p, _ in ov.panels()] == [p for p, _ in TEMPO_PANELS]
    assert len(ov.phases()) >= 5
    assert comparison_periods(baseline, None)[1] == "phases"


def test_no_overlay_outside_the_record(baseline):
    later = load_scenario(
        ROOT / "scenarios" / "baseline.yaml",
        ["start=2030-01-01", "end=2030-12-31", "events=null"],
    )
    assert record_overlay(later) is None


@pytest.mark.slow
def test_history_command_writes_png_and_tables(tmp_path, capsys):
    out = tmp_path / "h"
    assert main(["history", "--out", str(out)]) == 0
    assert (out / "history.png").stat().st_size > 20_000
    targets = pd.read_csv(out / "targets.csv")
    assert len(targets) >= 30
    rec = pd.read_csv(out / "reconstruction.csv")
    assert {"series", "month", "value", "low", "high"} <= set(rec.columns)
    assert "reconstruction meets every target" in capsys.readouterr().out


def test_history_with_a_bad_targets_file_exits_2(tmp_path, capsys):
    bad = tmp_path / "t.yaml"
    bad.write_text("targets:\n  - id: x\n    series: nope\n")
    assert main(["history", "--targets", str(bad), "--out", str(tmp_path / "h")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "t.yaml" in err and "Traceback" not in err
