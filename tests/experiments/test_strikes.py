"""What each timeline strike did: runs with and without it on the same seeds."""

from __future__ import annotations

import pandas as pd

from escalation.experiments.strikes import strike_effects, strike_events
from escalation.scenario.loading import scenario_from_dict, with_overrides

STRIKE = {
    "date": "2020-06-01",
    "type": "us_strike",
    "label": "strike",
    "theatre": "iraq",
    "militia": "A",
    "severity": 2.0,
}
NO_DETERRENCE = {
    "militia_defaults.weights.deterrence": 0.0,
    "militia_defaults.weights.fear": 0.0,
    "us.strike_effects.iraq.stock_loss": 0.0,
}


def test_one_row_per_strike_in_date_order_and_the_same_for_the_same_seed(small):
    small["events"] = {
        "late": {**STRIKE, "date": "2020-09-01", "label": "late"},
        "early": STRIKE,
    }
    sc = scenario_from_dict(small)
    assert [eid for eid, _ in strike_events(sc)] == ["early", "late"]
    a = strike_effects(sc, replicates=6, seed=3, jobs=1)
    b = strike_effects(sc, replicates=6, seed=3, jobs=2)
    pd.testing.assert_frame_equal(a, b)
    assert list(a["event"]) == ["early", "late"]
    assert set(a["effect"]) <= {"deters", "provokes", "unclear"}
    assert (a["with_strike"] != a["without_strike"]).any()


def test_without_deterrence_a_strike_provokes(small):
    small["events"] = {"hit": STRIKE}
    sc = with_overrides(scenario_from_dict(small), NO_DETERRENCE)
    (row,) = strike_effects(sc, replicates=30, seed=0, jobs=2).itertuples()
    assert row.effect == "provokes" and row.difference - row.difference_pm90 > 0


def test_a_scenario_without_strikes_gives_an_empty_table(small):
    table = strike_effects(scenario_from_dict(small), replicates=2, jobs=1)
    assert table.empty and "effect" in table.columns
