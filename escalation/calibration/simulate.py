"""The simulator: parameter values and seeds in, the targets' statistics out.

Every stage of the fit reaches the model through :func:`simulate` (runs of given values with
given seeds, on an executor) or, for ABC-SMC, :func:`distance_runner` (the same runs, reduced to
their distance to the targets as they finish). Both run the scenario with the values applied,
once per seed, map its true events through every target's observed-series definition and
compute the targets' statistics (:mod:`escalation.record.summary`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from escalation.calibration.spec import Prior
from escalation.experiments.executors import Shared
from escalation.experiments.runner import run
from escalation.record.summary import TargetSet, rms
from escalation.record.types import TARGET_CLASSES
from escalation.scenario import schema as C
from escalation.scenario.loading import with_overrides


class SplitValues(NamedTuple):
    """Fitted values by kind: scenario key paths, and ``series.<id>.<field>`` paths."""

    scenario: dict[str, float]
    series: dict[str, float]


def split_values(
    names: Sequence[str],
    values: Sequence[float],
    also: Mapping[str, Sequence[str]] | None = None,
) -> SplitValues:
    """Fitted values split into scenario values and observation parameters of series; a name's
    ``also`` paths take its value too."""
    scenario: dict[str, float] = {}
    series: dict[str, float] = {}
    for name, value in zip(names, values, strict=True):
        for path in (name, *(also or {}).get(name, ())):
            (series if path.startswith("series.") else scenario)[path] = value
    return SplitValues(scenario, series)


def apply_series_params(
    specs: Mapping[str, C.SeriesSpec], values: Mapping[str, float]
) -> dict[str, C.SeriesSpec]:
    """Series specs with ``series.<id>.<field>[.<key>]`` values applied (``<id>`` may be a glob
    such as ``ctc_*``, for a parameter shared by every series of one source).

    ``coverage.<class>`` sets one target class's coverage: a series that counts one number for
    all its classes keeps that number for the others, and a series that does not count the class
    is left as it is (a glob over one source reaches series of every class).
    """
    out = dict(specs)
    for path, value in values.items():
        _, pattern, *rest = path.split(".")
        matched = [sid for sid in out if fnmatch.fnmatchcase(sid, pattern)]
        if not matched or not rest:
            raise ValueError(f"{path}: no series matches {pattern!r}")
        for sid in matched:
            data = out[sid].model_dump()
            if rest[0] == "coverage" and len(rest) == 2:
                if not _set_class_coverage(data, rest[1], value):
                    continue
            else:
                node = data
                for key in rest[:-1]:
                    if not isinstance(node.get(key), dict):
                        node[key] = {}
                    node = node[key]
                node[rest[-1]] = value
            out[sid] = C.SeriesSpec.model_validate(data)
    return out


def _set_class_coverage(data: dict[str, Any], target_class: str, value: float) -> bool:
    """Set one class's coverage in a dumped series spec; False if the series does not count
    that class."""
    targets = data["targets"]
    if targets != "any" and target_class not in targets:
        return False
    coverage = data["coverage"]
    if not isinstance(coverage, dict):
        classes = TARGET_CLASSES if targets == "any" else targets
        coverage = {c: float(coverage) for c in classes}
    data["coverage"] = {**coverage, target_class: value}
    return True


class Configured(NamedTuple):
    """A scenario and the observed series with fitted values applied."""

    scenario: C.Scenario
    series: dict[str, C.SeriesSpec]


@dataclass
class Simulator:
    """Parameter vector in, distance (or statistics) out: the one run function underneath."""

    scenario: C.Scenario
    series: dict[str, C.SeriesSpec]
    targets: TargetSet
    names: list[str]
    priors: list[Prior]

    def values(self, u: np.ndarray) -> list[float]:
        """The values at prior quantiles ``u``."""
        return [p.from_unit(float(x)) for p, x in zip(self.priors, u, strict=True)]

    @cached_property
    def also(self) -> dict[str, list[str]]:
        """The other key paths each fitted name sets (priors may be left out when values are
        set directly, not fitted: then nothing is tied)."""
        return {n: p.also for n, p in zip(self.names, self.priors, strict=False) if p.also}

    def configure(self, values: Sequence[float]) -> Configured:
        """The scenario and series with ``values`` applied."""
        over, series_values = split_values(self.names, values, self.also)
        # fitted values mean what they will in the scenario file --write-scenario writes
        scenario = (
            with_overrides(self.scenario, over, hold_doctrine=False) if over else self.scenario
        )
        return Configured(scenario, apply_series_params(self.series, series_values))

    def statistics(self, values: Sequence[float], seed: int) -> np.ndarray:
        """The targets' statistics of one run."""
        scenario, series = self.configure(values)
        result = run(scenario, seed, series=series, daily_series=True)
        assert result.daily_series is not None
        return self.targets.evaluate(result.daily_series)

    def distance(self, values: Sequence[float], seed: int) -> float:
        """The distance of one run's statistics to the targets."""
        return rms(self.targets.distances(self.statistics(values, seed)))


