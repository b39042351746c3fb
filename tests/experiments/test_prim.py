"""PRIM finds the box that holds the cases of interest, scores every box on its trajectory, and
peels and pastes as EMA Workbench's Prim does."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ema_workbench.analysis import prim as ema_prim

from escalation.experiments.prim import Settings, find_box, sdtoolkit_quantile


def _cases(seed: int = 0, n: int = 400) -> tuple[pd.DataFrame, np.ndarray]:
    """Cases whose interest lies in a > 0.6, kind in {x}, with a tenth of the others flipped
    on at random; b and delay play no part."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(
        {
            "a": rng.uniform(0, 1, n),
            "b": rng.uniform(0, 1, n),
            "delay": rng.integers(0, 11, n),
            "kind": rng.choice(["x", "y", "z"], n),
        }
    )
    y = ((x.a > 0.6) & (x.kind == "x")).to_numpy() | (rng.uniform(size=n) < 0.03)
    return x, y


def test_the_box_holds_the_region_of_interest():
    x, y = _cases()
    found = find_box(x, y)
    box = found.box
    low, high = box.limits.ranges["a"]
    assert 0.55 <= low <= 0.7 and high == x.a.max()
    assert box.limits.values["kind"] == frozenset({"x"})
    assert set(box.restricted) >= {"a", "kind"}
    assert box.density >= 0.8 and box.coverage >= 0.6
    qp = box.quasi_p
    assert qp["a"][0] < 0.01 and qp["kind"][0] < 0.01 and np.isnan(qp["a"][1])


def test_each_box_scores_what_it_holds():
    x, y = _cases(1)
    found = find_box(x, y)
    for step in found.trajectory:
        inside = (x.kind.isin(step.limits.values["kind"])).to_numpy()
        for name, (low, high) in step.limits.ranges.items():
            inside = inside & ((x[name] >= low) & (x[name] <= high)).to_numpy()
        assert step.n == inside.sum() and step.k == (inside & y).sum()
        assert step.coverage == pytest.approx(step.k / y.sum())
        assert step.density == pytest.approx(step.k / step.n)
        assert step.mass == pytest.approx(step.n / len(x))
    assert found.trajectory[0].restricted == () and found.trajectory[0].mass == 1.0


def test_limits_of_an_integer_parameter_are_whole_numbers_it_takes():
    x, y = _cases(2)
    y = (x.delay >= 4).to_numpy() & (x.delay <= 8).to_numpy()
    low, high = find_box(x, y).box.limits.ranges["delay"]
    assert (low, high) == (4, 8)


def test_no_box_holds_less_than_the_minimum_mass():
    x, y = _cases(3)
    for mass_min in (0.05, 0.3):
        found = find_box(x, y, Settings(mass_min=mass_min))
        assert min(step.mass for step in found.trajectory) >= mass_min


def test_the_default_box_is_the_last_to_reach_the_threshold_and_any_other_can_be_chosen():
    x, y = _cases(4)
    found = find_box(x, y, Settings(threshold=0.5))
    densities = [step.density for step in found.trajectory]
    assert densities[found.chosen] >= 0.5
    assert all(d < 0.5 for d in densities[found.chosen + 1 :])
    assert found.select(1).box == found.trajectory[1]
    with pytest.raises(IndexError):
        found.select(len(densities))
    noise = np.random.default_rng(5).uniform(size=len(x)) < 0.3  # no box is all of interest
    unreachable = find_box(x, noise, Settings(threshold=1.0))
    assert not unreachable.reaches_threshold
    assert unreachable.box.density == max(s.density for s in unreachable.trajectory) < 1


def test_the_quantile_cuts_between_distinct_values():
    data = np.array([0, 0, 0, 1, 1, 2, 3, 4, 5, 6.0])
    assert sdtoolkit_quantile(data, 0.05) == 0.5  # past the ties at 0
    assert sdtoolkit_quantile(data, 0.95) == 5.5


@pytest.mark.parametrize(("seed", "peel_alpha"), [(0, 0.05), (1, 0.05), (2, 0.3), (19, 0.45)])
def test_the_trajectory_is_ema_workbenchs(seed, peel_alpha):
    """On numeric cases, the same boxes (cases, cases of interest) as EMA's Prim; the last
    case pastes after peeling."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.uniform(size=(150, 2)), columns=["a", "b"])
    y = ((x.a - 0.4) ** 2 + (x.b - 0.5) ** 2 < 0.12).to_numpy() | (rng.uniform(size=150) < 0.05)
    ours = find_box(x, y, Settings(peel_alpha=peel_alpha, paste_alpha=0.1))
    theirs = ema_prim.Prim(x, y.astype(int), peel_alpha=peel_alpha, paste_alpha=0.1).find_box()
    expected = theirs.peeling_trajectory[["n", "k"]].to_numpy(dtype=int).tolist()
    assert [[s.n, s.k] for s in ours.trajectory] == expected
    assert ("paste" in [s.phase for s in ours.trajectory]) == (seed == 19)
