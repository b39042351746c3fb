"""ABC random forests: one regression forest per parameter on a reference table of prior runs.

The method of Pudlo et al. (2016) and Raynal et al. (2019): simulate a reference table once
(parameters drawn from the prior, each run's target statistics), grow a regression forest per
parameter that predicts it from the statistics, and read the posterior of that parameter off the
forest's weights over the table, as quantile regression forests do (Meinshausen 2006): a query
falls in one leaf of every tree, and each tree shares its weight among the runs of that leaf in
proportion to how often its bootstrap sample drew them. The forests choose their splits among the
statistics that tell the parameter apart, so many uninformative targets do little harm, and the
table serves every record of the same targets (amortised).

The record gives intervals, not points: the observation is the event that every target's
statistic lies in its admissible interval (:meth:`TargetSet.distances` is 0 there). The
posterior given that event is the pointwise posterior averaged over where the statistics fall
when the event happens, p(theta | S in I) = E[p(theta | S) | S in I]; the runs of the table that
meet the record are draws of S given the event, so :func:`condition_inside` averages the forest's
weights at those runs (each run queried only through the trees whose bootstrap left it out, so it
does not vote for itself). Features are the statistics alone, so the forests are grown once per
table. When fewer than ``min_accepted`` runs meet the record, the event is widened to the runs
whose RMS distance is smallest, and the posterior's ``epsilon`` says how far
(the event is then "RMS distance <= epsilon", the one ABC-SMC conditions on).

:func:`condition_gap` is the other reading: features are each target's signed gap to its
interval (0 inside, so "every feature is 0" is the event itself) and the query is the origin. It
is exact in the limit however few runs meet every target, since a forest pools runs only across
the gaps that do not tell the parameter apart; but the features depend on the record, so its
forests are grown again for each record (the simulations are still shared).

The marginals are what the method estimates; :func:`forest_abc` draws particles from their
product in the shape of an ABC-SMC generation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
from sklearn.ensemble import RandomForestRegressor

from escalation.calibration.abc import Generation, smoothed_draws
from escalation.calibration.simulate import Simulator, simulate
from escalation.record.summary import RATIO_EPS, TargetSet
from escalation.seeds import Streams

#: Ratios undefined because their reference is empty but their numerator is not are capped here.
RATIO_CAP = 1e9


@dataclass(frozen=True)
class ForestSettings:
    """How the forests grow (defaults of Raynal et al.'s abcrf: 500 trees, leaves of at least 5
    runs, a third of the features tried at each split) and how :func:`forest_abc` conditions on
    the record: ``gap`` (:func:`condition_gap`) or ``inside`` (:func:`condition_inside`, widened
    to the ``min_accepted`` nearest runs when fewer meet the record)."""

    trees: int = 500
    min_leaf: int = 5
    feature_share: float = 1.0 / 3.0
    min_accepted: int = 20
    particles: int = 1000
    conditioning: Literal["gap", "inside"] = "gap"


class ReferenceTable(NamedTuple):
    """Runs at parameters drawn from the prior: prior quantiles, seeds and the statistics of
    every target (runs x targets)."""

    u: np.ndarray
    seeds: list[int]
    stats: np.ndarray


@dataclass(frozen=True)
class Posterior:
    """Marginal posteriors as weighted samples in the unit cube: ``u`` (samples x parameters)
    and ``weight`` (parameters x samples, each row summing to 1). ``epsilon`` is the tolerance
    of the event conditioned on (0: the record itself)."""

    u: np.ndarray
    weight: np.ndarray
    epsilon: float = 0.0
    accepted: int = 0

    @classmethod
    def of_generation(cls, gen: Generation) -> Posterior:
        """An ABC-SMC population as marginals (every parameter weighted alike)."""
        w = gen.weight / gen.weight.sum()
        return cls(gen.u, np.tile(w, (gen.u.shape[1], 1)), gen.epsilon, len(w))

    def smoothed(self, n: int, rng: np.random.Generator) -> Posterior:
        """The posterior as ``n`` equally weighted draws of the kernel density estimate of its
        samples (:func:`~escalation.calibration.abc.smoothed_draws`); for a population whose
        parameters share their weights (an ABC-SMC generation), whose joint it smooths."""
        if not np.allclose(self.weight, self.weight[0]):
            raise ValueError("only a posterior whose parameters share their weights is smoothed")
        u = smoothed_draws(self.u, self.weight[0], n, rng)
        return Posterior(u, np.full((u.shape[1], n), 1.0 / n), self.epsilon, self.accepted)

    def mean(self) -> np.ndarray:
        """Posterior mean of each parameter's prior quantile."""
        return np.einsum("ks,sk->k", self.weight, self.u)

    def draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` draws (n x parameters) of each marginal, independent across parameters."""
        d = self.u.shape[1]
        out = np.empty((n, d))
        for k in range(d):
            out[:, k] = self.u[rng.choice(len(self.u), size=n, p=self.weight[k]), k]
        return out


def reference_table(sim: Simulator, size: int, streams: Streams, executor: Any) -> ReferenceTable:
    """``size`` runs at prior draws (stream ``prior``) with seeds from stream ``run``; a larger
    table extends a smaller one of the same streams."""
    u = streams.child("prior").rng().random((size, len(sim.priors)))
    seeds = streams.child("run").seeds(size)
    stats = simulate(sim, [sim.values(x) for x in u], seeds, executor).stats
    return ReferenceTable(u, seeds, stats)


def features(targets: TargetSet, stats: np.ndarray) -> np.ndarray:
    """Each statistic (runs x targets) on the scale :meth:`TargetSet.distances` compares it on:
    log(1 + x) for counts, log(x + 0.05) for ratios and shares (undefined ones stay NaN, which
    the forests route as missing), month indices for peak months."""
    x = np.array(stats, dtype=float)
    for i, t in enumerate(targets.targets):
        if t.statistic == "peak_month":
            continue
        if t.statistic in ("ratio", "share"):
            x[:, i] = np.log(np.minimum(x[:, i], RATIO_CAP) + RATIO_EPS)
        else:
            x[:, i] = np.log1p(np.maximum(x[:, i], 0.0))
    return x


def signed_gaps(targets: TargetSet, stats: np.ndarray) -> np.ndarray:
    """Each run's gap to each target's interval (runs x targets): 0 inside, else the distance
    of :meth:`TargetSet.distances`, negative below the interval and positive above it; NaN where
    the statistic is undefined."""
    out = np.empty(stats.shape)
    for r, row in enumerate(stats):
        d = targets.distances(row)
        for i, x in enumerate(row):
            if d[i] == 0.0:
                out[r, i] = 0.0
            elif targets.targets[i].statistic == "peak_month":
                out[r, i] = d[i] * (1.0 if x > targets.peak_index[i] else -1.0)
            elif math.isnan(x):
                out[r, i] = math.nan
            else:
                above = math.isfinite(targets.high[i]) and x >= targets.high[i]
                out[r, i] = d[i] if above else -d[i]
    return out


def _forest(x: np.ndarray, y: np.ndarray, settings: ForestSettings, stream: Streams):
    """One regression forest of ``y`` on ``x``, seeded from ``stream``."""
    share = max(1, int(x.shape[1] * settings.feature_share))
    model = RandomForestRegressor(
        n_estimators=settings.trees,
        min_samples_leaf=settings.min_leaf,
        max_features=share,
        n_jobs=1,
        random_state=int(stream.rng().integers(2**32)),
    )
    return model.fit(x, y)


def grow(
    x: np.ndarray, u: np.ndarray, settings: ForestSettings, streams: Streams
) -> list[RandomForestRegressor]:
    """A forest per parameter predicting its prior quantile from the features ``x``; parameter
    k's forest draws from stream ``forest``/k."""
    stream = streams.child("forest")
    return [_forest(x, u[:, k], settings, stream.child(k)) for k in range(u.shape[1])]


def _structure(model: RandomForestRegressor, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The table's leaf in every tree (runs x trees) and every tree's bootstrap counts
    (trees x runs)."""
    leaves = model.apply(x)
    n = len(x)
    counts = np.array([np.bincount(s, minlength=n) for s in model.estimators_samples_])
    return leaves, counts


def _weights_at_runs(leaves: np.ndarray, counts: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """The forest's weights over the table averaged over query runs of the table, each run
    queried through the trees whose bootstrap left it out."""
    out = np.zeros(len(leaves))
    oob = counts[:, queries] == 0  # trees x queries
    share = 1.0 / (len(queries) * np.maximum(oob.sum(axis=0), 1))
    for b in range(leaves.shape[1]):
        leaf, c = leaves[:, b], counts[b]
        q = queries[oob[b]]
        if not len(q):
            continue
        size = leaf.max() + 1
        mass = np.bincount(leaf[q], weights=share[oob[b]], minlength=size)
        total = np.bincount(leaf, weights=c, minlength=size)
        out += c * mass[leaf] / np.maximum(total[leaf], 1e-300)
    return out / out.sum()


def accepted_runs(distances: np.ndarray, least: int) -> tuple[np.ndarray, float]:
    """The runs (rows of per-target ``distances``) meeting every target, or if fewer than
    ``least`` do, the ``least`` nearest by RMS distance; and the tolerance that admits them."""
    total = np.sqrt(np.mean(distances**2, axis=1))
    inside = np.flatnonzero(total == 0.0)
    if len(inside) >= least:
        return inside, 0.0
    nearest = np.argsort(total, kind="stable")[:least]
    return nearest, float(total[nearest[-1]])


def condition_inside(
    forests: Sequence[RandomForestRegressor],
    table: ReferenceTable,
    x: np.ndarray,
    distances: Sequence[np.ndarray],
    settings: ForestSettings,
) -> list[Posterior]:
    """The posterior given each record (``distances``: the table's per-target distances to it):
    the forests' weights averaged over the runs meeting it. One pass over the forests serves
    every record."""
    chosen = [accepted_runs(d, settings.min_accepted) for d in distances]
    weight = np.zeros((len(distances), len(forests), len(table.u)))
    for k, model in enumerate(forests):
        leaves, counts = _structure(model, x)
        for r, (runs, _) in enumerate(chosen):
            weight[r, k] = _weights_at_runs(leaves, counts, runs)
    return [Posterior(table.u, weight[r], eps, len(runs)) for r, (runs, eps) in enumerate(chosen)]


def condition_gap(
    table: ReferenceTable,
    gaps: np.ndarray,
    settings: ForestSettings,
    streams: Streams,
) -> Posterior:
    """The posterior given one record from forests grown on the table's signed gaps to it
    (runs x targets), queried at the origin (every target met) through all their trees."""
    d = table.u.shape[1]
    weight = np.zeros((d, len(table.u)))
    origin = np.zeros((1, gaps.shape[1]))
    for k, model in enumerate(grow(gaps, table.u, settings, streams)):
        leaves, counts = _structure(model, gaps)
        at = model.apply(origin)[0]
        for b in range(leaves.shape[1]):
            mine = (leaves[:, b] == at[b]) * counts[b]
            weight[k] += mine / mine.sum()
        weight[k] /= weight[k].sum()
    met = int(np.sum(np.all(gaps == 0.0, axis=1)))
    return Posterior(table.u, weight, 0.0, met)


def record_distances(targets: TargetSet, stats: np.ndarray) -> np.ndarray:
    """Per-target distances (runs x targets) of runs' statistics to ``targets``."""
    return np.array([targets.distances(row) for row in stats])


def forest_abc(
    sim: Simulator,
    size: int,
    streams: Streams,
    executor: Any,
    settings: ForestSettings = ForestSettings(),
) -> Generation:
    """ABC random forests on ``sim``'s targets with a table of ``size`` prior runs: particles
    drawn (stream ``draws``) from the product of the marginal posteriors, in the shape of an
    ABC-SMC generation. One record gains nothing from amortisation, so by default the forests
    are grown on the gaps to it (the event itself, however few runs meet it). The particles were
    not simulated, so their distances are NaN; ``epsilon`` is the tolerance of the event
    conditioned on (0: the record itself) and ``acceptance`` the share of the table meeting
    it (or, widened, conditioned on)."""
    table = reference_table(sim, size, streams, executor)
    if settings.conditioning == "gap":
        gaps = signed_gaps(sim.targets, table.stats)
        post = condition_gap(table, gaps, settings, streams)
    else:
        x = features(sim.targets, table.stats)
        forests = grow(x, table.u, settings, streams)
        dist = record_distances(sim.targets, table.stats)
        post = condition_inside(forests, table, x, [dist], settings)[0]
    n = settings.particles
    u = post.draws(n, streams.child("draws").rng())
    return Generation(
        index=0,
        epsilon=post.epsilon,
        u=u,
        distance=np.full(n, math.nan),
        weight=np.full(n, 1.0 / n),
        simulations=size,
        acceptance=post.accepted / size,
    )
