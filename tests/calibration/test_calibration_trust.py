"""The trust-region polish's local model of the targets' chances, and its steps (the polish
itself is tested beside the coordinate search, on the same small model)."""

from __future__ import annotations

from datetime import date

import numpy as np

from escalation.calibration.scoring import expected_hits
from escalation.calibration.trust import LocalModel
from escalation.record.summary import TargetSet
from escalation.record.types import Source, Target, Value, Window
from escalation.seeds import Streams

RESAMPLE = Streams(0).child("resample")


def _target(tid: str, statistic: str, value: Value) -> Target:
    return Target(
        id=tid,
        series="s",
        window=Window(date(2020, 1, 1), date(2020, 12, 31)),
        statistic=statistic,
        value=value,
        sources=(Source("f", ("p",)),),
        definition="",
    )


def _poisson_runs(rng, u: np.ndarray) -> np.ndarray:
    """Two counts per run: the first grows with value 0, the second with value 1."""
    lam = np.stack([np.exp(3.0 + 1.5 * u[:, 0]), np.exp(3.0 + 1.5 * u[:, 1])], axis=1)
    return rng.poisson(lam).astype(float)


def test_local_model_predicts_the_chances_and_steps_towards_the_ranges():
    """Counts whose rate grows with one value each: at the centre the model's chances agree with
    resampled ensembles, and its step raises the value whose count is too low, lowers the one
    whose count is too high, and is met by more ensembles when run."""
    ts = TargetSet(
        [
            _target("low", "count", Value(form="range", low=40, high=48)),  # e^3.75 ~ 42.5
            _target("high", "count", Value(form="range", low=20, high=26)),  # e^3.15 ~ 23.3
        ],
        ["s"],
        date(2020, 1, 1),
        366,
    )
    rng = np.random.default_rng(1)
    u0 = np.array([0.3, 0.3])  # rates e^3.45 ~ 31.5: the first too low, the second too high
    runs = 50
    centre = _poisson_runs(rng, np.repeat(u0[None, :], 200, axis=0))
    design = rng.choice([-1.0, 1.0], size=(1500, 2)) * 0.08
    stats = _poisson_runs(rng, u0 + design)
    model = LocalModel(ts, centre, design, stats, runs=runs)
    here = model.chances(np.zeros(2))
    boot = [
        expected_hits(
            TargetSet([t], ["s"], date(2020, 1, 1), 366), centre[:, [i]], RESAMPLE, runs=runs
        )
        for i, t in enumerate(ts.targets)
    ]
    assert np.allclose(here, boot, atol=0.1)
    step = model.step(0.5, -u0, 1.0 - u0)
    assert np.linalg.norm(step) <= 0.5 + 1e-9
    assert step[0] > 0.1 and step[1] < -0.1
    assert model.expected_hits(step) > model.expected_hits(np.zeros(2)) + 0.5
    after = _poisson_runs(rng, np.repeat((u0 + step)[None, :], 200, axis=0))
    assert (
        expected_hits(ts, after, RESAMPLE, runs=runs)
        > expected_hits(ts, centre, RESAMPLE, runs=runs) + 0.5
    )


def test_local_model_sees_a_target_drift_towards_its_edge():
    """A target every run meets, whose statistic moves towards the edge of its range with a
    value no other target needs: the chance-of-crossing model sees no run cross, the centre model
    sees the drift, so the step leaves that value alone rather than wander."""
    ts = TargetSet(
        [
            _target("safe", "count", Value(form="range", low=15, high=60)),
            _target("pull", "count", Value(form="range", low=40, high=48)),
        ],
        ["s"],
        date(2020, 1, 1),
        366,
    )
    rng = np.random.default_rng(2)
    u0 = np.array([0.3, 0.3])

    def runs_at(u):
        lam = np.stack(
            [
                np.exp(3.45 + 4.0 * (u[:, 0] - 0.3) + 1.0 * (u[:, 1] - 0.3)),
                np.exp(3.45 + 1.5 * (u[:, 1] - 0.3)),
            ],
            axis=1,
        )
        return rng.poisson(lam).astype(float)

    centre = runs_at(np.repeat(u0[None, :], 200, axis=0))
    design = rng.choice([-1.0, 1.0], size=(1500, 2)) * 0.02  # too small to cross the edge
    model = LocalModel(ts, centre, design, runs_at(u0 + design), runs=50)
    big = np.array([0.4, 0.0])  # would take the 'safe' count to e^5.05 ~ 156, past 60
    assert model.chances(big)[0] < 0.5
    step = model.step(0.4, -u0, 1.0 - u0)
    assert step[1] > 0.1 and abs(step[0]) < 0.15


def test_peak_month_chances_follow_the_months_shares():
    """A peak-month target: its chance is high when the observed month is the most frequent by
    a wide margin, low when another month is."""
    ts = TargetSet(
        [_target("peak", "peak_month", Value(form="month", month="2020-03"))],
        ["s"],
        date(2020, 1, 1),
        366,
    )
    rng = np.random.default_rng(3)
    good = rng.choice([2.0, 5.0], p=[0.7, 0.3], size=(300, 1))  # month index 2 is March
    bad = rng.choice([2.0, 5.0], p=[0.3, 0.7], size=(300, 1))
    none = np.zeros((0, 1))
    assert LocalModel(ts, good, np.zeros((0, 1)), none, runs=50).chances(np.zeros(1))[0] > 0.95
    assert LocalModel(ts, bad, np.zeros((0, 1)), none, runs=50).chances(np.zeros(1))[0] < 0.05
