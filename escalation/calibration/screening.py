"""Which fitted values matter: Morris screening of a calibration's distance to its targets.

Each of ``trajectories`` one-at-a-time paths through the prior quantiles (Morris's design, drawn
by SALib) moves every fitted value once by the same step; a value's elementary effect is the
change of the distance that its step causes, divided by the step. The mean absolute effect
(mu*) ranks the values by influence, on the fit's objective (the RMS distance over every fit
target) and on each target alone, so a value that moves a target no other value moves can be
told from one that matters nowhere.

Every point runs ``runs`` seeds, the same along a trajectory (common random numbers). The
design carries a few extra, inert factors whose steps draw new seeds instead of moving a value:
their mu* is what the seeds alone do to the distance, the floor below which a value's influence
cannot be told from chance.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from escalation.calibration.simulate import Simulator, simulate
from escalation.record.summary import rms
from escalation.seeds import Streams

#: the name of the inert factors (whose steps re-draw the seeds) in tables
NOISE = "(seeds only)"
#: levels of the Morris grid over each prior's quantiles
LEVELS = 4
#: bootstrap draws for the confidence of mu*
BOOTSTRAP = 500


class Design(NamedTuple):
    """The Morris design: prior quantiles per point (the last column is the inert factor) and
    the run seeds of each point (points x runs)."""

    u: np.ndarray
    seeds: np.ndarray
    trajectories: int


class Screening(NamedTuple):
    """Elementary effects of every fitted value, then of the inert factors: on the RMS distance
    (trajectories x factors) and on each target's distance (trajectories x factors x targets)."""

    names: list[str]  # the fitted values (the inert factors follow them in the arrays)
    targets: list[str]
    effects: np.ndarray
    target_effects: np.ndarray

    @property
    def inert(self) -> int:
        """How many inert factors the design carried."""
        return self.effects.shape[1] - len(self.names)

    def mu_star(self) -> np.ndarray:
        """mu* on the RMS distance per fitted value, then the inert factors' pooled (the floor)."""
        mu = np.abs(self.effects).mean(axis=0)
        return np.r_[mu[: len(self.names)], np.abs(self.effects[:, len(self.names) :]).mean()]

    def target_mu_star(self) -> np.ndarray:
        """mu* per fitted value and target, then the inert factors' pooled: (values + 1,
        targets)."""
        mu = np.abs(self.target_effects).mean(axis=0)
        k = len(self.names)
        return np.vstack([mu[:k], np.abs(self.target_effects[:, k:]).mean(axis=(0, 1))])


def morris_design(k: int, trajectories: int, runs: int, streams: Streams, inert: int = 4) -> Design:
    """Morris trajectories over ``k`` values and ``inert`` inert factors; the seeds of a
    trajectory change only at an inert factor's step (each such step draws new ones)."""
    from SALib.sample import morris

    n = k + inert
    problem = {"num_vars": n, "names": [f"x{i}" for i in range(n)], "bounds": [[0.0, 1.0]] * n}
    u = morris.sample(problem, trajectories, num_levels=LEVELS, seed=streams.child("design").rng())
    rng = streams.child("runs").rng()
    seeds = np.empty((len(u), runs), dtype=np.int64)
    rows = n + 1  # points per trajectory
    for t in range(trajectories):
        block = u[t * rows : (t + 1) * rows]
        steps = np.flatnonzero(np.any(np.diff(block[:, k:], axis=0) != 0, axis=1)) + 1
        edges = [0, *steps.tolist(), rows]
        for a, b in pairwise(edges):
            seeds[t * rows + a : t * rows + b] = rng.integers(0, 2**31 - 1, size=runs)
    return Design(u, seeds, trajectories)


def elementary_effects(u: np.ndarray, y: np.ndarray, trajectories: int) -> np.ndarray:
    """Per trajectory and factor, the change of ``y`` (points, or points x outputs) the factor's
    step causes, divided by the step: (trajectories, factors[, outputs])."""
    k = u.shape[1]
    out = np.empty((trajectories, k, *y.shape[1:]))
    for t in range(trajectories):
        rows = slice(t * (k + 1), (t + 1) * (k + 1))
        du = np.diff(u[rows], axis=0)
        dy = np.diff(y[rows], axis=0)
        factor = np.argmax(np.abs(du), axis=1)
        step = du[np.arange(k), factor]
        out[t, factor] = dy / step.reshape((-1,) + (1,) * (y.ndim - 1))
    return out


