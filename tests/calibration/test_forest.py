"""ABC random forests and the regression adjustment of ABC-SMC: recovery on the small scenario,
determinism, and how each conditions on the record's intervals."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from escalation.calibration.abc import Generation, expit, logit, smoothed_draws
from escalation.calibration.adjust import regression_adjust
from escalation.calibration.forest import (
    ForestSettings,
    Posterior,
    accepted_runs,
    forest_abc,
    signed_gaps,
)
from escalation.experiments.executors import SerialExecutor
from escalation.record.summary import TargetSet
from escalation.record.types import Value
from escalation.seeds import Streams


class _Reversed(SerialExecutor):
    """Results in the reverse order of the tasks, as a pool may deliver them."""

    def imap(self, fn, tasks):
        return reversed(list(super().imap(fn, tasks)))


@pytest.mark.slow
def test_the_forest_recovers_the_truth_within_its_90_percent_interval(recovery):
    """Targets made by the model at known values: each true value lies inside the forest's 90%
    posterior interval, and the posterior is narrower than the prior."""
    sim, _ = recovery._recovery_simulator()
    gen = forest_abc(sim, 1000, Streams(8), SerialExecutor(), ForestSettings(trees=300))
    assert gen.u.shape == (1000, 2) and gen.simulations == 1000
    values = np.array([sim.values(u) for u in gen.u])
    for k, (name, true) in enumerate(recovery.TRUTH.items()):
        lo, hi = np.quantile(values[:, k], [0.05, 0.95])
        assert lo <= true <= hi, f"{name}: {true} outside [{lo:.2f}, {hi:.2f}]"
        width = sim.priors[k].high - sim.priors[k].low
        assert hi - lo < 0.85 * width, f"{name}: the posterior learnt little"


@pytest.mark.parametrize("conditioning", ["gap", "inside"])
def test_the_forest_is_deterministic_by_seed_whatever_order_runs_arrive(recovery, conditioning):
    sim, _ = recovery._recovery_simulator()
    settings = ForestSettings(trees=50, particles=200, min_accepted=10, conditioning=conditioning)
    a = forest_abc(sim, 100, Streams(3), SerialExecutor(), settings)
    b = forest_abc(sim, 100, Streams(3), _Reversed(), settings)
    assert isinstance(a, Generation)
    assert np.array_equal(a.u, b.u) and a.epsilon == b.epsilon
    c = forest_abc(sim, 100, Streams(4), SerialExecutor(), settings)
    assert not np.array_equal(a.u, c.u)


def test_too_few_runs_meeting_the_record_widen_the_event_and_say_how_far():
    distances = np.array([[0.0, 0.0], [0.0, 0.3], [0.0, 0.0], [0.5, 0.5], [0.1, 0.0]])
    runs, eps = accepted_runs(distances, 2)
    assert list(runs) == [0, 2] and eps == 0.0
    runs, eps = accepted_runs(distances, 3)
    assert list(runs) == [0, 2, 4] and eps == pytest.approx(math.sqrt(0.01 / 2))


def test_signed_gaps_are_zero_inside_and_point_to_the_side_missed(make_target):
    targets = [
        make_target("r", "count", Value(form="range", low=40, high=60)),
        make_target("l", "count", Value(form="lower", low=10, low_strict=True)),
        make_target("u", "count", Value(form="upper", high=5)),
    ]
    ts = TargetSet(targets, ["s"], date(2020, 1, 1), 366)
    stats = np.array([[50.0, 11.0, 5.0], [70.0, 10.0, 9.0], [30.0, 3.0, 0.0]])
    gaps = signed_gaps(ts, stats)
    assert np.array_equal(gaps[0], [0, 0, 0])
    assert gaps[1, 0] > 0 and gaps[1, 1] < 0 and gaps[1, 2] > 0  # a strict bound met is a miss
    assert gaps[2, 0] < 0 and gaps[2, 1] < 0 and gaps[2, 2] == 0
    assert np.array_equal(np.abs(gaps), [ts.distances(row) for row in stats])


def test_the_regression_adjustment_keeps_particles_that_met_the_record():
    gaps = np.array([[0.0], [0.1], [0.2], [0.3]])
    # the logit of the first parameter rises with the gap, the second does not depend on it
    u = np.column_stack([1 / (1 + np.exp(1 - 5 * gaps[:, 0])), np.full(4, 0.5)])
    gen = Generation(1, 0.3, u, gaps[:, 0], np.full(4, 0.25), 4, 1.0)
    post = regression_adjust(gen, gaps)
    assert post.u[0, 0] == pytest.approx(u[0, 0])  # met: not moved
    assert np.allclose(post.u[:, 0], u[0, 0])  # the miss explains all of the difference
    assert np.allclose(post.u[:, 1], 0.5)
    met = Generation(1, 0.0, u, np.zeros(4), np.full(4, 0.25), 4, 1.0)
    assert np.array_equal(regression_adjust(met, np.zeros((4, 1))).u, u)
    # as many coefficients as weighted particles: not identified, so not adjusted
    many = np.column_stack([gaps[:, 0], gaps[:, 0] ** 2, np.sqrt(gaps[:, 0])])
    assert np.array_equal(regression_adjust(gen, many).u, u)


def _population(n: int, seed: int) -> np.ndarray:
    """``n`` particles whose logits are standard normal in the first parameter, equal to it in
    the second and fixed in the third."""
    z = np.random.default_rng(seed).standard_normal(n)
    return np.column_stack([expit(z), expit(z), np.full(n, 0.3)])


def test_smoothed_draws_widen_the_particles_by_silvermans_factor_and_keep_their_shape():
    """The kernel density estimate's spread is the particles' times sqrt(1 + h^2), h Silverman's
    factor for the number of distinct particles; it keeps their correlation, moves no
    parameter they all share, stays inside the unit cube and is fixed by its stream."""
    u = _population(150, 0)
    u[100:] = u[:50]  # copies made by resampling: 100 distinct particles
    w = np.ones(len(u))
    draws = smoothed_draws(u, w, 200_000, np.random.default_rng(1))
    h = 1.06 * 100**-0.2
    y, d = logit(u), logit(draws)
    assert np.std(d[:, 0]) == pytest.approx(np.std(y[:, 0]) * math.sqrt(1 + h * h), rel=0.01)
    assert np.allclose(d[:, 0], d[:, 1])
    assert np.allclose(draws[:, 2], 0.3)
    assert ((draws > 0) & (draws < 1)).all()
    again = smoothed_draws(u, w, 200_000, np.random.default_rng(1))
    assert np.array_equal(draws, again)


def test_a_smoothed_posterior_covers_the_truth_more_often_than_its_few_particles():
    """Particles drawn from a known posterior: the 90% interval of their kernel density
    estimate holds a draw of the same posterior at least as often as the particles' own one,
    and closer to 90% of the time (the particles cut the tails short)."""
    rng = np.random.default_rng(2)
    raw, smooth = [], []
    for k in range(400):
        post = Posterior(_population(30, k), np.full((3, 30), 1 / 30))
        truth = rng.standard_normal()
        for hits, p in ((raw, post), (smooth, post.smoothed(2000, rng))):
            q = np.quantile(logit(p.u[:, 0]), [0.05, 0.95])
            hits.append(q[0] <= truth <= q[1])
    assert np.mean(raw) < np.mean(smooth)
    assert abs(np.mean(smooth) - 0.9) < abs(np.mean(raw) - 0.9)


def test_only_a_posterior_whose_parameters_share_their_weights_is_smoothed():
    post = Posterior(_population(4, 0), np.array([[0.25] * 4, [0.25] * 4, [0.1, 0.2, 0.3, 0.4]]))
    with pytest.raises(ValueError, match="share their weights"):
        post.smoothed(10, np.random.default_rng(0))
