"""Statistics on hand-made daily series, and the value forms."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from escalation.record import compute_statistic, evaluate_targets, target_satisfied
from escalation.record.types import Record, Source, Target, Value, Window


def _daily(points: dict[str, float]) -> pd.Series:
    s = pd.Series(points, dtype=float)
    s.index = pd.to_datetime(s.index)
    return s.sort_index()


def _t(
    stat: str,
    start: str,
    end: str,
    value: Value | None = None,
    *,
    series: str = "a",
    reference: tuple[str, str] | None = None,
    reference_series: str | None = None,
    of_series: str | None = None,
) -> Target:
    return Target(
        id=f"t_{stat}",
        series=series,
        window=Window(date.fromisoformat(start), date.fromisoformat(end)),
        statistic=stat,
        value=value or Value(form="lower", low=0),
        sources=(Source("x.txt", ("p",)),),
        definition="test",
        reference=Window(*(date.fromisoformat(d) for d in reference)) if reference else None,
        reference_series=reference_series,
        of_series=of_series,
    )


DAILY = {
    "a": _daily(
        {
            "2020-01-01": 1,
            "2020-01-31": 2,
            "2020-02-01": 4,
            "2020-02-15": 1,
            "2020-03-31": 3,
            "2020-04-10": 6,
        }
    ),
    "b": _daily({"2020-01-15": 2, "2020-02-20": 8}),
}


def test_count_is_inclusive_and_day_precise() -> None:
    assert compute_statistic(_t("count", "2020-01-01", "2020-01-31"), DAILY) == 3
    assert compute_statistic(_t("count", "2020-01-31", "2020-02-01"), DAILY) == 6
    assert compute_statistic(_t("count", "2020-01-02", "2020-01-30"), DAILY) == 0
    assert compute_statistic(_t("count", "2019-06-01", "2019-12-31"), DAILY) == 0


def test_mean_annual_divides_by_years() -> None:
    daily = {"a": _daily({"2017-03-01": 1, "2018-03-01": 1, "2019-03-01": 1, "2020-01-01": 9})}
    val = compute_statistic(_t("mean_annual", "2017-01-01", "2019-12-31"), daily)
    assert val == pytest.approx(3 / (1095 / 365.25))


def test_monthly_max_and_min_cut_months_to_the_window() -> None:
    # window 15 Jan - 10 Apr: Jan 31 (2), Feb (5), Mar (3), Apr 1-10 (6)
    assert compute_statistic(_t("monthly_max", "2020-01-15", "2020-04-10"), DAILY) == 6
    assert compute_statistic(_t("monthly_max", "2020-01-15", "2020-04-09"), DAILY) == 5
    assert compute_statistic(_t("monthly_min", "2020-01-15", "2020-04-10"), DAILY) == 2
    # a month with nothing counts as zero
    assert compute_statistic(_t("monthly_min", "2020-01-01", "2020-05-31"), DAILY) == 0


def test_peak_month_earliest_wins_a_tie_and_empty_is_blank() -> None:
    month = Value(form="month", month="2020-02")
    assert (
        compute_statistic(_t("peak_month", "2020-01-01", "2020-03-31", month), DAILY) == "2020-02"
    )
    tie = {"a": _daily({"2020-01-05": 2, "2020-03-05": 2})}
    assert compute_statistic(_t("peak_month", "2020-01-01", "2020-03-31", month), tie) == "2020-01"
    assert compute_statistic(_t("peak_month", "2021-01-01", "2021-03-31", month), DAILY) == ""


def test_zero() -> None:
    z = Value(form="zero", low=0, high=0, point=0)
    assert target_satisfied(_t("zero", "2020-01-02", "2020-01-30", z), 0.0)
    val = compute_statistic(_t("zero", "2020-01-02", "2020-01-31", z), DAILY)
    assert val == 2
    assert not target_satisfied(_t("zero", "2020-01-02", "2020-01-31", z), val)


def test_ratio_with_reference_window_and_series() -> None:
    t = _t("ratio", "2020-02-01", "2020-02-29", reference=("2020-01-01", "2020-01-31"))
    assert compute_statistic(t, DAILY) == pytest.approx(5 / 3)
    t = _t(
        "ratio", "2020-02-01", "2020-02-29", reference=("2020-01-01", "2020-01-31"),
        reference_series="b",
    )  # fmt: skip
    assert compute_statistic(t, DAILY) == pytest.approx(5 / 2)
    t = _t("ratio", "2020-02-01", "2020-02-29", reference=("2021-01-01", "2021-01-31"))
    assert compute_statistic(t, DAILY) == math.inf
    t = _t("ratio", "2021-02-01", "2021-02-28", reference=("2021-01-01", "2021-01-31"))
    assert math.isnan(compute_statistic(t, DAILY))
    assert not target_satisfied(t, compute_statistic(t, DAILY))


def test_share_over_the_same_window() -> None:
    t = _t("share", "2020-01-01", "2020-02-29", series="b", of_series="a")
    assert compute_statistic(t, DAILY) == pytest.approx(10 / 8)
    t = _t("share", "2020-01-01", "2020-01-31", series="b", of_series="a")
    assert compute_statistic(t, DAILY) == pytest.approx(2 / 3)


def test_longest_zero_run() -> None:
    daily = {"a": _daily({"2023-11-21": 3, "2023-11-24": 1, "2023-11-30": 2})}
    # quiet days inside 21-30 Nov: 22-23 (2) and 25-29 (5)
    assert compute_statistic(_t("longest_zero_run", "2023-11-21", "2023-11-30"), daily) == 5
    assert compute_statistic(_t("longest_zero_run", "2023-11-21", "2023-11-24"), daily) == 2
    assert compute_statistic(_t("longest_zero_run", "2023-12-01", "2023-12-10"), daily) == 10


def test_missing_series_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="no daily counts for series 'zzz'"):
        compute_statistic(_t("count", "2020-01-01", "2020-01-31", series="zzz"), DAILY)


@pytest.mark.parametrize(
    ("value", "inside", "outside"),
    [
        (Value(form="point", low=57, high=57, point=57), [57, 57.00001], [56.9, 57.1]),
        (
            Value(form="point", low=42.5, high=57.5, point=50, approximate=True),
            [42.5, 50, 57.5],
            [42.4, 57.6],
        ),
        (
            Value(form="point", low=0.745, high=0.755, point=0.75, tolerance=0.005),
            [0.745, 0.75, 0.755],
            [0.74, 0.76],
        ),
        (Value(form="range", low=2, high=10), [2, 5, 10], [1.9, 10.1]),
        (Value(form="lower", low=35, low_strict=True), [35.01, 100], [35, 34]),
        (Value(form="lower", low=15), [15, 16], [14.9]),
        (Value(form="upper", high=20, high_strict=True), [19.9, 0], [20, 21]),
        (Value(form="upper", high=2), [2, 0], [2.1]),
    ],
)
def test_target_satisfied_by_value_form(
    value: Value, inside: list[float], outside: list[float]
) -> None:
    t = _t("count", "2020-01-01", "2020-12-31", value)
    for x in inside:
        assert target_satisfied(t, x), (value.form, x)
    for x in outside:
        assert not target_satisfied(t, x), (value.form, x)


def test_peak_month_satisfied_only_by_that_month() -> None:
    t = _t("peak_month", "2020-01-01", "2020-12-31", Value(form="month", month="2020-09"))
    assert target_satisfied(t, "2020-09")
    assert not target_satisfied(t, "2020-08")
    assert not target_satisfied(t, "")


def test_evaluate_targets_on_record(record: Record) -> None:
    days = pd.date_range("2019-01-01", "2023-12-31", freq="D")
    daily = {sid: pd.Series(0.0, index=days) for sid in record.series}
    table = evaluate_targets(record, daily)
    assert len(table) == len(record.used_targets())
    zero_rows = table[table["statistic"] == "zero"]
    assert zero_rows["satisfied"].all()
    assert not table.set_index("id").loc["acled_convoys_2021_180", "satisfied"]