class Runs(NamedTuple):
    """Runs of a simulator: the targets' statistics (runs x targets) and, when panels were
    asked for, their monthly values (tidy, with a ``run`` column; else None)."""

    stats: np.ndarray
    monthly: pd.DataFrame | None


class _Task(NamedTuple):
    sim: Shared[Simulator]
    values: list[float]
    seed: int
    panels: tuple[str, ...]


class _Output(NamedTuple):
    stats: np.ndarray
    monthly: pd.DataFrame | None


def _run_task(task: _Task) -> _Output:
    """One run: the statistics of every target, and the panels' monthly values if asked."""
    sim = task.sim.get()
    if not task.panels:
        return _Output(sim.statistics(task.values, task.seed), None)
    scenario, series = sim.configure(task.values)
    result = run(scenario, task.seed, series=series, daily_series=True)
    assert result.daily_series is not None  # asked for
    stats = sim.targets.evaluate(result.daily_series)
    return _Output(stats, result.monthly[result.monthly["series"].isin(task.panels)])


def simulate(
    sim: Simulator,
    values: Sequence[Sequence[float]],
    seeds: Sequence[int],
    executor: Any,
    *,
    panels: Sequence[str] = (),
    on_run: Callable[[], None] | None = None,
) -> Runs:
    """Run ``values[i]`` with ``seeds[i]``, for every i, on ``executor``; with ``panels`` (series
    names) also keep those series' monthly values; ``on_run`` is called as each run finishes."""
    shared = Shared(sim)  # sent to each worker process once
    tasks = [_Task(shared, list(v), s, tuple(panels)) for v, s in zip(values, seeds, strict=True)]
    stats: list[Any] = [None] * len(tasks)
    frames: list[Any] = [None] * len(tasks)
    for i, out in executor.imap(_run_task, tasks):
        stats[i] = out.stats
        if on_run is not None:
            on_run()
        if panels:
            frames[i] = out.monthly.assign(run=i)
    monthly = pd.concat(frames, ignore_index=True) if panels and frames else None
    return Runs(np.array(stats), monthly)


def repeated(values: Sequence[float], seeds: Sequence[int]) -> list[list[float]]:
    """``values`` once per seed (an ensemble at one parameter set)."""
    return [list(values)] * len(seeds)


class Proposal(NamedTuple):
    """A point of ABC-SMC to simulate: prior quantiles and a run seed."""

    u: np.ndarray
    seed: int


def distance_runner(
    sim: Simulator, executor: Any
) -> Callable[[list[Proposal]], Iterator[tuple[int, float]]]:
    """The ``simulate`` of ABC-SMC on an executor: proposals in, (position, distance to the
    targets) out as runs finish."""
    shared = Shared(sim)  # sent to each worker process once

    def distances(todo: list[Proposal]) -> Iterator[tuple[int, float]]:
        tasks = [_Task(shared, sim.values(u), seed, ()) for u, seed in todo]
        for i, out in executor.imap(_run_task, tasks):
            yield i, rms(sim.targets.distances(out.stats))

    return distances
