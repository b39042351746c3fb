"""How freely the militias attack: their odds of attacking a class when one is within reach."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from escalation.calibration.report import _will
from escalation.experiments.will import SATURATED, attack_odds, will_table
from escalation.model.model import EscalationModel
from escalation.scenario.loading import scenario_from_dict


def test_sampling_the_odds_leaves_the_run_unchanged(small):
    sc = scenario_from_dict(small)
    plain = EscalationModel(sc, seed=5, collect=False)
    plain.run()
    sampled = EscalationModel(sc, seed=5, collect=False)
    while sampled.running:
        sampled.step()
        for militia in sampled.militias.values():
            attack_odds(militia)
    assert plain.log == sampled.log
    assert len(plain.log) > 20


def test_the_odds_are_the_summed_weights_of_each_class(small):
    model = EscalationModel(scenario_from_dict(small), seed=1, collect=False)
    model.step()
    militia = model.militias["A"]
    options, weights = militia.options()
    odds = attack_odds(militia)
    assert set(odds) == {o.target for o in options}
    for tid, p in odds.items():
        w = sum(x for o, x in zip(options, weights, strict=True) if o.target == tid)
        assert p == pytest.approx(w / (1 + w))
        assert 0.0 < p < 1.0


def _row(table: pd.DataFrame, militia: str, target: str, period: str) -> pd.Series:
    rows = table[(table.militia == militia) & (table.target == target) & (table.period == period)]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_a_militia_bent_on_attacking_is_saturated_and_a_reluctant_one_is_not(small):
    small["militias"]["A"]["resolve"] = 8.0
    small["militias"]["B"]["resolve"] = -6.0
    small["targets"] = {"us_convoy": {"opportunity": 0.3}}
    table = will_table(scenario_from_dict(small), replicates=4, seed=2)
    eager = _row(table, "A", "us_convoy", "2020 H1")
    reluctant = _row(table, "B", "us_base", "2020 H1")
    assert eager.odds >= SATURATED and eager.saturated_share == 1.0
    assert reluctant.odds < 0.1 and reluctant.saturated_share == 0.0
    # attacking whenever a convoy is in reach: its convoy attacks follow the opportunity (its
    # other classes take some of the days a convoy passes)
    days = 182
    assert eager.reach == pytest.approx(0.3)
    assert eager.attacks <= days * eager.reach * 1.2
    assert eager.attacks >= days * eager.reach * 0.3


def test_a_militia_out_of_rockets_is_marked_unarmed(small):
    small["iran"]["resupply"]["amounts"] = {"rocket": 0, "ied": 0}
    small["militia_defaults"]["stocks"] = {"rocket": 20, "ied": 0}
    small["militias"]["A"]["resolve"] = 4.0
    table = will_table(scenario_from_dict(small), replicates=3, seed=4)
    late = _row(table, "A", "us_base", "2020 H2")
    assert late.unarmed_share == 1.0
    assert late.attacks == 0.0 and math.isnan(late.odds)
    early = _row(table, "A", "us_base", "2020 H1")
    assert early.unarmed_share < 1.0 and early.attacks > 0


def test_the_same_seed_gives_the_same_table_on_one_process_or_two(small):
    sc = scenario_from_dict(small)
    from escalation.experiments.executors import make_executor

    serial = will_table(sc, replicates=4, seed=9)
    pool = make_executor(2)
    try:
        parallel = will_table(sc, replicates=4, seed=9, executor=pool)
    finally:
        pool.close()
    pd.testing.assert_frame_equal(serial, parallel)
    assert set(serial["runs"]) == {4}
    shares = serial[["odds", "saturated_share", "dropped_share", "unarmed_share"]].stack()
    assert shares.dropna().between(0, 1).all()
    assert not math.isnan(serial["reach"].sum())


def test_the_report_marks_saturated_classes(small):
    small["militias"]["A"]["resolve"] = 8.0
    table = will_table(scenario_from_dict(small), replicates=2, seed=1)

    class Inputs:
        will = table

    text = "\n".join(_will(Inputs()))  # type: ignore[arg-type]
    assert "## How freely the militias attack" in text
    assert "**" in text and "Saturated: A on us_base" in text
