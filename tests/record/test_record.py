"""The record as data: coverage of the seeds, verbatim citations, and loader validation."""

from __future__ import annotations

import itertools
import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from escalation.record import RecordError, find_seeds_dir, load_record, verify_passages
from escalation.record.types import APPROXIMATE_TOLERANCE, BASELINE_START, Record

# --------------------------------------------------------------------------------------------
# content
# --------------------------------------------------------------------------------------------


def test_at_least_thirty_targets_with_unique_ids(record: Record) -> None:
    ids = [t.id for t in record.targets]
    assert len(ids) >= 30
    assert len(set(ids)) == len(ids)
    assert len(record.used_targets()) >= 30
    assert all(re.fullmatch(r"[a-z0-9_]+", i) for i in ids)


def test_every_target_has_source_definition_and_known_series(record: Record) -> None:
    for t in record.targets:
        assert t.sources and all(s.passages for s in t.sources), t.id
        assert t.definition, t.id
        for sid in t.series_read:
            assert sid in record.series, (t.id, sid)


@pytest.mark.parametrize(
    "target_id",
    [
        # yearly counts and changes by target class
        "acled_bases_2020_approx_50",
        "acled_bases_2021_minus_25pct",
        "acled_bases_2022_minus_72pct",
        "acled_convoys_2022_minus_60pct",
        "acled_convoys_2021_180",
        "acled_convoys_2021_threefold",
        "acled_turkish_2022_fourfold",
        "acled_domestic_truce_campaign_over_35",
        # monthly highs and peaks
        "acled_convoys_jan_2022_at_least_28",
        "ctc_monthly_high_aug_2020_17",
        "acled_bases_convoys_peak_sep_2020",
        # truce, lulls and cessations
        "acled_truce_base_decrease",
        "acled_truce_aah_base_attacks",
        "acled_bases_zero_after_elections_oct_2021",
        "acled_us_ceased_after_aug_2022",
        "ctc_no_attacks_early_april_to_oct_17_2023",
        "acled_turkish_almost_stopped_2023",
        # weapons, claims, casualties
        "ctc_drones_2023_at_least_67",
        "ctc_drones_2021_2022_at_least_25",
        "ctc_ied_2020_2022_at_least_56",
        "ctc_ied_2023_one",
        "osint_rarely_over_10_rockets",
        "osint_rarely_over_3_drones",
        "acled_convoys_2021_aah_facade_40",
        "acled_convoys_2021_kh_claimed_11",
        "osint_wounded_2020_at_least_27",
        "osint_killed_2020_two",
        "osint_wounded_since_oct_17_2023_at_least_66",
        "osint_under_20_wounding_attacks_since_2017",
        # other sources and aggregates
        "isw_rocket_mortar_since_jan_3_2020",
        "knights_57_rocket_attacks_jan_sep_2020",
        "alarabiya_fourth_attack_since_feb_15_2021",
        "acled_militia_events_2019_2023",
        "acled_base_incidents_since_mid_2019",
        "acled_convoy_attacks_since_2020",
        "acled_turkish_apr_2021_mar_2023",
        "acled_turkish_apr_oct_2021_two",
        "acled_kurdish_energy_since_apr_2022",
        "dod_at_least_97_since_oct_17_2023",
        "dod_pause_during_gaza_ceasefire",
    ],
)
def test_required_figure_is_recorded(record: Record, target_id: str) -> None:
    assert record.target(target_id).use


def test_value_forms_are_kept(record: Record) -> None:
    approx = record.target("acled_bases_2020_approx_50").value
    assert approx.approximate and approx.point == 50
    assert approx.low == pytest.approx(50 * (1 - APPROXIMATE_TOLERANCE))
    assert approx.high == pytest.approx(50 * (1 + APPROXIMATE_TOLERANCE))
    over = record.target("acled_domestic_truce_campaign_over_35").value
    assert (over.form, over.low, over.low_strict) == ("lower", 35, True)
    fewer = record.target("osint_under_20_wounding_attacks_since_2017").value
    assert (fewer.form, fewer.high, fewer.high_strict) == ("upper", 20, True)
    exact = record.target("knights_57_rocket_attacks_jan_sep_2020").value
    assert (exact.form, exact.point) == ("point", 57)
    handful = record.target("ctc_handful_in_2023_before_surge").value
    assert (handful.form, handful.low, handful.high) == ("range", 2, 10)


