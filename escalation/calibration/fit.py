"""Calibration: fit scenario values to the record's tempo targets, with a posterior.

A calibration file names a scenario, the values to fit with their priors, and the budget. The
simulator of a parameter vector is the project's one run function: the scenario with the values
applied, run once with a seed, its true events mapped through every target's observed-series
definition, and the distance of its statistics to the targets (:mod:`escalation.record.summary`).
ABC-SMC (:mod:`escalation.calibration.abc`) turns that into a weighted posterior sample.
"""

from __future__ import annotations

import copy
import datetime as dt
import fnmatch
import hashlib
import json
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import Field, ValidationError, model_validator
from scipy import stats as sps

from escalation.calibration.abc import Generation, Settings
from escalation.calibration.report import ensemble_centre, phase_fit_targets
from escalation.errors import ScenarioError, UserError, did_you_mean
from escalation.experiments.executors import Shared
from escalation.experiments.runner import all_series, run
from escalation.files import write_json
from escalation.record.loading import load_record
from escalation.record.summary import TargetSet, rms
from escalation.record.types import Record, Target
from escalation.scenario import schema as C
from escalation.scenario.loading import (
    Layer,
    _line_of,
    _raise_validation,
    load_scenario,
    read_yaml_mapping,
    with_overrides,
)
from escalation.seeds import spawn_seeds

BUDGETS: dict[str, dict[str, float]] = {
    # particles, simulations and minutes of ABC for the main fit; sweeps and common seeds of the
    # coordinate search that polishes the best parameter set; steps and perturbed runs per step
    # of the trust-region polish that follows it (escalation.calibration.trust)
    "quick": {
        "particles": 60,
        "simulations": 1200,
        "minutes": 4.0,
        "refine_sweeps": 1,
        "refine_seeds": 8,
        "trust_steps": 0,
        "trust_perturbations": 200,
    },
    "default": {
        "particles": 150,
        "simulations": 5200,
        "minutes": 5.0,
        "refine_sweeps": 1,
        "refine_seeds": 12,
        "trust_steps": 1,
        "trust_perturbations": 800,
    },
    "thorough": {
        "particles": 400,
        "simulations": 40000,
        "minutes": 120.0,
        "refine_sweeps": 8,
        "refine_seeds": 40,
        "trust_steps": 6,
        "trust_perturbations": 3000,
    },
}


class Prior(C.Frozen):
    """The prior of one fitted value."""

    prior: Literal["uniform", "loguniform", "normal"] = Field(
        "uniform", description="Distribution of the prior."
    )
    low: float | None = Field(
        None, description="Lower bound (uniform, loguniform; truncates normal)."
    )
    high: float | None = Field(
        None, description="Upper bound (uniform, loguniform; truncates normal)."
    )
    mean: float | None = Field(None, description="Mean (normal).")
    sd: Annotated[float, Field(gt=0)] | None = Field(
        None, description="Standard deviation (normal)."
    )
    type: Literal["float", "int"] = Field("float", description="Number type.")

    @model_validator(mode="after")
    def _complete(self) -> Prior:
        if self.prior in ("uniform", "loguniform"):
            if self.low is None or self.high is None:
                raise ValueError(f"a {self.prior} prior needs low and high")
            if not self.low < self.high:
                raise ValueError(f"low ({self.low}) must be below high ({self.high})")
            if self.prior == "loguniform" and self.low <= 0:
                raise ValueError("a loguniform prior needs low > 0")
        else:
            if self.mean is None or self.sd is None:
                raise ValueError("a normal prior needs mean and sd")
            if self.low is not None and self.high is not None and not self.low < self.high:
                raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self

    def from_unit(self, u: float) -> float:
        """The value at quantile ``u`` of the prior."""
        u = min(max(u, 0.0), 1.0)
        if self.prior == "uniform":
            x = self.low + u * (self.high - self.low)  # type: ignore[operator]
        elif self.prior == "loguniform":
            x = math.exp(math.log(self.low) + u * math.log(self.high / self.low))  # type: ignore[operator,arg-type]
        else:
            a = -math.inf if self.low is None else (self.low - self.mean) / self.sd  # type: ignore[operator]
            b = math.inf if self.high is None else (self.high - self.mean) / self.sd  # type: ignore[operator]
            lo, hi = sps.norm.cdf(a), sps.norm.cdf(b)
            q = min(max(lo + u * (hi - lo), 1e-12), 1 - 1e-12)
            x = self.mean + self.sd * sps.norm.ppf(q)  # type: ignore[operator]
        return float(round(x)) if self.type == "int" else float(x)

    def to_unit(self, x: float) -> float:
        """The prior quantile of ``x``."""
        if self.prior == "uniform":
            return (x - self.low) / (self.high - self.low)  # type: ignore[operator]
        if self.prior == "loguniform":
            return math.log(x / self.low) / math.log(self.high / self.low)  # type: ignore[operator,arg-type]
        a = -math.inf if self.low is None else (self.low - self.mean) / self.sd  # type: ignore[operator]
        b = math.inf if self.high is None else (self.high - self.mean) / self.sd  # type: ignore[operator]
        lo, hi = sps.norm.cdf(a), sps.norm.cdf(b)
        return (sps.norm.cdf((x - self.mean) / self.sd) - lo) / (hi - lo)  # type: ignore[operator]


