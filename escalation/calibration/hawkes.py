"""A self-exciting null model: daily counts of each series as a discrete-time Hawkes process.

Attacks cluster: one provokes the next, a bad week follows a bad week. A constant rate cannot
show that; an agent model earns its keep only if it beats a model that can. Per series column::

    N_t ~ Poisson(lambda_t)
    lambda_t = max(0, mu + alpha * sum_{s<t} phi(t - s) N_s + gamma * sum_{strikes d<t} phi(t - d))
    phi(k) = (1 - e^-beta) e^(-beta (k - 1)),  k >= 1   (sums to 1)

``alpha`` is the branching ratio (the expected number of events each event triggers; below 1 the
process is stationary, and the fit keeps it at most ``MAX_BRANCHING``), ``1 / beta`` the memory
in days, and ``gamma`` the expected events a US strike of the scenario's timeline adds (or, when
negative, removes) before any cascade, through the same kernel. Strikes are inputs: the null
does not model them. The fit works with the stationary mean rate ``m = mu / (1 - alpha)``, so that
changing the branching ratio moves the clustering and not the mean; the excitation starts at its
stationary expectation, so ``lambda_0 = m``.

A run is the time change of unit-rate Poisson arrivals: the day's count is the number of
arrivals that fall within the day's share of the cumulative intensity. Each run and column reads
its own arrivals, drawn in blocks named by (run seed, column, block), so every parameter value
the fit tries sees the same random numbers (common random numbers: the objective is
deterministic and moves smoothly with the parameters), and a run's counts depend only on its
seed. Runs, columns and candidate values are simulated together; only days are looped over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from escalation.calibration.scoring import ENSEMBLE_RUNS, ensemble_centre
from escalation.progress import QUIET, Bars, end_early
from escalation.record.summary import TargetSet, rms
from escalation.scenario import schema as C
from escalation.seeds import spawn_seeds

#: The largest branching ratio the fit admits (below 1: a stationary process).
MAX_BRANCHING = 0.95
#: The values the coordinate search tries: branching ratios, memories in days (1 / beta), factors
#: on the current mean rate and a coarse grid of mean rates (so a sweep can also leave the start
#: far behind, or reach zero), and strike effects in multiples of the mean count of 30 days.
BRANCHING_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, MAX_BRANCHING)
MEMORY_GRID = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)
MEAN_FACTORS = (0.5, 0.63, 0.79, 0.89, 1.0, 1.12, 1.26, 1.59, 2.0)
MEAN_GRID = (0.0, *np.geomspace(1e-4, 5.0, 10).round(6))
STRIKE_GRID = (-2.0, -1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
#: Runs of the fit's ensemble (as many as the ensemble whose median ranks the agents' parameter
#: sets: with fewer, the search learns the luck of its seeds on the sparse series, whose ratios
#: are often 0/0 or n/0), and sweeps of its coordinate search.
FIT_RUNS = ENSEMBLE_RUNS
FIT_SWEEPS = 3
#: Unit-rate arrivals per block of a stream; runs simulated at once by hawkes_statistics.
BLOCK = 1024
CHUNK_RUNS = 16
#: The types of timeline event that are US strikes, the null's inputs.
STRIKE_EVENTS = ("us_strike", "leadership_strike")


class HawkesParams(NamedTuple):
    """One series' Hawkes process: its stationary mean daily rate without strikes, branching
    ratio, kernel decay per day, and expected events added per strike (negative: removed)."""

    mean: float
    branching: float = 0.0
    decay: float = 1.0 / 8.0
    strike: float = 0.0

    @property
    def baseline(self) -> float:
        """The immigrant rate mu = m (1 - alpha)."""
        return self.mean * (1.0 - self.branching)

    @property
    def memory_days(self) -> float:
        """1 / beta: the kernel's decay time in days."""
        return 1.0 / self.decay


