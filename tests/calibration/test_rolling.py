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
    misses_markdown,
    rolling_markdown,
    rolling_misses,
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


def _targets(folder: Path, rows: list[tuple[str, str, float, bool]]) -> None:
    """A fit's targets_posterior_predictive.csv with rows (id, role, median, hit)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["id,role,observed,median,p05,p95,hit"]
    lines += [f"{i},{role},>= 1,{m},0,{2 * m},{hit}" for i, role, m, hit in rows]
    (folder / "targets_posterior_predictive.csv").write_text("\n".join(lines) + "\n")


def test_each_later_miss_is_set_beside_the_fit_to_the_whole_record(tmp_path):
    """An origin's out-of-sample misses, and only those, are listed; each says whether the fit
    to the whole record misses it too (the model cannot fit it) or meets it (the earlier record
    did not teach it), with the calibration file's reason where it gives one."""
    origin = ORIGINS[1]
    _targets(
        tmp_path / folder_name("base", origin),
        [
            ("early", "fit", 3.0, False),
            ("late_met", "out of sample", 4.0, True),
            ("late_shared", "out of sample", 5.0, False),
            ("late_learnt", "out of sample", 6.0, False),
        ],
    )
    no_whole = rolling_misses(tmp_path, "base")
    assert list(no_whole["id"]) == ["late_shared", "late_learnt"]
    assert "misses 1 of them too" not in misses_markdown(no_whole, {})
    _targets(
        tmp_path / "base",
        [("late_met", "fit", 4.0, True), ("late_shared", "fit", 9.0, False),
         ("late_learnt", "fit", 7.0, True)],
    )  # fmt: skip
    misses = rolling_misses(tmp_path, "base")
    assert list(misses["whole_hit"]) == [False, True]
    text = misses_markdown(misses, {"late_shared": "no mechanism for it"})
    assert f"fitted to {origin.fit_until}: 2 later targets missed; the fit to the whole" in text
    assert "misses 1 of them too" in text and "meets 1" in text
    assert "| late_shared | >= 1 | 5 (0 to 10) | 9, missed |" in text
    assert "| late_learnt | >= 1 | 6 (0 to 12) | 7, met |" in text
    assert "- **late_shared**: no mechanism for it" in text
    none = misses_markdown(rolling_misses(tmp_path / "none", "base"), {})
    assert none.startswith("No fitted origin")


def test_the_rolling_command_writes_the_table_and_each_origins_misses(tmp_path, monkeypatch):
    """`--rolling` once every origin has its fit (the fits themselves stubbed): the table and
    the section on each origin's later misses, beside the whole-record fit, go to
    <name>-rolling.md."""
    import escalation.cli.calibrate as cli

    monkeypatch.setattr(cli, "_fit", lambda args, cal, out, bars: {})
    for origin in ORIGINS:
        folder = tmp_path / folder_name("baseline", origin)
        _targets(folder, [("late", "out of sample", 5.0, False)])
        crps = {"posterior_predictive": 0.3, "null_hawkes": 0.5}
        (folder / "scores.json").write_text(json.dumps(_scores(crps, 7)))
    _targets(tmp_path / "baseline", [("late", "fit", 9.0, True)])
    assert main(["calibrate", str(SPEC), "--rolling", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "baseline-rolling.md").read_text()
    assert "| 2020-12-31 | 2021-12-31 | posterior predictive | 7 of 10 (70%) | 0.300 |" in text
    assert "## The later targets each origin misses" in text
    assert text.count("| late | >= 1 | 5 (0 to 10) | 9, met |") == len(ORIGINS)