class CalibrationSpec(C.Frozen):
    """A calibration file."""

    name: str = Field(description="Name (the output folder under calibrations/fitted/).")
    description: str = Field("", description="What is fitted and why.")
    scenario: str = Field(description="Scenario file, relative to the calibration file.")
    set: dict[str, Any] = Field(default_factory=dict, description="Fixed overrides.")
    parameters: dict[str, Prior] = Field(
        description="Key path -> prior. Scenario key paths, or series.<id>.<field> for the "
        "observation parameters of the record's series (e.g. a source's coverage)."
    )
    fit_until: dt.date | None = Field(
        None, description="Fit only targets whose windows end by this date; score the rest."
    )
    fit_phases: bool = Field(
        True,
        description="Also fit the direction of every expected phase change of the record (the "
        "report scores them either way).",
    )
    quantile: Annotated[float, Field(gt=0, lt=1)] = Field(
        0.5, description="Each generation's tolerance: this quantile of the last one's distances."
    )
    generations: Annotated[int, Field(ge=1)] = Field(15, description="Most generations.")
    min_acceptance: Annotated[float, Field(ge=0, lt=1)] = Field(
        0.02, description="Stop when a generation's acceptance rate falls below this."
    )
    seed: Annotated[int, Field(ge=0)] = Field(0, description="Master seed.")
    report_replicates: Annotated[int, Field(ge=10)] = Field(
        100, description="Runs of the calibrated ensemble the report scores."
    )
    candidates: Annotated[int, Field(ge=1)] = Field(
        8, description="Best posterior particles re-run to choose the best parameter set."
    )
    candidate_replicates: Annotated[int, Field(ge=3)] = Field(
        16, description="Runs per candidate when choosing the best parameter set."
    )
    null_budget_share: Annotated[float, Field(ge=0, le=1)] = Field(
        0.25,
        description="Budget of the phase-blind null model's fit, as a share of the main fit's "
        "(0 skips it).",
    )

    @model_validator(mode="after")
    def _some(self) -> CalibrationSpec:
        if not self.parameters:
            raise ValueError("at least one parameter is needed")
        return self


# --------------------------------------------------------------------------- the simulator


def _split(names: Sequence[str], values: Sequence[float]) -> tuple[dict, dict]:
    scenario, series = {}, {}
    for name, value in zip(names, values, strict=True):
        (series if name.startswith("series.") else scenario)[name] = value
    return scenario, series


def apply_series_params(
    specs: Mapping[str, C.SeriesSpec], values: Mapping[str, float]
) -> dict[str, C.SeriesSpec]:
    """Series specs with ``series.<id>.<field>[.<key>]`` values applied (``<id>`` may be a glob
    such as ``ctc_*``, for a parameter shared by every series of one source)."""
    out = dict(specs)
    for path, value in values.items():
        _, pattern, *rest = path.split(".")
        matched = [sid for sid in out if fnmatch.fnmatchcase(sid, pattern)]
        if not matched or not rest:
            raise ValueError(f"{path}: no series matches {pattern!r}")
        for sid in matched:
            data = out[sid].model_dump()
            node = data
            for key in rest[:-1]:
                if not isinstance(node.get(key), dict):
                    node[key] = {}
                node = node[key]
            node[rest[-1]] = value
            out[sid] = C.SeriesSpec.model_validate(data)
    return out