def test_known_ambiguities_have_both_readings(record: Record) -> None:
    pairs = {
        "acled_domestic_truce_campaign_over_35": "acled_domestic_over_35_as_printed",
        "embassy_storming_31_dec_2019": "embassy_storming_31_dec_2020",
        "acled_bases_convoys_peak_sep_2020": "acled_bases_peak_sep_2020",
        "dod_at_least_97_since_oct_17_2023": "dod_at_least_97_by_dec_15_2023",
        "us_strike_soleimani_3_jan_2020": "us_strike_soleimani_2_jan_2020",
    }
    for used, other in pairs.items():
        assert record.target(used).use
        alt = record.target(other)
        assert not alt.use and alt.alternative_of == used
    morality = record.target("acled_domestic_truce_campaign_over_35")
    assert morality.window.start == date(2020, 10, 1)
    assert morality.window.end == date(2021, 2, 28)
    assert record.target("acled_domestic_over_35_as_printed").window.start == date(2021, 10, 1)


def test_pre_baseline_windows_are_tagged(record: Record) -> None:
    for t in record.targets:
        early = t.span.start < BASELINE_START
        assert early == ("pre_baseline" in t.tags), t.id
    late = record.targets_within(BASELINE_START, date(2023, 12, 31))
    assert all(t.span.start >= BASELINE_START for t in late)
    assert "osint_over_200_attacks_since_2017" not in {t.id for t in late}


def test_series_vocabulary(record: Record) -> None:
    ctc = record.series["ctc_us_forces"]
    assert 0 < ctc.coverage_for("us_convoy") < 1
    assert ctc.coverage_for("us_base") == 1
    assert record.series["dod_us_forces"].convention == "landed_near"
    assert record.series["acled_us_base"].is_subset_of(record.series["acled_us_base_convoy"])
    assert not record.series["acled_us_base"].is_subset_of(record.series["ctc_us_forces"])
    assert record.series["acled_us_base_aah_facade"].is_subset_of(record.series["acled_us_base"])


def test_main_phases_do_not_overlap_and_subphases_nest(record: Record) -> None:
    main = record.main_phases
    assert len(main) >= 8
    for a, b in itertools.pairwise(main):
        assert a.end < b.start
    ids = {p.id: p for p in record.phases}
    for p in record.phases:
        if p.level == "sub":
            parent = ids[p.within]
            assert parent.start <= p.start and p.end <= parent.end and p.overlap
    truce = ids["conditional_truce"]
    assert (truce.start, truce.end) == (date(2020, 10, 10), date(2021, 2, 27))


# --------------------------------------------------------------------------------------------
# verbatim citations
# --------------------------------------------------------------------------------------------

_SEEDS = find_seeds_dir()
needs_seeds = pytest.mark.skipif(
    _SEEDS is None,
    reason="seed documents not found at <repo>/../shared/seeds (set ESCALATION_SEEDS_DIR)",
)


@needs_seeds
def test_every_passage_occurs_verbatim_in_its_seed(record: Record) -> None:
    verify_passages(record)  # raises RecordError listing every passage not found


@needs_seeds
@pytest.mark.parametrize("kind", ["targets", "phases"])
def test_passages_verbatim_one_by_one(record: Record, kind: str) -> None:
    assert _SEEDS is not None
    texts = {p.name: p.read_text(encoding="utf-8") for p in _SEEDS.iterdir() if p.is_file()}
    items = (
        [(t.id, s) for t in record.targets for s in t.sources]
        if kind == "targets"
        else [(p.id, s) for p in record.phases for s in p.sources]
        + [(p.id, c.source) for p in record.phases for c in p.expected_change]
        + [(e.label, e.source) for e in record.events]
    )
    missing = [
        (i, s.file, p[:60]) for i, s in items for p in s.passages if p not in texts.get(s.file, "")
    ]
    assert not missing