@dataclass(frozen=True)
class HawkesFit:
    """The fitted Hawkes null: parameters per series column, the scenario's length and strike
    days (inputs), and the RMS target distance of the fit ensemble's median at the constant-rate
    start and at the end."""

    params: dict[int, HawkesParams]
    n_days: int
    strike_days: tuple[int, ...]
    start_distance: float
    distance: float

    def table(self, series: Sequence[str]) -> pd.DataFrame:
        """One row per fitted series: mean rate, baseline rate, branching ratio, memory in days
        and the events a strike adds."""
        rows = [
            {
                "series": series[c],
                "mean_rate": round(p.mean, 5),
                "baseline_rate": round(p.baseline, 5),
                "branching_ratio": p.branching,
                "memory_days": p.memory_days,
                "strike_effect": round(p.strike, 3),
            }
            for c, p in sorted(self.params.items())
        ]
        return pd.DataFrame(rows)

    def parameters(self, series: Sequence[str]) -> dict[str, dict[str, float]]:
        """The table as scores.json records it: series -> its fitted values."""
        table = self.table(series).set_index("series")
        return {k: {c: float(v) for c, v in row.items()} for k, row in table.iterrows()}


def strike_days(scenario: C.Scenario) -> tuple[int, ...]:
    """Day indices (from the scenario's start) of the US strikes on its timeline."""
    return tuple(
        sorted(
            (e.date - scenario.start).days
            for e in scenario.events.values()
            if e.type in STRIKE_EVENTS and scenario.start <= e.date <= scenario.end
        )
    )


# --------------------------------------------------------------------------- simulation


class _Paths(NamedTuple):
    """Independent paths simulated together: per path (arrays of one length) its parameters and
    the stream of unit-rate arrivals it reads."""

    mean: np.ndarray
    branching: np.ndarray
    decay: np.ndarray
    strike: np.ndarray
    stream: np.ndarray

    @classmethod
    def of(cls, params: Sequence[HawkesParams], streams: Sequence[int] | np.ndarray) -> _Paths:
        """Paths with the given parameters, reading the given streams."""
        cols = np.array([tuple(p) for p in params], dtype=float).reshape(-1, 4).T
        mean, branching, decay, strike = cols
        return cls(mean, branching, decay, strike, np.asarray(streams, dtype=int))


#: Arrival times are kept on a grid of 2**-24 (in units of cumulative intensity) as integers, and
#: streams laid end to end 2**44 apart, so finding a path's arrivals in the joined array is an
#: exact integer search (an arrival lies below a total exactly when it lies below the total
#: rounded down to the grid). A stream thus holds at most 2**20 units of cumulative intensity.
QUANTUM = 2.0**24
SPAN = 2**44


class _Flat(NamedTuple):
    """Arrival times of several streams in one sorted integer array: stream ``s`` holds its
    arrivals on the grid plus ``s * SPAN``, then ``(s + 1) * SPAN - 1`` as an end nothing
    passes."""

    keys: np.ndarray
    start: np.ndarray  # per stream: the index of its first arrival
    last: np.ndarray  # per stream: its last arrival (as a cumulative intensity)


class _Arrivals:
    """Unit-rate Poisson arrival times of streams named by (run seed, column). Block ``b`` of a
    stream holds ``BLOCK * 2**b`` arrivals from a generator named by (seed, column, b), so
    extending a stream never changes its beginning."""

    def __init__(self, keys: Sequence[tuple[int, int]]) -> None:
        self.keys = list(keys)
        self.times = [np.zeros(0) for _ in self.keys]
        self.blocks = [0] * len(self.keys)

    def _extend(self, i: int, need: float) -> None:
        seed, col = self.keys[i]
        while not len(self.times[i]) or self.times[i][-1] <= need:
            b = self.blocks[i]
            gaps = np.random.default_rng([seed, col, b]).standard_exponential(BLOCK << b)
            last = self.times[i][-1] if len(self.times[i]) else 0.0
            self.times[i] = np.concatenate([self.times[i], last + np.cumsum(gaps)])
            self.blocks[i] = b + 1
        if self.times[i][-1] * QUANTUM >= SPAN:
            raise ValueError("cumulative intensity beyond what a stream holds")

    def covering(self, need: np.ndarray) -> _Flat:
        """Every stream, extended beyond its ``need`` (per stream)."""
        for i, n in enumerate(need):
            self._extend(i, float(n))
        parts: list[np.ndarray | list[int]] = []
        for i, t in enumerate(self.times):
            parts += [np.floor(t * QUANTUM).astype(np.int64) + i * SPAN, [(i + 1) * SPAN - 1]]
        lengths = np.array([len(t) + 1 for t in self.times])
        return _Flat(
            np.concatenate(parts),
            np.cumsum(lengths) - lengths,
            np.array([t[-1] for t in self.times]),
        )