@dataclass
class Simulator:
    """Parameter vector in, distance (or statistics) out: the one run function underneath."""

    scenario: C.Scenario
    series: dict[str, C.SeriesSpec]
    targets: TargetSet
    names: list[str]
    priors: list[Prior]

    def values(self, u: np.ndarray) -> list[float]:
        return [p.from_unit(float(x)) for p, x in zip(self.priors, u, strict=True)]

    def configure(self, values: Sequence[float]) -> tuple[C.Scenario, dict[str, C.SeriesSpec]]:
        over, series_values = _split(self.names, values)
        scenario = with_overrides(self.scenario, over) if over else self.scenario
        return scenario, apply_series_params(self.series, series_values)

    def statistics(self, values: Sequence[float], seed: int) -> np.ndarray:
        """The targets' statistics of one run."""
        scenario, series = self.configure(values)
        result = run(scenario, seed, series=series, daily_series=True)
        assert result.daily_series is not None
        return self.targets.evaluate(result.daily_series)

    def distance(self, values: Sequence[float], seed: int) -> float:
        return rms(self.targets.distances(self.statistics(values, seed)))


def _distance_task(task: tuple[Shared[Simulator], np.ndarray, int]) -> float:
    shared, u, seed = task
    sim = shared.get()
    return sim.distance(sim.values(u), seed)


def _stats_task(task: tuple[Shared[Simulator], Sequence[float], int]) -> np.ndarray:
    shared, values, seed = task
    return shared.get().statistics(values, seed)


# --------------------------------------------------------------------------- loading


@dataclass
class Calibration:
    """A loaded calibration: spec, scenario, record, target split, simulator."""

    spec: CalibrationSpec
    path: Path
    scenario: C.Scenario
    record: Record
    fit_targets: list[Target]
    score_targets: list[Target]
    holdout_targets: list[Target]
    episodes: list[Target]
    simulator: Simulator
    series_names: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return list(self.simulator.names)

    def identity(self) -> dict[str, Any]:
        """What must not change for a run to be resumed."""
        from escalation.scenario.loading import provenance

        prov = provenance(self.scenario)
        resolved = dict(prov.resolved) if prov else {}
        for key in ("name", "description"):  # naming a scenario does not change the fit
            resolved.pop(key, None)
        digest = hashlib.sha256(
            json.dumps(resolved, sort_keys=True, default=str).encode()
        ).hexdigest()
        return {
            "parameters": json.loads(
                json.dumps(
                    {k: v.model_dump() for k, v in self.spec.parameters.items()}, default=str
                )
            ),
            "scenario": digest,
            "targets": [t.id for t in self.simulator.targets.targets],
            "quantile": self.spec.quantile,
            "seed": self.spec.seed,
        }


