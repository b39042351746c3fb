"""A doctrine value the user sets (--set, the Python API, a model parameter) holds for the whole
run over the timeline's doctrine events; calibration's fitted values do not."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from escalation import EscalationModel, load_scenario, run, scenario_from_dict, with_overrides
from escalation.calibration.simulate import Simulator
from escalation.cli.main import main
from escalation.tables import read_table

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
BASELINE = SCENARIOS / "baseline.yaml"
FORCEFUL = SCENARIOS / "forceful_2023.yaml"  # a doctrine event sets every_attack in Oct 2023
NEVER = {"us.doctrine.trigger": "never"}


def _retaliations(scenario, seeds=(1, 2)) -> list[int]:
    return [run(scenario, seed, tables=False).summary["retaliations"] for seed in seeds]


def test_trigger_never_on_the_command_line_gives_no_retaliation(tmp_path):
    out = tmp_path / "never"
    code = main(
        ["run", str(BASELINE), "-n", "3", "-j", "1", "--no-progress", "--out", str(out),
         "--set", "us.doctrine.trigger=never"]
    )  # fmt: skip
    assert code == 0
    assert read_table(out, "runs")["retaliations"].tolist() == [0, 0, 0]


def test_trigger_never_through_the_python_api_gives_no_retaliation():
    baseline = load_scenario(BASELINE)
    assert _retaliations(load_scenario(BASELINE, NEVER)) == [0, 0]
    assert _retaliations(with_overrides(baseline, NEVER)) == [0, 0]
    model = EscalationModel(BASELINE, 1, **NEVER)
    model.run_model()
    assert model.datacollector.get_model_vars_dataframe()["retaliations"].iloc[-1] == 0


def test_trigger_never_holds_over_a_doctrine_event_that_sets_the_trigger():
    assert min(_retaliations(load_scenario(FORCEFUL))) > 0  # the event switches strikes on
    held = load_scenario(FORCEFUL, NEVER)
    assert _retaliations(held) == [0, 0]
    changes = held.events["forceful_doctrine"].changes
    assert "trigger" not in changes and changes["theatre"] == "leadership"  # the rest stays


def test_a_theatre_set_by_the_user_holds_after_the_2021_doctrine_change():
    values = {"us.doctrine.trigger": "every_attack", "us.doctrine.theatre": "iraq"}
    change = dt.date(2021, 1, 20)

    def theatres_after_change(scenario) -> set[str]:
        events = run(scenario, 1).events
        strikes = events[(events["action"] == "retaliate") & (events["date"].dt.date > change)]
        assert len(strikes) > 0
        return set(strikes["theatre"])

    held = load_scenario(BASELINE, values)
    assert theatres_after_change(held) == {"iraq"}
    assert held.events["biden_doctrine"].changes == {"delay_days": 10}  # the delay still moves
    loose = load_scenario(BASELINE, values, hold_doctrine=False)
    assert "syria" in theatres_after_change(loose)


def test_a_doctrine_event_the_user_writes_in_an_override_is_kept_whole():
    scenario = load_scenario(
        BASELINE,
        ["us.doctrine.theatre=iraq", "events.biden_doctrine.changes.theatre=leadership"],
    )
    assert scenario.events["biden_doctrine"].changes["theatre"] == "leadership"


def test_calibration_applies_fitted_doctrine_values_without_holding_them(small):
    small["events"] = {
        "d": {"date": "2020-06-01", "type": "doctrine", "label": "x", "changes": {"severity": 3}}
    }
    sim = Simulator(scenario_from_dict(small), {}, None, ["us.doctrine.severity"], [])  # type: ignore[arg-type]
    configured = sim.configure([2.0]).scenario
    assert configured.us.doctrine.severity == 2.0
    assert configured.events["d"].changes == {"severity": 3}  # as in a written scenario file
