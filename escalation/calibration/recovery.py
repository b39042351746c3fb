"""Which inference method to trust: parameter recovery and coverage on model-made records.

Each dataset draws true parameters from the prior, runs the model once at them and writes a
record from that run with the forms of the real targets
(:mod:`escalation.calibration.synthetic`). Each method then infers the parameters from that
record on the same number of simulations:

* ``ABC-SMC``: :func:`~escalation.calibration.abc.abc_smc` as the calibration runs it, on the
  RMS distance to the record, until its budget is spent, its last population read as the
  calibration reads it, through its kernel density estimate
  (:func:`~escalation.calibration.abc.smoothed_draws`);
* ``ABC-SMC particles``: the same population's particles as they are;
* ``ABC-SMC + regression``: those particles adjusted by
  :func:`~escalation.calibration.adjust.regression_adjust` (no further simulation);
* ``ABC-RF``: random forests on a reference table of that many prior runs, the record's event
  conditioned on by averaging over the runs that meet it
  (:func:`~escalation.calibration.forest.condition_inside`); one table serves many datasets;
* ``ABC-RF gap``: forests on the same table's signed gaps to the record, queried at 0
  (:func:`~escalation.calibration.forest.condition_gap`), grown again for each record.

Measures, per method and parameter (:func:`score`): the RMSE of the posterior mean against the
truth in units of the prior's standard deviation (1 is what the prior mean scores on average);
the share of datasets whose central 50% and 90% posterior intervals hold the truth; the mean width
of the 90% interval (prior sds); and simulation-based calibration (Talts et al. 2018): the rank of
the truth among L posterior draws is uniform on 0..L for an exact posterior, tested by a
chi-square test on equal bins (:func:`sbc_pvalue`).
"""

from __future__ import annotations

import hashlib
import math
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats as sps

from escalation.calibration.abc import Settings, abc_smc
from escalation.calibration.adjust import regression_adjust
from escalation.calibration.forest import (
    ForestSettings,
    Posterior,
    condition_gap,
    condition_inside,
    features,
    grow,
    record_distances,
    reference_table,
    signed_gaps,
)
from escalation.calibration.simulate import Proposal, Simulator, simulate
from escalation.calibration.spec import Prior
from escalation.calibration.synthetic import Dataset, datasets, truths
from escalation.files import write_arrays
from escalation.progress import QUIET, Bars, Counting
from escalation.record.summary import rms
from escalation.seeds import Streams

#: ABC-SMC's readings of its last population: its kernel density estimate (what a calibration
#: draws from), the particles themselves, and their regression adjustment.
ABC_METHODS = ("ABC-SMC", "ABC-SMC particles", "ABC-SMC + regression")
METHODS = (*ABC_METHODS, "ABC-RF", "ABC-RF gap")
#: Draws of the kernel density estimate that stand for a smoothed ABC-SMC posterior.
SMOOTHED_DRAWS = 4000


# --------------------------------------------------------------------------- the methods


@dataclass(frozen=True)
class Design:
    """The comparison: simulations per method and dataset, datasets per method, reference
    tables shared by the forest's datasets, ABC-SMC's particles, SBC's draws."""

    simulations: int = 3000
    datasets: int = 200
    gap_datasets: int = 40
    abc_datasets: int = 20
    tables: int = 4
    particles: int = 100
    draws: int = 99
    forest: ForestSettings = field(default_factory=ForestSettings)


class Inferred(NamedTuple):
    """Each method's posteriors by dataset index, and its cost per dataset (simulations, CPU)."""

    posteriors: dict[str, dict[int, Posterior]]
    cost: pd.DataFrame