def load_calibration(
    path: str | Path,
    *,
    fit_until: dt.date | None = None,
    record: Record | None = None,
    overrides: Sequence[str] = (),
) -> Calibration:
    """Read and validate a calibration file; errors name the file, key path and expectation."""
    path = Path(path)
    label = str(path)
    data, text = read_yaml_mapping(path, kind="calibration")
    if fit_until is not None:
        data = {**data, "fit_until": fit_until}
    try:
        spec = CalibrationSpec.model_validate(data)
    except ValidationError as exc:
        _raise_validation(exc, [Layer(label, data, path, text)], data, CalibrationSpec)
    scenario_path = Path(spec.scenario)
    if not scenario_path.is_absolute():
        scenario_path = path.parent / scenario_path
    if not scenario_path.exists():
        line = _line_of(text, ["scenario"])
        raise ScenarioError(
            f"{label}, line {line}" if line else label,
            "scenario",
            f"names {spec.scenario!r}, which does not exist",
        )
    fixed = [f"{k}={json.dumps(v, default=str)}" for k, v in spec.set.items()]
    scenario = load_scenario(scenario_path, [*fixed, *overrides])
    record = record or load_record()
    series = {sid: s.to_spec() for sid, s in record.series.items()}
    names = list(spec.parameters)
    priors = list(spec.parameters.values())
    for name, prior in spec.parameters.items():
        line = _line_of(text, ["parameters", name])
        where = f"{label}, line {line}" if line else label
        probes = [prior.from_unit(0.0), prior.from_unit(1.0)]
        for value in probes:
            try:
                if name.startswith("series."):
                    apply_series_params(series, {name: value})
                else:
                    with_overrides(scenario, {name: value})
            except (ScenarioError, ValueError, ValidationError) as exc:
                msg = exc.message if isinstance(exc, ScenarioError) else str(exc).splitlines()[0]
                raise ScenarioError(
                    where,
                    f"parameters.{name}",
                    f"value {value!r} (an end of the prior) is not valid: {msg}",
                ) from None
    names_all = list(all_series(scenario, series))
    n_days = (scenario.end - scenario.start).days + 1
    usable = TargetSet.usable(record.used_targets(), scenario.start, scenario.end, names_all)
    episodes = [t for t in usable if t.is_episode]
    tempo = [t for t in usable if not t.is_episode]
    until = spec.fit_until
    fit = [t for t in tempo if until is None or t.span.end <= until]
    holdout = [t for t in tempo if until is not None and t.span.end > until]
    if not fit:
        raise UserError(f"{label}: no target ends by fit_until {until}; nothing to fit")
    if until is not None and not holdout:
        last = max(t.span.end for t in tempo)
        raise UserError(
            f"{label}: fit_until {until}: every target ends by then (the last on {last}), so "
            f"nothing is left to score out of sample; expected a date before {last}"
        )
    phases = []
    if spec.fit_phases:
        phases = [
            t
            for t in phase_fit_targets(record)
            if t.within(scenario.start, scenario.end) and (until is None or t.span.end <= until)
        ]
    fitted = TargetSet([*fit, *phases], names_all, scenario.start, n_days)
    sim = Simulator(scenario, series, fitted, names, priors)
    return Calibration(spec, path, scenario, record, fit, tempo, holdout, episodes, sim, names_all)


def load_start(path: str | Path, cal: Calibration) -> list[float]:
    """Start values for the best-set search: a YAML (or JSON) mapping of every fitted name to a
    value inside its prior, flat or under ``best:`` as in a fit's scores.json."""
    path = Path(path)
    label = str(path)
    data, text = read_yaml_mapping(path, kind="start-values")
    values = data["best"] if isinstance(data.get("best"), dict) else data
    names = cal.names
    unknown = [k for k in values if k not in names]
    if unknown:
        hint = did_you_mean(str(unknown[0]), names)
        raise ScenarioError(
            label,
            str(unknown[0]),
            f"is not a value {cal.spec.name!r} fits{hint}; expected one of the {len(names)} "
            f"names under 'parameters' in {cal.path}",
        )
    missing = [n for n in names if n not in values]
    if missing:
        raise ScenarioError(
            label,
            missing[0],
            f"has no value (missing, {len(missing)} in all: {', '.join(missing[:5])}"
            f"{', ...' if len(missing) > 5 else ''}); expected a value for every name under "
            f"'parameters' in {cal.path}",
        )
    out = []
    for name, prior in zip(names, cal.simulator.priors, strict=True):
        v = values[name]
        lo, hi = prior.from_unit(0.0), prior.from_unit(1.0)
        line = _line_of(text, [name])
        where = f"{label}, line {line}" if line else label
        if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
            raise ScenarioError(
                where, name, f"is {v!r}; expected a number in the prior's range [{lo:g}, {hi:g}]"
            )
        out.append(float(v))
    return out


def settings_for(
    cal: Calibration, budget: str | Mapping[str, float], share: float = 1.0
) -> Settings:
    """ABC settings from a named budget, or a mapping with particles, simulations and minutes
    (scaled by ``share`` for null models)."""
    b = BUDGETS[budget] if isinstance(budget, str) else budget
    return Settings(
        particles=max(10, int(b["particles"] * (1.0 if share >= 1 else max(share * 2, 0.4)))),
        quantile=cal.spec.quantile,
        max_generations=cal.spec.generations,
        max_simulations=int(b["simulations"] * share),
        max_minutes=b["minutes"] * share,
        min_acceptance=cal.spec.min_acceptance,
        batch=32,
        seed=cal.spec.seed,
    )


