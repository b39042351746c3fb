"""ABC random forests and the regression adjustment of ABC-SMC: recovery on the small scenario,
determinism, and how each conditions on the record's intervals."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from escalation.calibration.abc import Generation
from escalation.calibration.adjust import regression_adjust
from escalation.calibration.forest import ForestSettings, accepted_runs, forest_abc, signed_gaps
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