def run_forests(
    sim: Simulator,
    data: list[Dataset],
    design: Design,
    streams: Streams,
    executor: Any,
    bars: Bars = QUIET,
) -> Inferred:
    """ABC-RF and ABC-RF gap on every dataset (gap: the first ``design.gap_datasets``): dataset
    i uses reference table i mod ``design.tables`` (stream ``table``/t); ``bars`` shows the
    tables' runs. With no tables (``design.tables`` 0) neither forest runs."""
    inside: dict[int, Posterior] = {}
    gap: dict[int, Posterior] = {}
    cpu = {"ABC-RF": 0.0, "ABC-RF gap": 0.0}
    used = {ds.index % design.tables for ds in data} if design.tables else set()
    label, total = "ABC random forests: reference tables", len(used) * design.simulations
    with bars.counting(executor, label, total) as counted:
        for t in range(design.tables):
            mine = [ds for ds in data if ds.index % design.tables == t]
            if not mine:
                continue
            start = time.process_time()
            stream = streams.child("table").child(t)
            table = reference_table(sim, design.simulations, stream, counted)
            simulated = time.process_time() - start
            x = features(sim.targets, table.stats)
            forests = grow(x, table.u, design.forest, stream)
            stats = [table.stats[:, ds.record.columns] for ds in mine]
            dist = [
                record_distances(ds.record.targets, s) for ds, s in zip(mine, stats, strict=True)
            ]
            posts = condition_inside(forests, table, x, dist, design.forest)
            inside.update({ds.index: p for ds, p in zip(mine, posts, strict=True)})
            cpu["ABC-RF"] += time.process_time() - start
            for ds, s in zip(mine, stats, strict=True):
                if ds.index >= design.gap_datasets:
                    continue
                start = time.process_time()
                gaps = signed_gaps(ds.record.targets, s)
                stream = streams.child("gap").child(ds.index)
                gap[ds.index] = condition_gap(table, gaps, design.forest, stream)
                # its own forests, and its share of the table's simulations
                cpu["ABC-RF gap"] += time.process_time() - start + simulated / len(mine)
    cost = pd.DataFrame(
        [
            _cost("ABC-RF", len(inside), design.simulations, cpu["ABC-RF"]),
            _cost("ABC-RF gap", len(gap), design.simulations, cpu["ABC-RF gap"]),
        ]
    )
    return Inferred({"ABC-RF": inside, "ABC-RF gap": gap}, cost)


def _cost(method: str, n: int, simulations: float, cpu: float) -> dict[str, Any]:
    return {
        "method": method,
        "datasets": n,
        "simulations_per_dataset": simulations,
        "cpu_s_per_dataset": round(cpu / max(n, 1), 2),
    }


def _keeping_runner(
    sim: Simulator, executor: Any, kept: dict[bytes, np.ndarray]
) -> Callable[[list[Proposal]], Iterator[tuple[int, float]]]:
    """ABC-SMC's simulate on ``executor`` that also keeps every run's statistics by its
    parameters (a particle is always a copy of a proposal, so its run is found again)."""

    def distances(todo: list[Proposal]) -> Iterator[tuple[int, float]]:
        values = [sim.values(p.u) for p in todo]
        stats = simulate(sim, values, [p.seed for p in todo], executor).stats
        for i, (p, s) in enumerate(zip(todo, stats, strict=True)):
            kept[p.u.tobytes()] = s
            yield i, rms(sim.targets.distances(s))

    return distances


class _AbcResult(NamedTuple):
    """One dataset's ABC-SMC result: its posterior, the regression-adjusted one, the
    simulations it spent and its CPU seconds."""

    plain: Posterior
    adjusted: Posterior
    spent: int
    cpu: float


def _abc_key(sim: Simulator, ds: Dataset, design: Design, streams: Streams) -> str:
    """What a dataset's ABC-SMC result depends on, hashed: the parameters, the budget, the
    truth, the record's targets and the stream; a result saved under another key is not it."""
    h = hashlib.sha256()
    for part in (
        sim.names,
        (design.simulations, design.particles),
        ds.u.tobytes(),
        ds.record.columns.tobytes(),
        repr(ds.record.targets.targets),
        (streams.master, streams.path),
    ):
        h.update(repr(part).encode())
    return h.hexdigest()[:16]


def _save_abc(path: Path, result: _AbcResult) -> None:
    arrays: dict[str, np.ndarray] = {"spent": np.array(result.spent), "cpu": np.array(result.cpu)}
    for name, post in (("plain", result.plain), ("adjusted", result.adjusted)):
        arrays[f"{name}_u"] = post.u
        arrays[f"{name}_weight"] = post.weight
        arrays[f"{name}_epsilon"] = np.array(post.epsilon)
        arrays[f"{name}_accepted"] = np.array(post.accepted)
    write_arrays(path, **arrays)


def _load_abc(path: Path) -> _AbcResult | None:
    if not path.exists():
        return None
    with np.load(path) as f:
        posts = [
            Posterior(
                f[f"{name}_u"],
                f[f"{name}_weight"],
                float(f[f"{name}_epsilon"]),
                int(f[f"{name}_accepted"]),
            )
            for name in ("plain", "adjusted")
        ]
        return _AbcResult(posts[0], posts[1], int(f["spent"]), float(f["cpu"]))