def distance_runner(sim: Simulator, executor) -> Any:
    """A ``simulate`` callable for ABC-SMC on an executor."""

    shared = Shared(sim)  # sent to each worker process once

    def simulate(todo: list[tuple[np.ndarray, int]]) -> Iterator[tuple[int, float]]:
        tasks = [(shared, u, seed) for u, seed in todo]
        yield from executor.imap(_distance_task, tasks)

    return simulate


def posterior_frame(cal: Calibration, gen: Generation) -> pd.DataFrame:
    """The posterior sample: one row per particle with its values, weight and distance."""
    values = np.array([cal.simulator.values(u) for u in gen.u])
    frame = pd.DataFrame(values, columns=cal.names)
    frame["weight"] = gen.weight / gen.weight.sum()
    frame["distance"] = gen.distance
    return frame


def ensemble_statistics(
    sim: Simulator, values: Sequence[float], seeds: Sequence[int], executor
) -> np.ndarray:
    """Statistics of every target of ``sim`` for runs at ``values``: runs x targets."""
    shared = Shared(sim)
    tasks = [(shared, list(values), s) for s in seeds]
    out: list[np.ndarray | None] = [None] * len(tasks)
    for i, stats in executor.imap(_stats_task, tasks):
        out[i] = stats
    return np.array(out)


def choose_best(
    cal: Calibration,
    gen: Generation,
    executor,
    seeds: Sequence[int],
    start: Sequence[float] | None = None,
) -> tuple[list[float], pd.DataFrame]:
    """Re-run the best particles, the posterior mean (and ``start``, values given by the user)
    and keep the one whose ensemble median is expected to meet the most fit targets
    (:func:`expected_hits`; ties: the smaller distance of the medians)."""
    sim = cal.simulator
    order = np.argsort(gen.distance)[: cal.spec.candidates]
    candidates = [(sim.values(gen.u[i]), "particle") for i in order]
    w = gen.weight / gen.weight.sum()
    mean = np.clip((gen.u * w[:, None]).sum(axis=0), 0, 1)
    candidates.append((sim.values(mean), "posterior mean"))
    if start is not None:
        candidates.append((list(start), "start"))
    rows = []
    for j, (values, kind) in enumerate(candidates):
        stats = ensemble_statistics(sim, values, seeds, executor)
        hits, dist = _objective(sim, stats)
        rows.append(
            {"candidate": j, "hits": hits, "distance": dist, "values": values, "kind": kind}
        )
    table = pd.DataFrame(rows).sort_values(["hits", "distance"], ascending=[False, True])
    best = list(table.iloc[0]["values"])
    return best, table


ENSEMBLE_RUNS = 100  # the size of the ensemble the report scores
BOOTSTRAP_DRAWS = 200


def expected_hits(
    targets: TargetSet,
    stats: np.ndarray,
    *,
    runs: int = ENSEMBLE_RUNS,
    draws: int = BOOTSTRAP_DRAWS,
) -> float:
    """The expected number of fit targets an ensemble of ``runs`` runs meets with its median,
    estimated by resampling the rows of ``stats`` (one row per run; a fixed resampling stream, so
    equal inputs give equal estimates).

    Counting the hits of the median of the runs at hand rewards a median that lands in a narrow
    range by the luck of those seeds; the expectation over resampled ensembles instead grows as
    the distribution's middle moves towards each observed range, which is what a fresh
    ensemble's score depends on."""
    if len(stats) == 0:
        return 0.0
    rng = np.random.default_rng(20191227)  # the K-1 attack: any fixed stream will do
    idx = rng.integers(0, len(stats), size=(draws, runs))
    centres = ensemble_centre(targets, stats[idx])  # (draws, targets)
    total = 0
    for i in range(len(targets.targets)):
        vals, inverse = np.unique(centres[:, i], return_inverse=True)
        ok = np.array([targets.satisfied_one(i, v) for v in vals], dtype=bool)
        total += int(ok[inverse].sum())
    return total / draws


def _objective(sim: Simulator, stats: np.ndarray) -> tuple[float, float]:
    """Expected hits of a report-sized ensemble; ties broken by the distance of the median."""
    centre = ensemble_centre(sim.targets, stats)
    return expected_hits(sim.targets, stats), rms(sim.targets.distances(centre))


