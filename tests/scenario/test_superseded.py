"""Settings a later timeline event replaces are reported, with the way to hold them."""

from __future__ import annotations

from pathlib import Path

from escalation import load_scenario
from escalation.cli.main import main
from escalation.scenario.superseded import superseded_settings

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.yaml"


def test_a_doctrine_setting_holds_so_nothing_is_reported():
    assert superseded_settings(load_scenario(BASELINE, ["us.doctrine.theatre=iraq"])) == []
    assert superseded_settings(load_scenario(BASELINE), also=["us.doctrine.theatre"]) == []


def test_nothing_is_reported_when_held_or_when_no_event_changes_the_value():
    held = ["us.posture.force_protection=0.6", "events.us_leaves_small_bases.force_protection=null"]
    assert superseded_settings(load_scenario(BASELINE, held)) == []
    assert superseded_settings(load_scenario(BASELINE, ["us.doctrine.severity=2"])) == []
    assert superseded_settings(load_scenario(BASELINE)) == []


def test_run_warns_and_still_runs(tmp_path, capsys):
    code = main(
        ["run", str(BASELINE), "-n", "1", "--no-progress", "--out", str(tmp_path / "r"),
         "--set", "us.posture.force_protection=0.6"]
    )  # fmt: skip
    assert code == 0
    assert "warning: us.posture.force_protection holds only until" in capsys.readouterr().err
    assert (tmp_path / "r" / "runs.parquet").exists()


def test_a_posture_setting_is_held_by_dropping_only_the_events_value():
    (message,) = superseded_settings(load_scenario(BASELINE, ["us.posture.force_protection=0.6"]))
    assert "events.us_leaves_small_bases.force_protection=null" in message
    held = load_scenario(
        BASELINE,
        ["us.posture.force_protection=0.6", "events.us_leaves_small_bases.force_protection=null"],
    )
    assert superseded_settings(held) == []
    assert held.events["us_leaves_small_bases"].sites_change == -3  # the handover stays