def _step_counts(p: _Paths, inputs: np.ndarray, flat: _Flat) -> tuple[np.ndarray, np.ndarray]:
    """Daily counts (days x paths) and each path's cumulative intensity at the end: a day's
    count is the number of its stream's arrivals the cumulative intensity passes that day."""
    fade = np.exp(-p.decay)
    own = (1.0 - fade) * p.branching  # weight of yesterday's count
    provoked = (1.0 - fade) * p.strike
    mu = p.mean * (1.0 - p.branching)
    excite = p.mean / (1.0 - fade)  # sum of past counts under the kernel, at its expectation
    struck = np.zeros(len(p.mean))
    total = np.zeros(len(p.mean))
    offset = p.stream * SPAN
    following = flat.start[p.stream]  # index of each path's next arrival
    counts = np.zeros((len(inputs), len(p.mean)))
    for t, hits in enumerate(inputs):
        total += np.maximum(mu + own * excite + provoked * struck, 0.0)
        grid = np.floor(total * QUANTUM).astype(np.int64) + offset
        moved = np.flatnonzero(flat.keys[following] <= grid)  # most days, few paths see any
        if moved.size:
            now = np.searchsorted(flat.keys, grid[moved], side="right")
            counts[t, moved] = now - following[moved]
            following[moved] = now
        excite = fade * excite + counts[t]
        struck = fade * struck + hits
    return counts, total


def _simulate(p: _Paths, inputs: np.ndarray, arrivals: _Arrivals) -> np.ndarray:
    """Daily counts (days x paths) given the strikes per day (``inputs``), drawing more
    arrivals until every path's stream covers its cumulative intensity (so counts never run out
    of arrivals)."""
    guess = p.mean * len(inputs) * 1.3 + np.abs(p.strike) * inputs.sum()
    while True:
        need = np.zeros(len(arrivals.keys))
        np.maximum.at(need, p.stream, guess)
        flat = arrivals.covering(need)
        counts, total = _step_counts(p, inputs, flat)
        if np.all(total < flat.last[p.stream]):
            return counts
        guess = total


def _strike_inputs(n_days: int, days: Sequence[int]) -> np.ndarray:
    """Strikes per day, from their day indices."""
    return np.bincount(np.asarray(days, dtype=int), minlength=n_days)[:n_days].astype(float)


def hawkes_counts(
    params: Mapping[int, HawkesParams],
    n_days: int,
    strikes: Sequence[int],
    seeds: Sequence[int],
    width: int | None = None,
) -> np.ndarray:
    """Daily counts of each run (runs x days x ``width`` columns; columns without parameters
    stay zero) given the day indices of the US strikes, run ``i`` drawing from ``seeds[i]``
    alone."""
    cols = sorted(params)
    width = width if width is not None else (max(cols) + 1 if cols else 1)
    out = np.zeros((len(seeds), n_days, width))
    if not cols:
        return out
    arrivals = _Arrivals([(s, c) for s in seeds for c in cols])
    paths = _Paths.of([params[c] for _ in seeds for c in cols], range(len(arrivals.keys)))
    counts = _simulate(paths, _strike_inputs(n_days, strikes), arrivals)
    out[:, :, cols] = counts.reshape(n_days, len(seeds), len(cols)).transpose(1, 0, 2)
    return out


