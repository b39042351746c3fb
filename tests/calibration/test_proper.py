"""The censored CRPS: the ordinary CRPS for points, exact for ranges and bounds, 0 inside, growing
with the mass outside; per-target scaling, peak months and the rule for undefined statistics."""

from __future__ import annotations

import math
from datetime import date
from itertools import pairwise

import numpy as np
import pytest

from escalation.calibration.proper import MISSING, censored_crps, mean_crps, target_crps
from escalation.calibration.scoring import Roles, model_scores
from escalation.record.summary import TargetSet
from escalation.record.types import Value, Window


def _numeric(x: np.ndarray, low: float, high: float) -> float:
    """Both integrals by the midpoint rule on a fine grid."""
    z = np.linspace(-12.0, 12.0, 1_200_001)
    mid, dz = (z[1:] + z[:-1]) / 2, z[1] - z[0]
    f = np.searchsorted(np.sort(x), mid, side="right") / len(x)
    inside = np.where(mid < low, f**2, 0.0) + np.where(mid > high, (1 - f) ** 2, 0.0)
    return float(np.sum(inside) * dz)


def test_a_point_observation_gives_the_ordinary_crps():
    rng = np.random.default_rng(0)
    for n in (1, 2, 9, 40):
        x = rng.normal(size=n)
        y = 0.3
        kernel = np.mean(np.abs(x - y)) - 0.5 * np.mean(np.abs(x[:, None] - x[None, :]))
        assert censored_crps(x, y, y) == pytest.approx(kernel, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(
    ("low", "high"),
    [(-0.5, 0.4), (-math.inf, 0.1), (0.2, math.inf), (5.0, 6.0), (-6.0, -5.0), (0.0, 0.0)],
)
def test_ranges_and_bounds_match_numeric_integration(low, high):
    x = np.random.default_rng(1).normal(size=11)
    x[3] = x[4]  # a tie
    assert censored_crps(x, low, high) == pytest.approx(_numeric(x, low, high), abs=1e-4)


def test_an_ensemble_inside_the_observation_scores_zero():
    x = np.array([2.0, 3.0, 3.5, 4.0])
    assert censored_crps(x, 2.0, 4.0) == 0.0
    assert censored_crps(x, 1.0, math.inf) == 0.0
    assert censored_crps(x, -math.inf, 4.0) == 0.0


def test_the_penalty_grows_with_the_mass_outside_and_its_distance():
    inside = np.full(10, 5.0)
    scores = []
    for k in range(1, 11):  # k runs move above the range
        x = inside.copy()
        x[:k] = 8.0
        scores.append(censored_crps(x, 4.0, 6.0))
    assert all(a < b for a, b in pairwise(scores))
    far = [censored_crps(np.array([5.0, d]), 4.0, 6.0) for d in (6.5, 7.0, 10.0, 20.0)]
    assert all(a < b for a, b in pairwise(far))
    below = [censored_crps(np.array([d, d]), 10.0, math.inf) for d in (9.0, 5.0, 0.0)]
    assert all(a < b for a, b in pairwise(below))


def test_targets_are_scored_on_their_distance_scale(make_target):
    count = make_target("c", "count", Value(form="point", low=99, high=99, point=99))
    ts = TargetSet([count], ["s"], date(2020, 1, 1), 366)
    runs = np.array([[49.0], [99.0], [199.0]])
    logs = np.log1p(runs[:, 0])
    assert target_crps(ts, runs)[0] == pytest.approx(censored_crps(logs, np.log(100), np.log(100)))
    # the same relative spread around a count ten times larger scores the same
    big = make_target("c", "count", Value(form="point", low=999, high=999, point=999))
    ts_big = TargetSet([big], ["s"], date(2020, 1, 1), 366)
    scaled = (runs + 1) * 10 - 1
    assert target_crps(ts_big, scaled)[0] == pytest.approx(target_crps(ts, runs)[0])


def test_undefined_ratios_count_as_the_largest_penalty(make_target):
    ratio = make_target(
        "r",
        "ratio",
        Value(form="lower", low=1.0),
        reference=Window(date(2020, 1, 1), date(2020, 3, 31)),
    )
    ts = TargetSet([ratio], ["s"], date(2020, 1, 1), 366)
    inside = np.array([[2.0], [3.0], [math.nan], [math.nan]])
    assert target_crps(ts, inside)[0] == pytest.approx(0.5 * MISSING)
    some = np.array([[0.5], [3.0], [math.nan], [math.inf]])
    defined = np.log(np.array([0.5, 3.0, 1e9]) + 0.05)
    expected = 0.75 * censored_crps(defined, np.log(1.05), math.inf) + 0.25 * MISSING
    assert target_crps(ts, some)[0] == pytest.approx(expected)
    assert target_crps(ts, np.full((3, 1), math.nan))[0] == MISSING


def test_peak_months_are_points_in_months_over_three(make_target):
    peak = make_target("p", "peak_month", Value(form="month", month="2020-06"))
    ts = TargetSet([peak], ["s"], date(2020, 1, 1), 366)
    assert target_crps(ts, np.full((4, 1), 5.0))[0] == 0.0  # June is month 5
    one_off = target_crps(ts, np.full((4, 1), 8.0))[0]
    assert one_off == pytest.approx(1.0)  # three months apart: 1.0 on the months / 3 scale
    assert target_crps(ts, np.full((4, 1), -1.0))[0] == pytest.approx(2.0)  # no attacks
    assert target_crps(ts, np.full((4, 1), 11.0))[0] == pytest.approx(2.0)  # capped


def test_model_scores_carry_the_mean_crps(make_target):
    targets = [
        make_target("a", "count", Value(form="range", low=10, high=20)),
        make_target("b", "count", Value(form="lower", low=100)),
    ]
    ts = TargetSet(targets, ["s"], date(2020, 1, 1), 366)
    stats = np.array([[15.0, 50.0], [12.0, 150.0], [30.0, 120.0]])
    scores = model_scores(ts, stats, Roles(["a", "b"], ["a"], ["b"]))
    per = target_crps(ts, stats)
    assert scores["all_tempo_targets"]["crps"] == pytest.approx(per.mean(), abs=1e-4)
    assert scores["fit_targets"]["crps"] == pytest.approx(per[0], abs=1e-4)
    assert scores["out_of_sample_targets"]["crps"] == pytest.approx(per[1], abs=1e-4)
    assert mean_crps(ts, stats, ["b"]) == pytest.approx(per[1])
    assert math.isnan(mean_crps(ts, stats, ["none"]))