def test_verify_passages_reports_missing_passage(record_dir: Path, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    rec = load_record(record_dir)
    # a seeds directory whose files lack the passages: every citation is reported
    for name in {s.file for t in rec.targets for s in t.sources}:
        (seeds / name).write_text("nothing relevant here", encoding="utf-8")
    with pytest.raises(RecordError) as err:
        verify_passages(rec, seeds)
    msg = str(err.value)
    assert "passage not found verbatim" in msg
    assert "entry 'acled_militia_events_2019_2023'" in msg
    assert "targets.yaml" in msg


# --------------------------------------------------------------------------------------------
# malformed files
# --------------------------------------------------------------------------------------------


def _edit_targets(record_dir: Path, edit) -> Path:
    path = record_dir / "targets.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data["targets"][0])
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _load_error(path: Path) -> str:
    with pytest.raises(RecordError) as err:
        load_record(path)
    return str(err.value)


FIRST = "entry 'acled_militia_events_2019_2023'"


def test_rejects_missing_source(record_dir: Path) -> None:
    path = _edit_targets(record_dir, lambda t: t.pop("source"))
    msg = _load_error(record_dir)
    assert str(path) in msg and FIRST in msg and "key 'source'" in msg
    assert "\n" not in msg


def test_rejects_low_above_high(record_dir: Path) -> None:
    _edit_targets(record_dir, lambda t: t.update(value={"low": 10, "high": 2}))
    msg = _load_error(record_dir)
    assert "targets.yaml" in msg and FIRST in msg and "key 'value'" in msg and "low" in msg


def test_rejects_window_ending_before_start(record_dir: Path) -> None:
    _edit_targets(
        record_dir, lambda t: t.update(window={"start": "2020-05-01", "end": "2020-04-30"})
    )
    msg = _load_error(record_dir)
    assert FIRST in msg and "key 'window.end'" in msg and "2020-05-01" in msg


def test_rejects_unknown_series(record_dir: Path) -> None:
    _edit_targets(record_dir, lambda t: t.update(series="acled_no_such_series"))
    msg = _load_error(record_dir)
    assert FIRST in msg and "key 'series'" in msg and "acled_no_such_series" in msg


def test_rejects_unknown_statistic(record_dir: Path) -> None:
    _edit_targets(record_dir, lambda t: t.update(statistic="median"))
    msg = _load_error(record_dir)
    assert FIRST in msg and "key 'statistic'" in msg and "median" in msg and "count" in msg


def test_rejects_value_form_that_is_not_listed(record_dir: Path) -> None:
    _edit_targets(record_dir, lambda t: t.update(value={"lower": 3, "upper": 9}))
    msg = _load_error(record_dir)
    assert FIRST in msg and "key 'value'" in msg


def test_rejects_broken_yaml(record_dir: Path) -> None:
    path = record_dir / "targets.yaml"
    path.write_text("targets:\n  - id: x\n    series: [unclosed\n", encoding="utf-8")
    msg = _load_error(record_dir)
    assert str(path) in msg and "broken YAML" in msg and "line" in msg


def test_rejects_missing_file(record_dir: Path, tmp_path: Path) -> None:
    (record_dir / "series.yaml").unlink()
    msg = _load_error(record_dir)
    assert "series.yaml" in msg and "not found" in msg
    msg = _load_error(tmp_path / "does_not_exist")
    assert "does_not_exist" in msg and "not found" in msg


def test_rejects_duplicate_id_across_files(record_dir: Path, tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    data = yaml.safe_load((record_dir / "targets.yaml").read_text(encoding="utf-8"))
    extra.write_text(
        yaml.safe_dump({"targets": data["targets"][:1]}, allow_unicode=True), encoding="utf-8"
    )
    with pytest.raises(RecordError) as err:
        load_record(record_dir, extra_targets=[extra])
    assert "extra.yaml" in str(err.value) and "unique" in str(err.value)


def test_rejects_bad_series_definition(record_dir: Path) -> None:
    path = record_dir / "series.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["series"]["acled_us_base"]["weapons"] = ["rocket", "laser"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    msg = _load_error(record_dir)
    assert "series.yaml" in msg and "series 'acled_us_base'" in msg and "key 'weapons'" in msg


def test_rejects_overlapping_main_phases(record_dir: Path) -> None:
    path = record_dir / "phases.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["phases"][1]["start"] = date(2020, 9, 1)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    msg = _load_error(record_dir)
    assert "phases.yaml" in msg and "conditional_truce" in msg and "overlap" in msg


def test_extra_targets_and_series_files(record_dir: Path, tmp_path: Path) -> None:
    series = tmp_path / "my_series.yaml"
    series.write_text(
        "series:\n  my_bases:\n    label: My bases\n    description: test\n    source: mine\n"
        "    actors: militias\n    targets: [us_base]\n",
        encoding="utf-8",
    )
    targets = tmp_path / "my_targets.yaml"
    targets.write_text(
        "targets:\n  - id: my_2020\n    series: my_bases\n    statistic: count\n"
        "    window: {start: 2020-01-01, end: 2020-12-31}\n    value: {lower: 3}\n"
        "    source: {file: notes.txt, passage: three}\n    definition: test\n",
        encoding="utf-8",
    )
    rec = load_record(record_dir, extra_targets=[targets], extra_series=[series])
    assert rec.target("my_2020").series == "my_bases"
    assert rec.series["my_bases"].weapons == "any"