def screen(
    sim: Simulator,
    trajectories: int,
    runs: int,
    streams: Streams,
    executor: Any,
    on_run: Callable[[], None] | None = None,
    inert: int = 4,
    around: Sequence[float] | None = None,
    width: float = 1.0,
) -> Screening:
    """Run the Morris design of ``sim``'s fitted values on ``executor`` (``trajectories`` x
    (values + inert + 1) points, ``runs`` runs each): each point's distance per target is the
    mean over its runs.

    Over the whole prior box by default. With ``around`` (a value per name), a local screening:
    each value moves within ``width`` of its prior's quantiles centred on its value there
    (clipped to the prior), which is where a fit's posterior lies; a value that matters little
    over the whole box may matter there, and the reverse."""
    k = len(sim.names)
    design = morris_design(k, trajectories, runs, streams, inert)
    box = _box(sim, around, width)
    values = [sim.values(box(row[:k])) for row in design.u for _ in range(runs)]
    seeds = design.seeds.reshape(-1).tolist()
    stats = simulate(sim, values, seeds, executor, on_run=on_run).stats
    per_run = np.array([sim.targets.distances(s) for s in stats])
    per_point = per_run.reshape(len(design.u), runs, -1).mean(axis=1)
    overall = np.array([rms(d) for d in per_point])
    return Screening(
        names=list(sim.names),
        targets=[t.id for t in sim.targets.targets],
        effects=elementary_effects(design.u, overall, trajectories),
        target_effects=elementary_effects(design.u, per_point, trajectories),
    )


def _box(
    sim: Simulator, around: Sequence[float] | None, width: float
) -> Callable[[np.ndarray], np.ndarray]:
    """The map from the design's unit cube to prior quantiles: the identity, or a box of
    ``width`` centred on the quantiles of ``around``."""
    if around is None:
        return lambda u: u
    centre = np.array([p.to_unit(v) for p, v in zip(sim.priors, around, strict=True)])
    lo = np.clip(centre - width / 2, 0.0, 1.0 - width)
    return lambda u: lo + width * u


def mu_star_confidence(s: Screening, streams: Streams) -> np.ndarray:
    """The half-width of a 95% bootstrap interval (over trajectories) of each value's mu* and,
    last, of the inert factors' pooled mu*."""
    rng = streams.child("bootstrap").rng()
    n, k = len(s.effects), len(s.names)
    idx = rng.integers(0, n, size=(BOOTSTRAP, n))
    draws = np.abs(s.effects[idx])  # (draws, trajectories, factors)
    boots = np.c_[draws[..., :k].mean(axis=1), draws[..., k:].mean(axis=(1, 2))]
    lo, hi = np.quantile(boots, [0.025, 0.975], axis=0)
    return (hi - lo) / 2


def _leading_targets(s: Screening, top: int, floor: float) -> list[list[str]]:
    """Per fitted value, the targets it is among the ``top`` most influential values for, with
    a mu* on that target above ``floor`` times the inert factors'."""
    mu = s.target_mu_star()
    values, noise = mu[:-1], mu[-1]
    lead: list[list[str]] = [[] for _ in s.names]
    for j, target in enumerate(s.targets):
        for i in np.argsort(-values[:, j])[:top]:
            if values[i, j] > floor * noise[j]:
                lead[i].append(target)
    return lead


def screening_table(
    s: Screening, streams: Streams, top: int = 3, floor: float = 2.0
) -> pd.DataFrame:
    """One row per fitted value, and one for the inert factors (the seeds' floor): mu*, its 95%
    bootstrap half-width, sigma, mu* over the floor, and the targets the value is among the
    ``top`` movers of by more than ``floor`` times the floor on that target; most influential
    first."""
    k = len(s.names)
    mu = s.mu_star()
    sigma = s.effects.std(axis=0, ddof=1)
    lead = [*_leading_targets(s, top, floor), []]
    table = pd.DataFrame(
        {
            "name": [*s.names, NOISE],
            "mu_star": mu,
            "mu_star_conf": mu_star_confidence(s, streams),
            "sigma": np.r_[sigma[:k], s.effects[:, k:].std(ddof=1)],
            "over_noise": mu / mu[-1] if mu[-1] > 0 else np.inf,
            "leads": [len(x) for x in lead],
            "leading_targets": [" ".join(x) for x in lead],
        }
    )
    return table.sort_values("mu_star", ascending=False, ignore_index=True)


#: a value matters if its mu* on the fit's distance exceeds the seeds' floor, or if it is among
#: the three largest movers of at least this many targets (by more than twice the floor there)
LEADS = 4


def influential(table: pd.DataFrame, floor: float = 1.0, leads: int = LEADS) -> list[str]:
    """Fitted values whose mu* exceeds ``floor`` times the seeds' floor, or that lead at least
    ``leads`` targets: the fit's overall objective hides a value that moves a few targets no
    other value moves, and the count of targets led finds it."""
    keep = (table["over_noise"] > floor) | (table["leads"] >= leads)
    return list(table.loc[keep & (table["name"] != NOISE), "name"])


def unused(names: Sequence[str], table: pd.DataFrame) -> list[str]:
    """The fitted values :func:`influential` does not keep, in ``names``' order."""
    keep = set(influential(table))
    return [n for n in names if n not in keep]


def target_table(s: Screening, top: int = 5) -> pd.DataFrame:
    """Per target, its ``top`` most influential fitted values with their mu* on that target's
    distance, and the inert factors' mu* on it (the floor)."""
    mu = s.target_mu_star()
    rows = []
    for j, target in enumerate(s.targets):
        for rank, i in enumerate(np.argsort(-mu[:-1, j])[:top], start=1):
            rows.append(
                {"target": target, "rank": rank, "name": s.names[i], "mu_star": mu[i, j],
                 "floor": mu[-1, j]}
            )  # fmt: skip
    return pd.DataFrame(rows)
