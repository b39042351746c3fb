"""Rolling origins: the targets each origin fits and holds out, bad dates, and the table of the
origins' out-of-sample scores."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from escalation.calibration.loading import load_calibration
from escalation.calibration.rolling import (
    ORIGINS,
    Origin,
    folder_name,
    rolling_markdown,
    rolling_table,
    stale_origins,
)
from escalation.cli.main import main
from escalation.errors import UserError

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "calibrations" / "baseline.yaml"


def test_an_origin_holds_out_only_the_targets_up_to_its_horizon():
    until, horizon = date(2020, 12, 31), date(2021, 12, 31)
    cal = load_calibration(SPEC, fit_until=until, score_until=horizon)
    assert all(t.span.end <= until for t in cal.fit_targets)
    assert cal.holdout_targets
    assert all(until < t.span.end <= horizon for t in cal.holdout_targets)
    later = [t for t in cal.score_targets if t.span.end > horizon]
    assert later and not set(later) & set(cal.holdout_targets)
    everything = load_calibration(SPEC, fit_until=until)
    assert len(everything.holdout_targets) == len(cal.holdout_targets) + len(later)
    assert everything.names == cal.names  # the same fit: only the scoring differs


@pytest.mark.parametrize(
    "until, horizon, message",
    [
        (date(2021, 12, 31), date(2021, 6, 30), "needs a fit_until before it"),
        (None, date(2021, 6, 30), "needs a fit_until before it"),
        (date(2021, 12, 31), date(2022, 1, 2), "no target ends after fit_until"),
    ],
)
def test_bad_horizons_are_named(until, horizon, message):
    with pytest.raises(UserError, match=message):
        load_calibration(SPEC, fit_until=until, score_until=horizon)


def test_rolling_takes_no_dates_of_its_own(tmp_path, capsys):
    code = main(
        ["calibrate", str(SPEC), "--rolling", "--fit-until", "2021-12-31", "--out", str(tmp_path)]
    )
    assert code == 2
    assert "--rolling fits at its own origins" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def _scores(crps: dict[str, float], hits: int) -> dict:
    def one(c: float) -> dict:
        return {"out_of_sample_targets": {"targets": 10, "hits": hits, "hit_rate": hits / 10,
                                          "crps": c}}  # fmt: skip

    return {key: one(c) for key, c in crps.items()}


def test_the_table_reads_every_finished_origin_and_says_who_wins(tmp_path):
    first, second = ORIGINS[0], ORIGINS[1]
    for origin, crps in (
        (first, {"posterior_predictive": 0.3, "calibrated": 0.35, "null_hawkes": 0.4,
                 "null_constant_rate": 0.5}),
        (second, {"posterior_predictive": 0.45, "calibrated": 0.5, "null_hawkes": 0.4,
                  "null_constant_rate": 0.6}),
    ):  # fmt: skip
        folder = tmp_path / folder_name("base", origin)
        folder.mkdir()
        (folder / "scores.json").write_text(json.dumps(_scores(crps, 7)))
    table = rolling_table(tmp_path, "base")
    assert list(table["fit_until"].unique()) == [str(first.fit_until), str(second.fit_until)]
    assert len(table) == 8  # the third origin is not fitted yet: left out
    text = rolling_markdown(table)
    assert f"fitted to {first.fit_until}: the posterior predictive beats every null" in text
    assert f"fitted to {second.fit_until}: the posterior predictive does **not** beat Hawkes" in (
        text
    )
    assert folder_name("base", Origin(date(2021, 12, 31), None)) == "base-until-2021-12-31"


def test_an_origin_fitted_with_other_values_is_stale(tmp_path):
    """An origin whose fit named other values than the calibration does now was fitted with an
    earlier version of it: it is reported stale, not scored as a test of this one."""
    for origin, names in zip(ORIGINS[:2], (["a", "b"], ["a"]), strict=True):
        folder = tmp_path / folder_name("base", origin)
        folder.mkdir()
        (folder / "scores.json").write_text(json.dumps({"best": dict.fromkeys(names, 1.0)}))
    assert stale_origins(tmp_path, "base", {"a", "b"}) == [str(ORIGINS[1].fit_until)]
    assert stale_origins(tmp_path, "base", {"a"}) == [str(ORIGINS[0].fit_until)]
