"""Morris screening: exact elementary effects, the seeds' floor, and a ranking that tells the
values that move the targets from one that moves nothing."""

from __future__ import annotations

import numpy as np
import pytest

from escalation.calibration.screening import (
    NOISE,
    elementary_effects,
    influential,
    morris_design,
    screen,
    screening_table,
    target_table,
)
from escalation.calibration.spec import Prior
from escalation.experiments.executors import SerialExecutor
from escalation.seeds import Streams

from .test_calibration_fit import _recovery_simulator


def test_elementary_effects_of_a_linear_function_are_its_slopes():
    k, trajectories = 5, 4
    design = morris_design(k, trajectories, runs=2, streams=Streams(3), inert=2)
    slopes = np.array([3.0, -1.0, 0.0, 0.5, 2.0, 0.0, 0.0])  # the last two are inert
    y = design.u @ slopes
    ee = elementary_effects(design.u, y, trajectories)
    assert ee.shape == (trajectories, k + 2)
    np.testing.assert_allclose(ee, np.broadcast_to(slopes, ee.shape), atol=1e-12)
    # several outputs at once: one slope vector per output
    two = np.c_[y, 2 * y]
    np.testing.assert_allclose(elementary_effects(design.u, two, trajectories)[..., 1], 2 * ee)


def test_seeds_change_only_at_the_inert_factors_steps():
    k, trajectories, runs, inert = 4, 6, 3, 3
    design = morris_design(k, trajectories, runs, Streams(9), inert)
    rows = k + inert + 1
    for t in range(trajectories):
        u = design.u[t * rows : (t + 1) * rows]
        seeds = design.seeds[t * rows : (t + 1) * rows]
        changed = np.flatnonzero(np.any(np.diff(seeds, axis=0) != 0, axis=1))
        moved = np.flatnonzero(np.any(np.diff(u[:, k:], axis=0) != 0, axis=1))
        assert len(moved) == inert
        assert list(changed) == list(moved)  # new seeds exactly at the inert factors' steps
    again = morris_design(k, trajectories, runs, Streams(9), inert)
    np.testing.assert_array_equal(design.u, again.u)
    np.testing.assert_array_equal(design.seeds, again.seeds)


def test_screening_keeps_the_values_that_move_the_targets_and_drops_an_inert_one():
    sim, _ = _recovery_simulator()
    # a third fitted value nothing in the scenario uses: no missiles are ever fired
    sim.names.append("weapons.missile.kill_share")
    sim.priors.append(Prior(prior="uniform", low=0.0, high=0.05))
    s = screen(sim, trajectories=8, runs=8, streams=Streams(1), executor=SerialExecutor())
    table = screening_table(s, Streams(1))
    mu = dict(zip(table["name"], table["mu_star"], strict=True))
    assert mu["weapons.missile.kill_share"] == 0.0  # same seeds, same runs: no effect at all
    assert mu["militias.A.resolve"] > 2 * mu[NOISE]
    assert mu["militia_defaults.motives.us.context.talks"] > 2 * mu[NOISE]
    assert mu[NOISE] > 0  # new seeds move the runs
    kept = influential(table)
    assert set(kept) == {"militias.A.resolve", "militia_defaults.motives.us.context.talks"}
    per_target = target_table(s, top=2)
    assert set(per_target["target"]) == {t.id for t in sim.targets.targets}
    assert (per_target.groupby("target")["rank"].max() == 2).all()


def test_a_local_screening_moves_each_value_within_its_box_around_the_centre():
    from escalation.calibration.screening import _box

    sim, _ = _recovery_simulator()
    centre = [-4.5, 2.9]  # the second near its prior's top (3.0): its box is clipped there
    box = _box(sim, centre, 0.2)
    corners = np.array([box(np.array(u, dtype=float)) for u in ([0, 0], [1, 1], [0.5, 0.5])])
    q = [p.to_unit(v) for p, v in zip(sim.priors, centre, strict=True)]
    np.testing.assert_allclose(corners[0], [q[0] - 0.1, 0.8])
    np.testing.assert_allclose(corners[1], [q[0] + 0.1, 1.0])
    assert corners[2][0] == pytest.approx(q[0])
    whole = _box(sim, None, 0.2)
    np.testing.assert_array_equal(whole(np.array([0.3, 0.7])), [0.3, 0.7])