def hawkes_statistics(
    fit: HawkesFit, targets: TargetSet, seeds: Sequence[int], bars: Bars = QUIET
) -> np.ndarray:
    """Statistics (runs x targets) of the fitted Hawkes null on ``seeds`` (the null's
    ensemble, scored like every other model's; ``bars`` shows its runs)."""
    width = 1 + max(
        [*fit.params, *(c.col for c in targets.compiled), *(c.ref_col for c in targets.compiled)],
        default=0,
    )
    out: list[np.ndarray] = []
    with bars.bar("null model: Hawkes ensemble", len(seeds)) as bar:
        for a in range(0, len(seeds), CHUNK_RUNS):
            chunk = seeds[a : a + CHUNK_RUNS]
            counts = hawkes_counts(fit.params, fit.n_days, fit.strike_days, chunk, width)
            out.extend(targets.evaluate(v) for v in counts)
            bar.update(len(chunk))
    return np.array(out).reshape(len(seeds), len(targets.targets))


# --------------------------------------------------------------------------- the fit


def _column_view(
    ts: TargetSet, idx: Sequence[int] | np.ndarray, columns: Sequence[int]
) -> TargetSet:
    """Targets ``idx`` of a compiled set, reading ``columns`` renumbered 0, 1, ... (so a run's
    values need only those columns)."""
    at = {c: j for j, c in enumerate(columns)}
    view = TargetSet.__new__(TargetSet)
    view.targets = [ts.targets[i] for i in idx]
    view.compiled = [
        replace(
            ts.compiled[i], col=at[ts.compiled[i].col], ref_col=at.get(ts.compiled[i].ref_col, -1)
        )
        for i in idx
    ]
    view.month_labels = [ts.month_labels[i] for i in idx]
    view.low, view.high, view.peak_index = ts.low[idx], ts.high[idx], ts.peak_index[idx]
    view.start, view.n_days = ts.start, ts.n_days
    return view


class _Column(NamedTuple):
    """What the fit of one series column reads: the targets it moves (their indices in the
    whole set, and a view of them on the columns they read, this one first), its arrivals."""

    idx: np.ndarray
    view: TargetSet
    others: list[int]
    arrivals: _Arrivals


def _columns(ts: TargetSet, seeds: Sequence[int]) -> dict[int, _Column]:
    """Per series column that the targets read: the targets that read it."""
    read = [{c.col, c.ref_col} - {-1} for c in ts.compiled]
    out = {}
    for col in sorted(set().union(*read)):
        idx = np.array([i for i, r in enumerate(read) if col in r])
        others = sorted(set().union(*(read[i] for i in idx)) - {col})
        view = _column_view(ts, idx, [col, *others])
        out[col] = _Column(idx, view, others, _Arrivals([(s, col) for s in seeds]))
    return out


class _State(NamedTuple):
    """The search's current point: parameters, each column's runs (days x runs) and the
    distance of each target."""

    params: dict[int, HawkesParams]
    runs: dict[int, np.ndarray]
    dist: np.ndarray


class _Trial(NamedTuple):
    """Candidate values of one column, each one's overall distance, its targets' distances and
    its runs."""

    params: list[HawkesParams]
    distance: np.ndarray  # per candidate
    dist: np.ndarray  # candidates x the column's targets
    runs: np.ndarray  # days x candidates x runs


def _runs(column: _Column, trials: Sequence[HawkesParams], inputs: np.ndarray) -> np.ndarray:
    """The common runs of one column at each candidate (days x candidates x runs)."""
    n_runs = len(column.arrivals.keys)
    streams = np.tile(np.arange(n_runs), len(trials))
    paths = _Paths.of([p for p in trials for _ in range(n_runs)], streams)
    return _simulate(paths, inputs, column.arrivals).reshape(len(inputs), len(trials), n_runs)


def _try(column: _Column, trials: list[HawkesParams], state: _State, inputs: np.ndarray) -> _Trial:
    """Simulate the candidates for one column on the common runs and score each: the runs of
    the other columns its targets read stay as they are."""
    runs = _runs(column, trials, inputs)
    n_runs = runs.shape[2]
    values = np.zeros((len(inputs), 1 + len(column.others)))
    stats = np.empty((len(trials), n_runs, len(column.idx)))
    for r in range(n_runs):
        for j, other in enumerate(column.others, start=1):
            values[:, j] = state.runs[other][:, r]
        for g in range(len(trials)):
            values[:, 0] = runs[:, g, r]
            stats[g, r] = column.view.evaluate(values)
    centres = ensemble_centre(column.view, stats)
    dist = np.array([column.view.distances(c) for c in centres])
    rest = np.sum(state.dist**2) - np.sum(state.dist[column.idx] ** 2)
    distance = np.sqrt((rest + np.sum(dist**2, axis=1)) / len(state.dist))
    return _Trial(trials, distance, dist, runs)