def refine(
    cal: Calibration,
    start: Sequence[float],
    executor,
    seeds: Sequence[int],
    *,
    sweeps: int = 3,
    step: float = 0.08,
    max_step: float = 0.32,
    min_step: float = 0.005,
    state: Path | None = None,
    note=None,
) -> tuple[list[float], pd.DataFrame]:
    """Polish a parameter set by adaptive coordinate search in prior-quantile units.

    A sweep visits every parameter once, in an order drawn afresh for each sweep. For each it
    runs the ensemble a step up and a step down (common random numbers: the same ``seeds``)
    and moves at once if either is expected to meet more fit targets (:func:`expected_hits`,
    from those runs), or as many with a smaller distance; that parameter's step then doubles (up
    to ``max_step``), and otherwise halves (down to ``min_step``). The search stops early when a
    sweep moves nothing and every step is at its floor. With ``state`` (a JSON file) it saves
    itself after every parameter, and a later call with the same start, seeds and steps
    continues where it stopped, with more sweeps if asked.
    Returns the values and a log of the accepted moves."""
    sim = cal.simulator
    priors = sim.priors
    n = len(priors)
    shared = Shared(sim)

    def evaluate(points: list[np.ndarray]) -> list[tuple[float, float]]:
        tasks = [(shared, v, s) for v in map(sim.values, points) for s in seeds]
        out: list[Any] = [None] * len(tasks)
        for i, stats in executor.imap(_stats_task, tasks):
            out[i] = stats
        k = len(seeds)
        return [_objective(sim, np.array(out[j * k : (j + 1) * k])) for j in range(len(points))]

    identity = {
        "names": list(sim.names),
        "start": [float(v) for v in start],
        "seeds": [int(s) for s in seeds],
        "step": step,
        "max_step": max_step,
        "min_step": min_step,
        "criterion": "expected hits",
    }
    saved = _read_refine_state(state, identity)
    t0 = time.monotonic()
    earlier = float(saved.get("elapsed", 0.0)) if saved is not None else 0.0
    if saved is not None:
        u = np.array(saved["u"], dtype=float)
        steps = np.array(saved["steps"], dtype=float)
        best = (float(saved["best"][0]), float(saved["best"][1]))
        sweep, pos, done = int(saved["sweep"]), int(saved["position"]), bool(saved["done"])
        moved = int(saved["moved"])
        log = list(saved["log"])
    else:
        u = np.array([p.to_unit(v) for p, v in zip(priors, start, strict=True)], dtype=float)
        steps = np.full(n, step)
        best = evaluate([u])[0]
        sweep, pos, done, moved = 1, 0, False, 0
        log = [{"sweep": 0, "parameter": "", "move": 0.0, "hits": best[0], "distance": best[1]}]

    def save() -> None:
        if state is None:
            return
        body = {
            "identity": identity,
            "u": u.tolist(),
            "steps": steps.tolist(),
            "best": list(best),
            "sweep": sweep,
            "position": pos,
            "moved": moved,
            "done": done,
            "log": log,
            "elapsed": earlier + time.monotonic() - t0,  # seconds, over every call
        }
        write_json(state, body)

    while not done and sweep <= sweeps:
        order = np.random.default_rng([int(seeds[0]) if seeds else 0, sweep]).permutation(n)
        if note and pos == 0:
            note(f"refining the best set: sweep {sweep} of {sweeps}, {n} parameters")
        while pos < n:
            k = int(order[pos])
            trials = []
            for sign in (1.0, -1.0):
                x = u.copy()
                x[k] = min(1.0, max(0.0, x[k] + sign * steps[k]))
                if x[k] != u[k]:
                    trials.append(x)
            scores = evaluate(trials) if trials else []
            j = max(range(len(trials)), key=lambda i: (scores[i][0], -scores[i][1]), default=None)
            if j is not None and (scores[j][0], -scores[j][1]) > (best[0], -best[1]):
                log.append(
                    {
                        "sweep": sweep,
                        "parameter": sim.names[k],
                        "move": float(trials[j][k] - u[k]),
                        "hits": scores[j][0],
                        "distance": scores[j][1],
                    }
                )
                u, best = trials[j], scores[j]
                steps[k] = min(max_step, steps[k] * 2)
                moved += 1
            else:
                steps[k] = max(min_step, steps[k] / 2)
            pos += 1
            save()
        done = moved == 0 and bool(np.all(steps <= min_step))
        sweep, pos, moved = sweep + 1, 0, 0
        save()
    return sim.values(u), pd.DataFrame(log)


