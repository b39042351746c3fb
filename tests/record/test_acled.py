"""ACLED export loader, on a small fixture in ACLED's format written here (no ACLED data ships)."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from escalation.record import RecordError, compute_statistic, load_acled, target_satisfied
from escalation.record.acled import REQUIRED_COLUMNS, load_acled_mapping
from escalation.record.types import Record

COLUMNS = [
    "event_id_cnty", "event_date", "year", "time_precision", "disorder_type", "event_type",
    "sub_event_type", "actor1", "assoc_actor_1", "inter1", "actor2", "assoc_actor_2", "inter2",
    "interaction", "civilian_targeting", "iso", "region", "country", "admin1", "admin2", "admin3",
    "location", "latitude", "longitude", "geo_precision", "source", "source_scale", "notes",
    "fatalities", "tags", "timestamp",
]  # fmt: skip

EXPLOSION = "Explosions/Remote violence"
ROWS = [
    # AAH facade rocket attack on a base hosting US forces (Erbil), ACLED's date format
    ("IRQ1", "15 February 2021", EXPLOSION, "Shelling/artillery/missile attack",
     "Saraya Awliya al-Dam", "", "Military Forces of the United States (2021-)", "",
     "Erbil", "Rockets hit Erbil airport hosting coalition forces; one contractor killed."),
    # unclaimed IED on a logistics convoy, ISO date
    ("IRQ2", "2021-02-20", EXPLOSION, "Remote explosive/landmine/IED",
     "Unidentified Armed Group (Iraq)", "", "Civilians (Iraq)", "",
     "Diwaniyah", "An IED targeted a convoy of trucks carrying logistical supplies "
     "for the US-led coalition."),
    # AAH facade IED on a convoy in March
    ("IRQ3", "3 March 2021", EXPLOSION, "Remote explosive/landmine/IED",
     "Ashab al-Kahf", "", "Civilians (Iraq)", "",
     "Babil", "Ashab al-Kahf claimed a roadside bomb against a coalition supply convoy."),
    # AAH facade rockets on the Turkish Zilkan base
    ("IRQ4", "27 December 2021", EXPLOSION, "Shelling/artillery/missile attack",
     "Liwa Ahrar al-Iraq", "", "Military Forces of Turkey (2016-)", "",
     "Bashiqa", "4 rockets targeted the Turkish military base at Zilkan."),
    # KH facade IED on a liquor store
    ("IRQ5", "10 November 2020", EXPLOSION, "Remote explosive/landmine/IED",
     "Rabaallah", "", "Civilians (Iraq)", "",
     "Baghdad", "An IED exploded at a liquor store in Karrada; Rabaallah claimed it."),
    # unclaimed IED on a liquor store, same month
    ("IRQ6", "22 November 2020", EXPLOSION, "Remote explosive/landmine/IED",
     "Unidentified Armed Group (Iraq)", "", "Civilians (Iraq)", "",
     "Baghdad", "An IED damaged a liquor store in Palestine Street."),
    # a protest: not an attack type, skipped
    ("IRQ7", "5 January 2020", "Protests", "Peaceful protest",
     "Protesters (Iraq)", "", "", "", "Baghdad", "Protest against the US presence."),
    # a battle that matches no series (no militia, no listed target)
    ("IRQ8", "12 March 2021", "Battles", "Armed clash",
     "Military Forces of Iraq (2020-)", "", "Islamic State (Iraq)", "",
     "Kirkuk", "Clashes between the army and IS militants near Kirkuk."),
]  # fmt: skip


def _write(path: Path, rows: list[tuple[str, ...]], columns: list[str] = COLUMNS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for eid, day, etype, sub, a1, aa1, a2, aa2, loc, notes in rows:
            row = dict.fromkeys(columns, "")
            row |= {
                "event_id_cnty": eid, "event_date": day, "event_type": etype,
                "sub_event_type": sub, "actor1": a1, "assoc_actor_1": aa1, "actor2": a2,
                "assoc_actor_2": aa2, "country": "Iraq", "location": loc, "notes": notes,
                "year": day[-4:] if not day[:4].isdigit() else day[:4], "fatalities": "0",
            }  # fmt: skip
            writer.writerow({k: v for k, v in row.items() if k in columns})
    return path


@pytest.fixture
def export(tmp_path: Path) -> Path:
    return _write(tmp_path / "acled_export.csv", ROWS)


def _month(data, sid: str, month: str) -> float:
    m = data.monthly()
    hit = m[(m["series"] == sid) & (m["month"] == pd.Timestamp(month))]
    return float(hit["count"].sum())


def test_events_counted_into_the_right_series_and_months(export: Path, record: Record) -> None:
    data = load_acled(export, record=record)
    assert _month(data, "acled_us_base", "2021-02-01") == 1
    assert _month(data, "acled_us_base_aah_facade", "2021-02-01") == 1
    assert _month(data, "acled_us_convoy", "2021-02-01") == 1
    assert _month(data, "acled_us_convoy", "2021-03-01") == 1
    assert _month(data, "acled_us_convoy_ied", "2021-02-01") == 1
    assert _month(data, "acled_us_convoy_aah_facade", "2021-03-01") == 1
    assert _month(data, "acled_us_convoy_aah_facade", "2021-02-01") == 0  # unclaimed
    assert _month(data, "acled_us_base_convoy", "2021-02-01") == 2
    assert _month(data, "acled_turkish_base", "2021-12-01") == 1
    assert _month(data, "acled_turkish_base_aah_facade", "2021-12-01") == 1
    assert _month(data, "acled_domestic", "2020-11-01") == 2
    assert _month(data, "acled_domestic_claimed", "2020-11-01") == 1
    assert _month(data, "acled_domestic_kh_facade", "2020-11-01") == 1
    assert _month(data, "acled_domestic_unclaimed", "2020-11-01") == 1
    assert _month(data, "acled_domestic_ied", "2020-11-01") == 2
    assert _month(data, "acled_militia_all", "2021-02-01") == 2
    assert _month(data, "acled_us_base", "2021-03-01") == 0
    # the unmatched battle and the skipped protest
    assert list(data.unmatched["event_id_cnty"]) == ["IRQ8"]
    assert list(data.skipped["event_id_cnty"]) == ["IRQ7"]
    assert set(data.events["event_id_cnty"]) == {f"IRQ{i}" for i in range(1, 7)}
    erbil = data.events.set_index("event_id_cnty").loc["IRQ1"]
    assert (erbil["militia"], erbil["claim"], erbil["target_class"]) == ("AAH", "facade", "us_base")
    assert data.events.set_index("event_id_cnty").loc["IRQ4", "size"] == 4


def test_daily_counts_feed_the_statistics(export: Path, record: Record) -> None:
    data = load_acled(export, record=record)
    daily = data.daily
    assert daily["acled_us_base"].index.min() == pd.Timestamp("2020-01-05")
    erbil = record.target("acled_erbil_15_feb_2021")
    assert compute_statistic(erbil, daily) == 1
    assert target_satisfied(erbil, compute_statistic(erbil, daily))
    ceased = record.target("acled_domestic_ceased_march_2021")
    assert target_satisfied(ceased, compute_statistic(ceased, daily))


def test_monthly_counts_become_targets(export: Path, record: Record) -> None:
    data = load_acled(export, record=record, series=["acled_us_convoy", "acled_domestic"])
    targets = data.to_targets(relative_tolerance=0.1, absolute_tolerance=1)
    by_id = {t.id: t for t in targets}
    feb = by_id["acled_export_acled_us_convoy_2021_02"]
    assert feb.statistic == "count" and feb.value.point == 1 and feb.value.tolerance == 1
    assert by_id["acled_export_acled_domestic_2020_11"].value.point == 2
    for t in targets:
        assert target_satisfied(t, compute_statistic(t, data.daily))


def test_bad_date_is_a_clear_error(tmp_path: Path, record: Record) -> None:
    rows = [*ROWS[:2], ("IRQ9", "31 Febtober 2021", *ROWS[0][2:])]
    path = _write(tmp_path / "bad.csv", rows)
    with pytest.raises(RecordError) as err:
        load_acled(path, record=record)
    msg = str(err.value)
    assert "bad.csv" in msg and "row 4" in msg and "IRQ9" in msg and "event_date" in msg
    assert "31 Febtober 2021" in msg


def test_missing_columns_are_named(tmp_path: Path, record: Record) -> None:
    columns = [c for c in COLUMNS if c not in ("notes", "actor2")]
    path = _write(tmp_path / "thin.csv", ROWS, columns)
    with pytest.raises(RecordError) as err:
        load_acled(path, record=record)
    assert "thin.csv" in str(err.value) and "notes" in str(err.value)
    assert "actor2" in str(err.value)
    assert set(REQUIRED_COLUMNS) >= {"notes", "actor2"}


def test_missing_export_and_broken_mapping(tmp_path: Path, export: Path, record: Record) -> None:
    with pytest.raises(RecordError, match="not found"):
        load_acled(tmp_path / "nope.csv", record=record)
    bad_regex = tmp_path / "bad_regex.yaml"
    bad_regex.write_text(
        "event_types: [Battles]\nactors:\n  KH:\n    own: ['Kata(ib']\n"
        "targets:\n  - class: us_base\n    patterns: [base]\nweapons:\n  rocket: [rocket]\n",
        encoding="utf-8",
    )
    with pytest.raises(RecordError) as err:
        load_acled(export, bad_regex, record=record)
    assert "bad_regex.yaml" in str(err.value) and "actors.KH.own[0]" in str(err.value)
    broken = tmp_path / "broken.yaml"
    broken.write_text("event_types: [Battles\n", encoding="utf-8")
    with pytest.raises(RecordError, match="broken YAML"):
        load_acled_mapping(broken)
    bad_class = tmp_path / "bad_class.yaml"
    bad_class.write_text(
        "event_types: [Battles]\nactors: {KH: {own: [KH]}}\n"
        "targets:\n  - class: moon_base\n    patterns: [base]\nweapons: {rocket: [rocket]}\n",
        encoding="utf-8",
    )
    with pytest.raises(RecordError) as err:
        load_acled_mapping(bad_class)
    assert "targets[0].class" in str(err.value) and "moon_base" in str(err.value)


def test_series_that_acled_cannot_count_are_rejected(export: Path, record: Record) -> None:
    with pytest.raises(RecordError, match="osint_us_wounded"):
        load_acled(export, record=record, series=["osint_us_wounded"])


def test_history_command_writes_the_export_monthly_counts(export: Path, tmp_path: Path) -> None:
    from escalation.cli.main import main

    out = tmp_path / "history"
    assert main(["history", "--acled", str(export), "--out", str(out)]) == 0
    monthly = pd.read_csv(out / "acled_monthly.csv")
    assert set(monthly.columns) == {"series", "month", "count"}
    assert monthly["count"].sum() > 0


@pytest.mark.parametrize("day", ["9999-01-01", "1 January 1900", "2200-06-01"])
def test_date_outside_the_sane_range_is_refused(tmp_path: Path, record: Record, day: str) -> None:
    path = _write(tmp_path / "far.csv", [*ROWS, ("IRQ9", day, *ROWS[0][2:])])
    with pytest.raises(RecordError) as info:
        load_acled(path, record=record)
    text = str(info.value)
    assert "row 10" in text and "IRQ9" in text and "1950-01-01" in text and "2100-12-31" in text
