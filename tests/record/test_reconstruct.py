"""The reconstruction meets every target it was built from, and reports conflicts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from escalation.record import compute_statistic, load_record, reconstruct, target_satisfied
from escalation.record.reconstruct import LABEL, TOLERANCE, Reconstruction
from escalation.record.types import Record


def test_every_used_target_is_met(record: Record, recon: Reconstruction) -> None:
    assert recon.unmet == ()
    checks = recon.checks
    used = {t.id for t in record.used_targets()}
    assert used <= set(checks["id"])
    assert checks["kept"].all()
    assert (checks["violation"] <= TOLERANCE).all(), checks[checks["violation"] > TOLERANCE]
    assert checks["satisfied"].all(), checks[~checks["satisfied"]]
    assert recon.worst_violation <= TOLERANCE


def test_recheck_on_reconstructed_daily_counts(record: Record, recon: Reconstruction) -> None:
    daily = recon.daily()
    for t in record.used_targets():
        value = compute_statistic(t, daily)
        assert target_satisfied(t, value), (t.id, value, t.value.describe())


def test_table_is_tidy_with_a_band(recon: Reconstruction) -> None:
    table = recon.table
    assert list(table.columns) == ["series", "month", "value", "low", "high"]
    assert (table["month"].dt.day == 1).all()
    assert (table["value"] >= 0).all()
    assert (table["low"] <= table["value"] + 1e-6).all()
    assert (table["high"] >= table["value"] - 1e-6).all()
    assert not table.duplicated(["series", "month"]).any()
    assert "not observed" in recon.label and recon.label == LABEL
    # the reconstruction honours the record where it is sharp
    bases = table[table["series"] == "acled_us_base"].set_index("month")["value"]
    assert 42.5 - 1e-6 <= bases.loc["2020-01-01":"2020-12-01"].sum() <= 57.5 + 1e-6
    convoys = table[table["series"] == "acled_us_convoy"].set_index("month")["value"]
    assert convoys.loc["2021-01-01":"2021-12-01"].sum() == pytest.approx(180, rel=1e-6)
    assert convoys.idxmax() == pd.Timestamp("2022-01-01")
    assert convoys.loc["2022-09-01":"2022-12-01"].max() <= 1e-6


def test_conflicting_readings_are_reported_not_dropped(record: Record) -> None:
    everything = reconstruct(record, targets=record.targets, band=False)
    assert everything.unmet, "the alternative readings contradict the used ones"
    ids = {u.id.split("@")[0] for u in everything.unmet}
    ids |= {p for u in everything.unmet for p in u.reason.split("conflicts with ")[-1].split(", ")}
    joined = " ".join(ids)
    assert (
        "acled_us_ceased_sep_2022_to_mar_2023" in joined or "acled_convoys_resumed_2023" in joined
    )
    for u in everything.unmet:
        assert u.violation > TOLERANCE and "conflicts with" in u.reason
    kept = everything.checks[everything.checks["kept"]]
    assert (kept["violation"] <= TOLERANCE).all()


def _tiny_record(tmp_path: Path, targets: str) -> Path:
    (tmp_path / "series.yaml").write_text(
        "series:\n  s:\n    label: S\n    description: test\n    source: test\n"
        "    actors: militias\n    targets: [us_base]\n",
        encoding="utf-8",
    )
    (tmp_path / "phases.yaml").write_text("phases: []\n", encoding="utf-8")
    (tmp_path / "targets.yaml").write_text("targets:\n" + targets, encoding="utf-8")
    return tmp_path


def _entry(tid: str, stat: str, start: str, end: str, value: str, extra: str = "") -> str:
    return (
        f"  - id: {tid}\n    series: s\n    statistic: {stat}\n"
        f"    window: {{start: {start}, end: {end}}}\n    value: {value}\n{extra}"
        "    source: {file: x.txt, passage: p}\n    definition: test\n"
    )


def test_smoothest_series_on_a_small_record(tmp_path: Path) -> None:
    rec = load_record(
        _tiny_record(
            tmp_path,
            _entry("year", "count", "2020-01-01", "2020-12-31", "{point: 120}")
            + _entry("day", "count", "2020-06-15", "2020-06-15", "{lower: 4}")
            + _entry("cap", "monthly_max", "2020-01-01", "2020-12-31", "{upper: 10}"),
        )
    )
    out = reconstruct(rec)
    values = out.table["value"].to_numpy()
    # 120 in a year with no month above 10: the only solution is 10 every month
    assert np.allclose(values, 10, atol=1e-6)
    # the single-day figure sits on its day without inflating June
    daily = out.daily()["s"]
    assert daily.loc["2020-06-15"] >= 4 - 1e-6
    assert daily.loc["2020-06-01":"2020-06-30"].sum() == pytest.approx(10, abs=1e-6)


def test_contradiction_in_a_small_record_is_reported(tmp_path: Path) -> None:
    rec = load_record(
        _tiny_record(
            tmp_path,
            _entry("many", "count", "2021-01-01", "2021-12-31", "{lower: 50}")
            + _entry("few", "count", "2021-01-01", "2021-06-30", "{upper: 5}")
            + _entry("none", "zero", "2021-07-01", "2021-12-31", "null"),
        )
    )
    out = reconstruct(rec, band=False)
    assert len(out.unmet) == 1
    u = out.unmet[0]
    others = {"many", "few", "none"} - {u.id}
    assert all(o in u.reason for o in others)