def _candidates(p: HawkesParams, name: str) -> list[HawkesParams]:
    """The values of one parameter the search tries from ``p`` (``p`` itself among them)."""
    if name == "mean":
        grid = [p.mean * f for f in MEAN_FACTORS] + list(MEAN_GRID)
    elif name == "branching":
        grid = list(BRANCHING_GRID)
    elif name == "decay":
        if p.branching == 0 and p.strike == 0:
            return [p]  # the kernel does nothing
        grid = [1.0 / m for m in MEMORY_GRID]
    else:
        grid = [30.0 * p.mean * k for k in STRIKE_GRID]
    values = sorted({float(v) for v in grid} | {getattr(p, name)})
    return [p._replace(**{name: v}) for v in values]


def _sweep(state: _State, columns: dict[int, _Column], inputs: np.ndarray, bar: Any) -> bool:
    """One sweep of the coordinate search: every parameter of every column in turn takes the
    candidate value that lowers the RMS distance most (if any does), ``bar`` advancing by one
    for each. Whether anything moved."""
    moved = False
    for col, column in columns.items():
        for name in HawkesParams._fields:
            bar.update()
            trials = _candidates(state.params[col], name)
            if len(trials) < 2:
                continue
            trial = _try(column, trials, state, inputs)
            j = int(np.argmin(trial.distance))
            if trial.distance[j] < rms(state.dist) - 1e-12:
                state.params[col] = trial.params[j]
                state.runs[col] = trial.runs[:, j, :]
                state.dist[column.idx] = trial.dist[j]
                moved = True
    return moved


def _start(
    targets: TargetSet, columns: dict[int, _Column], start: Mapping[int, float], inputs: np.ndarray
) -> _State:
    """The search's first point: the constant rates, with their runs and distances."""
    params = {c: HawkesParams(float(start.get(c, 0.0))) for c in columns}
    runs = {c: _runs(column, [params[c]], inputs)[:, 0, :] for c, column in columns.items()}
    n_days, n_runs = len(inputs), len(next(iter(columns.values())).arrivals.keys)
    stats = np.zeros((n_runs, len(targets.targets)))
    for r in range(n_runs):
        values = np.zeros((n_days, 1 + max(columns)))
        for col in columns:
            values[:, col] = runs[col][:, r]
        stats[r] = targets.evaluate(values)
    return _State(params, runs, targets.distances(ensemble_centre(targets, stats)))


def fit_hawkes(
    targets: TargetSet,
    n_days: int,
    strikes: Sequence[int],
    start: Mapping[int, float],
    seed: int,
    *,
    runs: int = FIT_RUNS,
    sweeps: int = FIT_SWEEPS,
    bars: Bars = QUIET,
) -> HawkesFit:
    """Hawkes parameters per series column that bring the median of a ``runs``-run ensemble
    (seeds spawned from ``seed``, common to every candidate) closest to ``targets`` (RMS of
    :meth:`TargetSet.distances`), by coordinate search over fixed grids from ``start`` (the
    constant rates per column, i.e. branching 0 and no strike effect). ``strikes``: the day
    indices of the US strikes (:func:`strike_days`), inputs. Deterministic given ``seed``;
    ``bars`` shows the parameters searched."""
    columns = _columns(targets, spawn_seeds(seed, runs))
    if not columns:
        return HawkesFit({}, n_days, tuple(strikes), 0.0, 0.0)
    inputs = _strike_inputs(n_days, strikes)
    state = _start(targets, columns, start, inputs)
    first = rms(state.dist)
    total = sweeps * len(columns) * len(HawkesParams._fields)
    with bars.bar("null model: fitting Hawkes counts", total, unit="value") as bar:
        for _ in range(sweeps):
            if not _sweep(state, columns, inputs, bar):
                break
        end_early(bar)  # a sweep that moved nothing ends the search
    return HawkesFit(dict(state.params), n_days, tuple(strikes), first, rms(state.dist))