def _abc_one(
    sim: Simulator, ds: Dataset, settings: Settings, streams: Streams, executor: Any
) -> _AbcResult:
    """ABC-SMC on one dataset's record, and its regression adjustment."""
    start = time.process_time()
    mine = replace(sim, targets=ds.record.targets)
    kept: dict[bytes, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as folder:
        gens = abc_smc(
            sim.names,
            _keeping_runner(mine, executor, kept),
            settings,
            Path(folder),
            streams=streams,
        )
    last = gens[-1]
    stats = np.array([kept[u.tobytes()] for u in last.u])
    adjusted = regression_adjust(last, signed_gaps(ds.record.targets, stats))
    return _AbcResult(
        Posterior.of_generation(last), adjusted, len(kept), time.process_time() - start
    )


def run_abc(
    sim: Simulator,
    data: list[Dataset],
    design: Design,
    streams: Streams,
    executor: Any,
    bars: Bars = QUIET,
    state: Path | None = None,
    skip: frozenset[int] = frozenset(),
) -> Inferred:
    """ABC-SMC (and its regression adjustment) on the first ``design.abc_datasets`` datasets
    but those in ``skip``, each until ``design.simulations`` simulations are spent (stream
    ``abc``/i); ``bars`` shows their runs. With a ``state`` folder each dataset's result is saved
    there as it finishes and a later call with the same design, seed and datasets takes it up
    instead of running it again, so a run of hours can be stopped and resumed; its figures are
    the same either way (the CPU cost is the one measured when the dataset ran)."""
    settings = Settings(
        particles=design.particles,
        max_generations=1000,
        max_simulations=design.simulations,
        max_minutes=math.inf,
        min_acceptance=0.0,  # the budget, not the acceptance rate, ends the run
        batch=32,
    )
    results: dict[int, _AbcResult] = {}
    chosen = [ds for ds in data[: design.abc_datasets] if ds.index not in skip]
    if state is not None:
        state.mkdir(parents=True, exist_ok=True)
    with bars.bar("ABC-SMC on each dataset", len(chosen) * design.simulations) as bar:
        counted = Counting(executor, bar.update)
        for k, ds in enumerate(chosen, start=1):
            stream = streams.child("abc").child(ds.index)
            path = None
            if state is not None:
                path = state / f"abc-{ds.index}-{_abc_key(sim, ds, design, stream)}.npz"
            found = _load_abc(path) if path is not None else None
            if found is None:
                found = _abc_one(sim, ds, settings, stream, counted)
                if path is not None:
                    _save_abc(path, found)
            results[ds.index] = found
            bar.n = k * design.simulations  # a run may end a batch past its budget
            bar.refresh()
    spent = [r.spent for r in results.values()]
    mean = float(np.mean(spent)) if spent else 0.0
    cpu = sum(r.cpu for r in results.values())
    cost = pd.DataFrame([_cost(m, len(results), mean, cpu) for m in ABC_METHODS])
    smooth = streams.child("smooth")
    posteriors = {
        "ABC-SMC": {
            i: r.plain.smoothed(SMOOTHED_DRAWS, smooth.child(i).rng()) for i, r in results.items()
        },
        "ABC-SMC particles": {i: r.plain for i, r in results.items()},
        "ABC-SMC + regression": {i: r.adjusted for i, r in results.items()},
    }
    return Inferred(posteriors, cost)


# --------------------------------------------------------------------------- the measures


def prior_sd(prior: Prior, points: int = 4000) -> float:
    """The standard deviation of ``prior`` (over a grid of its quantiles)."""
    u = (np.arange(points) + 0.5) / points
    return float(np.std([prior.from_unit(float(x)) for x in u]))


def weighted_quantiles(x: np.ndarray, w: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Quantiles ``q`` of the sample ``x`` weighted by ``w`` (the first value whose cumulative
    weight reaches each)."""
    order = np.argsort(x, kind="stable")
    cum = np.cumsum(w[order])
    at = np.searchsorted(cum / cum[-1], q, side="left")
    return x[order][np.minimum(at, len(x) - 1)]


def sbc_bins(n: int, draws: int, least: float = 5.0) -> int:
    """The most equal bins of the ranks 0..``draws`` (a divisor of draws + 1) that leave at
    least ``least`` of ``n`` ranks expected in each, so the chi-square test holds; at least 2."""
    fits = [b for b in range(2, draws + 2) if (draws + 1) % b == 0 and n / b >= least]
    return max(fits, default=2)


def sbc_counts(ranks: np.ndarray, draws: int, bins: int) -> np.ndarray:
    """How many of ``ranks`` (of the truth among ``draws`` posterior draws, 0..draws) fall in
    each of ``bins`` equal bins."""
    return np.bincount(np.asarray(ranks, dtype=int) * bins // (draws + 1), minlength=bins)


def sbc_pvalue(ranks: np.ndarray, draws: int, bins: int) -> float:
    """The chi-square test's p-value that ``ranks`` (of the truth among ``draws`` posterior
    draws, 0..draws) are uniform, on ``bins`` equal bins."""
    return float(sps.chisquare(sbc_counts(ranks, draws, bins)).pvalue)


def _covered(g: pd.DataFrame, low: str, high: str) -> float:
    """The share of rows of ``g`` whose truth lies between its ``low`` and ``high`` columns."""
    t = g["truth"]
    return float(np.mean((g[low] <= t) & (t <= g[high])))


def _values(sim: Simulator, u: np.ndarray) -> np.ndarray:
    """Parameter values at prior quantiles ``u`` (samples x parameters)."""
    return np.column_stack(
        [np.vectorize(p.from_unit, otypes=[float])(u[:, k]) for k, p in enumerate(sim.priors)]
    )


def score(
    sim: Simulator,
    data: list[Dataset],
    inferred: dict[str, dict[int, Posterior]],
    draws: int,
    streams: Streams,
) -> pd.DataFrame:
    """One row per method, dataset and parameter: the truth, the posterior mean, the quantiles
    of its central 50% and 90% intervals, and the rank of the truth among ``draws`` posterior
    draws (stream ``sbc``/method/dataset)."""
    rows = []
    cache: dict[int, np.ndarray] = {}  # reference tables are shared by many posteriors
    for method, posts in inferred.items():
        for i, post in sorted(posts.items()):
            if id(post.u) not in cache:
                cache[id(post.u)] = _values(sim, post.u)
            values = cache[id(post.u)]
            truth = sim.values(data[i].u)
            rng = streams.child("sbc").child(method).child(i).rng()
            for k, name in enumerate(sim.names):
                v, w = values[:, k], post.weight[k]
                q = weighted_quantiles(v, w, np.array([0.05, 0.25, 0.75, 0.95]))
                sample = v[rng.choice(len(v), size=draws, p=w)]
                rows.append(
                    {
                        "method": method,
                        "dataset": i,
                        "parameter": name,
                        "truth": truth[k],
                        "mean": float(w @ v),
                        "q05": q[0],
                        "q25": q[1],
                        "q75": q[2],
                        "q95": q[3],
                        "rank": int(np.sum(sample < truth[k])),
                        "epsilon": post.epsilon,
                    }
                )
    return pd.DataFrame(rows)


def summarise(per_dataset: pd.DataFrame, sim: Simulator, draws: int) -> pd.DataFrame:
    """Per method and parameter: datasets, RMSE of the posterior mean and mean 90% width (prior
    sds), coverage of the 50% and 90% intervals, SBC bins and p-value, and the share of
    datasets conditioned on a widened event (epsilon > 0)."""
    sd = {n: prior_sd(p) for n, p in zip(sim.names, sim.priors, strict=True)}
    rows = []
    for (method, name), g in per_dataset.groupby(["method", "parameter"], sort=False):
        t = g["truth"]
        bins = sbc_bins(len(g), draws)
        rows.append(
            {
                "method": method,
                "parameter": name,
                "datasets": len(g),
                "rmse": float(np.sqrt(np.mean((g["mean"] - t) ** 2)) / sd[name]),
                "coverage_50": _covered(g, "q25", "q75"),
                "coverage_90": _covered(g, "q05", "q95"),
                "width_90": float(np.mean(g["q95"] - g["q05"]) / sd[name]),
                "sbc_bins": bins,
                "sbc_p": sbc_pvalue(g["rank"].to_numpy(), draws, bins),
                "widened": float(np.mean(g["epsilon"] > 0)),
            }
        )
    return pd.DataFrame(rows)


def pooled(
    per_dataset: pd.DataFrame, table: pd.DataFrame, draws: int, bins: int = 10
) -> pd.DataFrame:
    """Per method, the checks over all its values at once: the truth's ranks pooled over
    values and datasets on ``bins`` equal bins (counts, and the chi-square p-value of uniform
    ranks; ranks of one dataset's values are not independent, so read it as a guide), the
    pooled coverage of the 50% and 90% intervals, and how many values pass one at a time
    (``table``'s SBC p-value above 0.05, 90% coverage within 85-95%)."""
    rows = []
    for method, g in per_dataset.groupby("method", sort=False):
        counts = sbc_counts(g["rank"].to_numpy(), draws, bins)
        one = table[table["method"] == method]
        rows.append(
            {
                "method": method,
                "datasets": int(g["dataset"].nunique()),
                "values": int(g["parameter"].nunique()),
                "rank_counts": " ".join(str(int(c)) for c in counts),
                "pooled_sbc_p": float(sps.chisquare(counts).pvalue),
                "coverage_50": _covered(g, "q25", "q75"),
                "coverage_90": _covered(g, "q05", "q95"),
                "values_sbc_p_over_005": int((one["sbc_p"] > 0.05).sum()),
                "values_coverage_90_in_85_95": int(one["coverage_90"].between(0.85, 0.95).sum()),
            }
        )
    return pd.DataFrame(rows)


class EarlierRowsError(ValueError):
    """Rows given as an earlier run's that this run did not make."""


def taken_up(sim: Simulator, u: np.ndarray, earlier: pd.DataFrame | None) -> frozenset[int]:
    """The datasets whose ABC-SMC rows ``earlier`` holds, after checking they belong to this run:
    every ABC-SMC method on the same datasets among the first ``len(u)``, with ``sim``'s
    parameters, and each row's truth the one this run drew for its dataset (``u``, the truths on
    the unit scale: so the calibration and the seed are the same; the budget is not in the rows,
    and keeping it is the caller's part). Raises EarlierRowsError naming what differs."""
    if earlier is None:
        return frozenset()
    methods = set(ABC_METHODS)
    if set(earlier["method"]) != methods:
        raise EarlierRowsError(
            f"expected rows of {sorted(methods)}, got {sorted(set(earlier['method']))}"
        )
    if set(earlier["parameter"]) != set(sim.names):
        odd = sorted(set(earlier["parameter"]) ^ set(sim.names))
        raise EarlierRowsError(f"the earlier rows fit other values than this calibration: {odd}")
    byname = {n: k for k, n in enumerate(sim.names)}
    known = {i: sim.values(x) for i, x in enumerate(u)}
    for row in earlier.itertuples():
        truth = known.get(int(row.dataset))
        if truth is None or not np.isclose(truth[byname[row.parameter]], row.truth, rtol=1e-9):
            raise EarlierRowsError(
                f"dataset {row.dataset}'s true {row.parameter} is not this run's: the earlier "
                "rows come from another seed or calibration"
            )
    sets = [frozenset(g) for _, g in earlier.groupby("method")["dataset"]]
    if len(set(sets)) > 1:
        raise EarlierRowsError("the earlier rows fit different datasets with the ABC-SMC methods")
    return sets[0]


class Comparison(NamedTuple):
    """The comparison's results: every posterior's figures (per_dataset), their summary over
    each method's datasets (table) and over the datasets every method ran (paired), and each
    method's cost per dataset."""

    per_dataset: pd.DataFrame
    table: pd.DataFrame
    paired: pd.DataFrame
    cost: pd.DataFrame


def compare(
    sim: Simulator,
    design: Design,
    streams: Streams,
    executor: Any,
    bars: Bars = QUIET,
    state: Path | None = None,
    earlier: pd.DataFrame | None = None,
) -> Comparison:
    """Every method on model-made datasets of ``sim`` at ``design``'s budget (streams: ``truth``
    for the datasets, ``table``/``gap`` for the forests, ``abc`` for ABC-SMC, ``sbc``);
    ``bars`` shows each stage's runs; ABC-SMC keeps and resumes its results in ``state``
    (:func:`run_abc`). ``earlier`` holds ABC-SMC's ``per_dataset`` rows from an earlier run of
    the same design and seed whose state is gone: their datasets are not fitted again and their
    rows join this run's, once their truths are found to be this run's (:func:`taken_up`)."""
    # earlier rows are checked against the truths before any run, so a mismatch fails at once
    fitted = min(design.abc_datasets, design.datasets)
    done = taken_up(sim, truths(sim, fitted, streams.child("truth")), earlier)
    data = datasets(sim, design.datasets, streams.child("truth"), executor, bars)
    forests = run_forests(sim, data, design, streams, executor, bars)
    abc = run_abc(sim, data, design, streams, executor, bars, state, done)
    inferred = {**abc.posteriors, **forests.posteriors}
    per = score(sim, data, inferred, design.draws, streams)
    if earlier is not None:
        order = {m: k for k, m in enumerate(inferred)}
        per = pd.concat([earlier, per], ignore_index=True)
        per = per.sort_values("dataset", kind="stable")
        per = per.sort_values("method", key=lambda m: m.map(order), kind="stable")
        per = per.reset_index(drop=True)
    common = set.intersection(*(set(g) for _, g in per.groupby("method")["dataset"]))
    paired = per[per["dataset"].isin(common)]
    return Comparison(
        per,
        summarise(per, sim, design.draws),
        summarise(paired, sim, design.draws),
        pd.concat([abc.cost, forests.cost], ignore_index=True),
    )
