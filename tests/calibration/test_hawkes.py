"""The Hawkes null: Poisson at branching 0, clustering above it, strikes as inputs, runs that
depend only on their seeds, a deterministic fit that recovers a known branching ratio."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest

from escalation import scenario_from_dict
from escalation.calibration.hawkes import (
    HawkesFit,
    HawkesParams,
    fit_hawkes,
    hawkes_counts,
    hawkes_statistics,
    strike_days,
)
from escalation.record.summary import TargetSet
from escalation.record.types import Source, Target, Value, Window

START = date(2020, 1, 1)
N_DAYS = 731  # 2020 and 2021


def test_branching_zero_gives_poisson_counts_at_the_mean_rate():
    counts = hawkes_counts({0: HawkesParams(0.3), 2: HawkesParams(2.0)}, 1000, (), range(60))
    assert counts.shape == (60, 1000, 3)
    assert not counts[:, :, 1].any()  # a column without parameters stays zero
    for col, rate in ((0, 0.3), (2, 2.0)):
        x = counts[:, :, col]
        assert x.mean() == pytest.approx(rate, rel=0.03)
        assert x.var() / x.mean() == pytest.approx(1.0, abs=0.05)  # Poisson: variance = mean


def test_branching_clusters_the_counts_at_the_same_mean():
    """Index of dispersion of daily and of 30-day counts grows with the branching ratio; the
    mean stays m (the fit's parameterisation)."""
    daily, monthly = [], []
    for alpha in (0.0, 0.5, 0.8):
        x = hawkes_counts({0: HawkesParams(0.4, alpha, 0.5)}, 1800, (), range(40))[:, :, 0]
        assert x.mean() == pytest.approx(0.4, rel=0.1)
        months = x.reshape(40, 60, 30).sum(axis=2)
        daily.append(x.var(axis=1).mean() / x.mean())
        monthly.append(months.var(axis=1).mean() / months.mean())
    assert daily[0] == pytest.approx(1.0, abs=0.05)
    assert daily[0] < daily[1] < daily[2] and daily[2] > 1.5
    assert monthly[0] < 1.3 < 3.0 < monthly[1] < monthly[2]


def test_strikes_are_inputs_that_add_or_remove_events_after_their_day():
    seeds = range(100)
    calm = hawkes_counts({0: HawkesParams(0.5)}, 400, (), seeds)[:, :, 0]
    provoked = hawkes_counts({0: HawkesParams(0.5, strike=30.0)}, 400, (100, 250), seeds)[:, :, 0]
    deterred = hawkes_counts({0: HawkesParams(0.5, strike=-10.0)}, 400, (100,), seeds)[:, :, 0]
    # common random numbers: nothing changes up to the strike's day
    assert np.array_equal(calm[:, :101], provoked[:, :101])
    assert np.array_equal(calm[:, :101], deterred[:, :101])
    extra = provoked.sum(axis=1).mean() - calm.sum(axis=1).mean()
    assert extra == pytest.approx(60.0, rel=0.1)
    assert deterred.sum(axis=1).mean() < calm.sum(axis=1).mean() - 5


def test_a_run_depends_only_on_its_seed():
    params = {0: HawkesParams(0.2, 0.6, 0.25), 3: HawkesParams(1.5, 0.3, 1.0, 5.0)}
    both = hawkes_counts(params, 300, (50,), [11, 12])
    alone = hawkes_counts({3: params[3], 0: params[0]}, 300, (50,), [12])
    assert np.array_equal(both[1], alone[0])


def test_strike_days_are_the_timeline_us_strikes(small):
    small["events"] = {
        "hit": {"date": "2020-02-10", "label": "strike", "type": "us_strike"},
        "leaders": {"date": "2020-01-03", "label": "leaders", "type": "leadership_strike"},
        "calm": {"date": "2020-03-01", "label": "calm", "type": "context", "set": {"tension": 0}},
    }
    assert strike_days(scenario_from_dict(small)) == (2, 40)


def _synthetic_targets(truth: HawkesParams) -> TargetSet:
    """Per year of a known process: its count, highest and lowest month, longest quiet run and
    quarterly counts, each as the middle fifth (40th to 60th percentile) of 400 runs."""
    specs = []
    for y in (2020, 2021):
        windows = [("year", date(y, 1, 1), date(y, 12, 31))]
        for q in range(4):
            end = date(y, 3 * q + 4, 1) if q < 3 else date(y + 1, 1, 1)
            windows.append((f"q{q}", date(y, 3 * q + 1, 1), end - timedelta(days=1)))
        stats = ("count", "monthly_max", "monthly_min", "longest_zero_run")
        for name, a, b in windows:
            for stat in stats if name == "year" else ("count",):
                specs.append(
                    Target(
                        id=f"{stat}:{y}:{name}",
                        series="s",
                        window=Window(a, b),
                        statistic=stat,
                        value=Value(form="range", low=0.0, high=1.0),
                        sources=(Source("synthetic", ("synthetic",)),),
                        definition="",
                    )
                )
    draft = TargetSet(specs, ["s"], START, N_DAYS)
    stats = hawkes_statistics(HawkesFit({0: truth}, N_DAYS, (), 0, 0), draft, range(1000, 1400))
    low, high = np.quantile(stats, [0.4, 0.6], axis=0)
    targets = [
        replace(t, value=Value(form="range", low=float(lo), high=float(hi)))
        for t, lo, hi in zip(specs, low, high, strict=True)
    ]
    return TargetSet(targets, ["s"], START, N_DAYS)


@pytest.mark.parametrize(("alpha", "tolerance"), [(0.6, 0.2), (0.0, 0.2)])
def test_the_fit_recovers_a_known_branching_ratio(alpha, tolerance):
    """From the constant rate at half the true mean, the fit finds the branching ratio within
    0.2 (the branching ratio and the memory trade off a little on two years of counts)."""
    truth = HawkesParams(0.5, alpha, 0.25)
    targets = _synthetic_targets(truth)
    fit = fit_hawkes(targets, N_DAYS, (), {0: 0.25}, seed=3, runs=48)
    got = fit.params[0]
    assert abs(got.branching - alpha) <= tolerance
    assert got.mean == pytest.approx(0.5, rel=0.15)
    assert fit.distance < fit.start_distance


def test_the_fit_is_deterministic_given_its_seed():
    targets = _synthetic_targets(HawkesParams(0.3, 0.5, 0.5))
    first = fit_hawkes(targets, N_DAYS, (), {0: 0.3}, seed=5, runs=16, sweeps=1)
    again = fit_hawkes(targets, N_DAYS, (), {0: 0.3}, seed=5, runs=16, sweeps=1)
    assert first == again
    table = first.table(["s"])
    assert list(table["series"]) == ["s"] and table["branching_ratio"][0] == first.params[0][1]
    assert first.parameters(["s"])["s"]["branching_ratio"] == first.params[0].branching