def _read_refine_state(path: Path | None, identity: dict[str, Any]) -> dict[str, Any] | None:
    """A saved coordinate search with this identity, or None (none saved, or another search)."""
    if path is None or not path.exists():
        return None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return saved if saved.get("identity") == identity else None


def best_overlay(
    cal: Calibration,
    values: Sequence[float],
    folder: Path,
    *,
    name: str | None = None,
    description: str | None = None,
) -> str:
    """The best parameter set as a scenario file (to be saved in ``folder``) extending the
    calibrated scenario."""
    scenario_path = (cal.path.parent / cal.spec.scenario).resolve()
    rel = Path(_relpath(scenario_path, folder.resolve()))
    over, series_values = _split(cal.names, values)
    data: dict[str, Any] = {
        "extends": str(rel),
        "name": name or f"{cal.scenario.name}_fitted",
        "description": description or f"The best parameter set of calibration '{cal.spec.name}'.",
    }
    for key, value in {**cal.spec.set, **over}.items():
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = tidy(value)
    header = (
        f"# Fitted by `escalation calibrate` ({cal.spec.name}); see report.md.\n"
        "# Observation parameters of the record's series fitted alongside:\n"
        + "".join(f"#   {k} = {tidy(v)}\n" for k, v in series_values.items())
    )
    return header + yaml.safe_dump(data, sort_keys=False)


def tidy(value: Any) -> Any:
    """A fitted value as written to scenario files (six significant digits)."""
    if isinstance(value, float):
        return float(f"{value:.6g}")
    return value


def _relpath(target: Path, start: Path) -> str:
    import os

    return os.path.relpath(target, start)


# --------------------------------------------------------------------------- null models


def phase_blind(cal: Calibration) -> Calibration:
    """The same calibration on the scenario with its whole timeline removed (no phases); values
    of timeline events are not fitted, since there are none."""
    scenario = with_overrides(cal.scenario, {"events": None})
    sim = copy.copy(cal.simulator)
    sim.scenario = scenario
    keep = [i for i, n in enumerate(sim.names) if not n.startswith("events.")]
    sim.names = [sim.names[i] for i in keep]
    sim.priors = [sim.priors[i] for i in keep]
    out = copy.copy(cal)
    out.scenario = scenario
    out.simulator = sim
    return out


def constant_rates(cal: Calibration, targets: TargetSet, n_days: int) -> dict[int, float]:
    """Constant daily rates per series (by column) that best meet the targets on average."""
    cols = sorted(
        {c.col for c in targets.compiled} | {c.ref_col for c in targets.compiled if c.ref_col >= 0}
    )
    rates = {c: 0.05 for c in cols}
    grid = np.r_[0.0, np.geomspace(1e-4, 5.0, 60)]

    def expected(r: Mapping[int, float]) -> np.ndarray:
        values = np.zeros((n_days, max(cols) + 1))
        for c, lam in r.items():
            values[:, c] = lam
        return values

    for _ in range(3):
        for c in cols:
            best, best_d = rates[c], math.inf
            for lam in grid:
                trial = {**rates, c: float(lam)}
                d = rms(targets.distances(targets.evaluate(expected(trial))))
                if d < best_d:
                    best, best_d = float(lam), d
            rates[c] = best
    return rates


def constant_rate_statistics(
    rates: Mapping[int, float], targets: TargetSet, n_days: int, seeds: Sequence[int]
) -> np.ndarray:
    """Statistics of Poisson counts at constant rates (the null model's ensemble)."""
    out = []
    width = max(rates) + 1 if rates else 1
    lam = np.zeros(width)
    for c, r in rates.items():
        lam[c] = r
    for s in seeds:
        rng = np.random.default_rng(s)
        values = rng.poisson(lam, size=(n_days, width)).astype(float)
        out.append(targets.evaluate(values))
    return np.array(out)


def report_seeds(cal: Calibration) -> list[int]:
    return spawn_seeds(cal.spec.seed + 1, cal.spec.report_replicates)
