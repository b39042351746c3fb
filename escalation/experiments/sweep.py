"""Parameter sweeps: designs (grid, Latin hypercube, Sobol), resumable runs, analysis, plots.

A sweep is a scenario, the parameters to vary (dotted key paths with a range or a list of
values), a design and a number of replicates. Every run is written to disk as soon as it
finishes; running the same sweep again continues where it stopped, with no run lost, redone or
duplicated. All points share the same replicate seeds (common random numbers), so differences
between points are not noise from different seeds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import Field, ValidationError, model_validator

from escalation.errors import ScenarioError, UserError
from escalation.experiments.executors import Shared, make_executor
from escalation.experiments.limits import MAX_POINTS, MAX_RUNS
from escalation.experiments.manifest import scenario_record, versions
from escalation.experiments.runner import run
from escalation.experiments.sensitivity import flag_informative
from escalation.files import AppendLog, folder_lock, read_json, write_json, write_table
from escalation.observe.outcomes import outcomes
from escalation.scenario import schema as C
from escalation.scenario.loading import (
    Layer,
    _line_of,
    _raise_validation,
    load_scenario,
    read_yaml_mapping,
    resolved_dict,
    with_overrides,
)
from escalation.scenario.yamltext import describe, load_yaml
from escalation.seeds import spawn_seeds
from escalation.tables import DEFAULT_FORMAT, find_table, read_table, save_table, table_file

DEFAULT_OUTCOMES = (
    "attacks_on_us",
    "attacks_us_base",
    "attacks_us_convoy",
    "us_wounded",
    "us_killed",
    "retaliations",
    "truce_days",
    "spiral",
    "peak_war_fear",
)


class ParamSpec(C.Frozen):
    """One swept parameter: a range (low, high) or a list of values."""

    low: float | None = Field(None, description="Lowest value of a range.")
    high: float | None = Field(None, description="Highest value of a range.")
    values: list[Any] | None = Field(None, description="Discrete values (instead of a range).")
    type: Literal["float", "int"] = Field("float", description="Number type of a range.")
    levels: Annotated[int, Field(ge=2)] = Field(5, description="Grid levels of a range.")
    log: bool = Field(False, description="Space a range logarithmically (low > 0).")

    @model_validator(mode="after")
    def _range_or_values(self) -> ParamSpec:
        has_range = self.low is not None or self.high is not None
        if self.values is not None and has_range:
            raise ValueError("give either low and high, or values, not both")
        if self.values is None:
            if self.low is None or self.high is None:
                raise ValueError("a range needs both low and high (or give values)")
            if not self.low < self.high:
                raise ValueError(f"low ({self.low}) must be below high ({self.high})")
            if self.log and self.low <= 0:
                raise ValueError("a log range needs low > 0")
        elif len(self.values) < 1:
            raise ValueError("values needs at least one value")
        return self

    def bounds(self) -> tuple[float, float]:
        """Low and high of a range (the validator requires both when no values are given)."""
        if self.low is None or self.high is None:
            raise ValueError("a range needs both low and high (or give values)")
        return float(self.low), float(self.high)


class DesignSpec(C.Frozen):
    """How points are chosen."""

    method: Literal["grid", "lhs", "sobol"] = Field(
        "grid",
        description="grid: every combination of levels; lhs: Latin hypercube of `samples` points; "
        "sobol: Saltelli's scheme for Sobol indices, `samples` * (parameters + 2) points. At "
        f"most {MAX_POINTS:,} points and {MAX_RUNS:,} runs (points x replicates) unless --force.",
    )
    samples: Annotated[int, Field(ge=1)] = Field(
        32, description="Points (lhs) or base sample size (sobol, a power of 2)."
    )
    seed: Annotated[int, Field(ge=0)] = Field(0, description="Seed of the design's sampling.")


class SweepSpec(C.Frozen):
    """A sweep file."""

    name: str = Field(description="Sweep name (the output folder).")
    description: str = Field("", description="The question the sweep asks.")
    scenario: str = Field(description="Scenario file, relative to the sweep file.")
    set: dict[str, Any] = Field(
        default_factory=dict, description="Fixed overrides of the scenario (key path -> value)."
    )
    parameters: dict[str, ParamSpec] = Field(description="Key path -> what to vary.")
    design: DesignSpec = Field(default_factory=DesignSpec)
    replicates: Annotated[int, Field(ge=1)] = Field(10, description="Runs per point.")
    seed: Annotated[int, Field(ge=0)] = Field(0, description="Master seed of the replicates.")
    outcomes: list[str] = Field(
        default_factory=lambda: list(DEFAULT_OUTCOMES),
        description="Columns of the runs table to analyse and plot.",
    )

    @model_validator(mode="after")
    def _some_parameter(self) -> SweepSpec:
        if not self.parameters:
            raise ValueError("at least one parameter is needed")
        return self


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: spec, base scenario, points, seeds."""

    spec: SweepSpec
    scenario: C.Scenario
    points: pd.DataFrame  # point, then one column per parameter
    seeds: list[int]
    source: str

    @property
    def parameters(self) -> list[str]:
        return list(self.spec.parameters)

    @property
    def total_runs(self) -> int:
        return len(self.points) * self.spec.replicates

    def digest(self) -> str:
        """Identity of the sweep: points, seeds and scenario."""
        from escalation.scenario.loading import provenance

        prov = provenance(self.scenario)
        blob = json.dumps(
            {
                "points": self.points.to_dict(orient="list"),
                "seeds": self.seeds,
                "scenario": prov.digest() if prov else self.scenario.model_dump_json(),
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()


# --------------------------------------------------------------------------- loading


def read_sweep_file(path: str | Path) -> tuple[dict[str, Any], str]:
    """The mapping in a sweep file and its text (for line numbers in errors)."""
    return read_yaml_mapping(path, kind="sweep")


def load_sweep(path: str | Path, overrides: Sequence[str] = (), force: bool = False) -> Sweep:
    """Read and validate a sweep file; its scenario is loaded relative to it. ``force`` lifts
    the caps on points and runs (:mod:`escalation.experiments.limits`)."""
    data, text = read_sweep_file(path)
    path = Path(path)
    return sweep_from_dict(
        data, base_dir=path.parent, label=str(path), text=text, overrides=overrides, force=force
    )


def sweep_from_dict(
    data: Mapping[str, Any],
    *,
    base_dir: Path = Path("."),
    label: str = "<sweep>",
    text: str | None = None,
    overrides: Sequence[str] = (),
    force: bool = False,
) -> Sweep:
    """Validate a sweep given as a mapping (the CLI builds one from --param options). A design
    of more than MAX_POINTS points or more than MAX_RUNS runs is refused unless ``force``."""
    layer = Layer(label=label, data=dict(data), text=text)
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        _raise_validation(exc, [layer], data, SweepSpec)

    def where(*keys: str | int) -> str:
        line = _line_of(text, keys)
        return f"{label}, line {line}" if line else label

    if not force:
        _check_size(spec, where)

    scenario_path = Path(spec.scenario)
    if not scenario_path.is_absolute():
        scenario_path = base_dir / scenario_path
    if not scenario_path.exists():
        raise ScenarioError(
            where("scenario"), "scenario", f"names {spec.scenario!r}, which does not exist"
        )
    fixed = [f"{k}={json.dumps(v, default=str)}" for k, v in spec.set.items()]
    scenario = load_scenario(scenario_path, [*fixed, *overrides])
    for key, param in spec.parameters.items():
        probes = param.values if param.values is not None else list(param.bounds())
        for value in probes:
            if param.type == "int" and param.values is None:
                value = int(np.rint(value))
            try:
                with_overrides(scenario, {key: value})
            except ScenarioError as exc:
                raise ScenarioError(
                    where("parameters", key),
                    f"parameters.{key}",
                    f"value {value!r} is not valid for the scenario ({exc.path}: {exc.message})",
                ) from None
    unknown = [o for o in spec.outcomes if o not in outcome_columns(scenario)]
    if unknown:
        raise ScenarioError(
            where("outcomes"),
            "outcomes",
            f"unknown outcome {unknown[0]!r}; expected columns of the runs table: "
            + ", ".join(outcome_columns(scenario)),
        )
    points = design_points(spec)
    seeds = spawn_seeds(spec.seed, spec.replicates)
    return Sweep(spec=spec, scenario=scenario, points=points, seeds=seeds, source=label)


def design_size(spec: SweepSpec) -> int:
    """How many points the design has, counted without drawing them."""
    if spec.design.method == "lhs":
        return spec.design.samples
    if spec.design.method == "sobol":
        return spec.design.samples * (len(spec.parameters) + 2)
    return math.prod(
        len(p.values) if p.values is not None else p.levels for p in spec.parameters.values()
    )


def _check_size(spec: SweepSpec, where: Callable[..., str]) -> None:
    """Refuse a design past the documented caps before any point is drawn."""
    points = design_size(spec)
    if points > MAX_POINTS:
        raise ScenarioError(
            where("design"),
            "design",
            f"gives {points:,} points ({spec.design.method}); expected at most {MAX_POINTS:,} "
            "(fewer levels or samples, or pass --force to run it anyway)",
        )
    runs = points * spec.replicates
    if runs > MAX_RUNS:
        raise ScenarioError(
            where("replicates"),
            "replicates",
            f"is {spec.replicates:,}: {points:,} points x {spec.replicates:,} replicates = "
            f"{runs:,} runs; expected at most {MAX_RUNS:,} runs (or pass --force)",
        )


def outcome_columns(scenario: C.Scenario) -> list[str]:
    """Numeric columns of the runs table (valid sweep outcomes)."""
    return list(outcomes(scenario))


def parse_param_option(text: str) -> tuple[str, dict[str, Any]]:
    """``key=low:high[:levels]`` or ``key=a,b,c`` from the command line."""
    if "=" not in text:
        raise UserError(f"--param {text}: expected key.path=low:high or key.path=a,b,c")
    key, raw = text.split("=", 1)
    if ":" in raw:
        parts = raw.split(":")
        try:
            nums = [float(p) for p in parts]
        except ValueError:
            raise UserError(f"--param {text}: expected numbers in low:high[:levels]") from None
        spec: dict[str, Any] = {"low": nums[0], "high": nums[1]}
        if len(nums) > 2:
            spec["levels"] = int(nums[2])
        if all(float(p).is_integer() and "." not in p for p in parts[:2]):
            spec["type"] = "int"
        return key.strip(), spec
    try:
        values = [load_yaml(v) for v in raw.split(",")]
    except yaml.YAMLError as exc:
        raise UserError(
            f"--param {text}: a value is not valid YAML ({describe(exc)[1]}); expected "
            "key.path=a,b,c with plain values (quote strings with spaces)"
        ) from None
    return key.strip(), {"values": values}


# --------------------------------------------------------------------------- designs


def _scale(param: ParamSpec, u: np.ndarray) -> list[Any]:
    """Map uniform [0, 1) draws onto a parameter's range or values."""
    if param.values is not None:
        k = len(param.values)
        return [param.values[min(int(x * k), k - 1)] for x in u]
    lo, hi = param.bounds()
    if param.type == "int" and not param.log:
        # every whole number in [low, high] equally likely
        return [min(int(np.floor(lo + x * (hi - lo + 1))), int(hi)) for x in u]
    vals = np.exp(np.log(lo) + u * (np.log(hi / lo))) if param.log else lo + u * (hi - lo)
    if param.type == "int":
        return [int(np.rint(v)) for v in vals]
    return [float(v) for v in vals]


def _levels(param: ParamSpec) -> list[Any]:
    if param.values is not None:
        return list(param.values)
    lo, hi = param.bounds()
    space = np.geomspace if param.log else np.linspace
    vals = space(lo, hi, param.levels)
    if param.type == "int":
        return sorted({int(np.rint(v)) for v in vals})
    return [float(v) for v in vals]


def design_points(spec: SweepSpec) -> pd.DataFrame:
    """The design's points: a table with a point index and one column per parameter."""
    names = list(spec.parameters)
    params = [spec.parameters[n] for n in names]
    method = spec.design.method
    if method == "grid":
        rows = list(itertools.product(*[_levels(p) for p in params]))
        cols = {n: [r[i] for r in rows] for i, n in enumerate(names)}
    elif method == "lhs":
        from scipy.stats import qmc

        u = qmc.LatinHypercube(d=len(params), seed=spec.design.seed).random(spec.design.samples)
        cols = {n: _scale(p, u[:, i]) for i, (n, p) in enumerate(zip(names, params, strict=True))}
    else:
        from SALib.sample import sobol

        problem = {"num_vars": len(params), "names": names, "bounds": [[0, 1]] * len(params)}
        u = sobol.sample(
            problem, spec.design.samples, calc_second_order=False, seed=spec.design.seed
        )
        u = np.clip(u, 0, np.nextafter(1, 0))
        cols = {n: _scale(p, u[:, i]) for i, (n, p) in enumerate(zip(names, params, strict=True))}
    frame = pd.DataFrame(cols)
    frame.insert(0, "point", range(len(frame)))
    return frame


# --------------------------------------------------------------------------- running


_CACHE: dict[str, Any] = {}


def sweep_task(
    task: tuple[Shared[C.Scenario], dict[str, Any], int, int, int, int],
) -> dict[str, Any]:
    """One run of a sweep (in a worker): apply the point's values, run, return the row. The
    point's scenario is kept for its next replicate (tasks arrive point by point)."""
    base, values, seed, point, replicate, _ = task
    key = base.key.hex() + json.dumps(values, sort_keys=True, default=str)
    if _CACHE.get("key") != key:
        _CACHE["scenario"] = with_overrides(base.get(), values)
        _CACHE["key"] = key
    result = run(_CACHE["scenario"], seed, run_index=replicate, tables=False)
    row = {"point": point, "replicate": replicate, "seed": seed, **values}
    row.update({k: v for k, v in result.summary.items() if k not in ("scenario", "run", "seed")})
    return row


def _tasks(sweep: Sweep, done: set[tuple[int, int]]) -> Iterator[tuple]:
    names = sweep.parameters
    base = Shared(sweep.scenario)  # sent to each worker process once
    for rec in sweep.points[["point", *names]].itertuples(index=False, name=None):
        point, values = int(rec[0]), {n: native(v) for n, v in zip(names, rec[1:], strict=True)}
        for r, seed in enumerate(sweep.seeds):
            if (point, r) not in done:
                yield (base, values, seed, point, r, 0)


def native(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (for overrides and JSON)."""
    return value.item() if isinstance(value, np.generic) else value


@dataclass
class SweepResult:
    """A finished sweep's tables."""

    sweep: Sweep
    runs: pd.DataFrame
    summary: pd.DataFrame
    sensitivity: pd.DataFrame | None


def run_sweep(
    sweep: Sweep,
    out: Path,
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    restart: bool = False,
    fmt: str = DEFAULT_FORMAT,
) -> SweepResult:
    """Run (or continue) a sweep, writing each run to ``out/runs.csv`` as it finishes, and its
    tables in format ``fmt`` (Parquet: the finished sweep's ``runs.csv`` becomes
    ``runs.parquet``).

    ``progress(done, total)`` is called at the start and after every run. The folder is locked
    while the sweep writes it: a second process on it stops with an error naming this one.
    """
    out.mkdir(parents=True, exist_ok=True)
    with folder_lock(out):
        return _run_sweep(sweep, out, jobs, scheduler, progress, restart, fmt)


def _run_sweep(
    sweep: Sweep,
    out: Path,
    jobs: int | None,
    scheduler: str | None,
    progress: Callable[[int, int], None] | None,
    restart: bool,
    fmt: str,
) -> SweepResult:
    meta_path = out / "sweep.json"
    log_path = table_file(out, "runs", "csv")  # the journal: every finished run, appended
    digest = sweep.digest()
    if meta_path.exists() and not restart:
        meta = read_json(meta_path) or {}
        if meta.get("digest") != digest:
            raise UserError(
                f"{out}: holds results of a different sweep (its points, seeds or scenario "
                "differ); use another --out, or --restart to discard them"
            )
    if restart:
        for p in (meta_path, log_path, table_file(out, "runs", "parquet")):
            p.unlink(missing_ok=True)
    _write_meta(sweep, meta_path, digest, jobs, scheduler, fmt)
    save_table(out, "points", sweep.points, fmt)
    if not log_path.exists() and find_table(out, "runs") is not None:
        # a sweep finished in Parquet: its runs are the journal again
        write_table(log_path, read_table(out, "runs"))
        table_file(out, "runs", "parquet").unlink(missing_ok=True)
    log = AppendLog(log_path, key=2)
    done = {(int(r[0]), int(r[1])) for r in log.rows()}
    total = sweep.total_runs
    if progress:
        progress(len(done), total)
    if len(done) < total:
        executor = make_executor(jobs, scheduler)
        try:
            for _, row in executor.imap(sweep_task, _tasks(sweep, done)):
                log.append(row)
                done.add((row["point"], row["replicate"]))
                if progress:
                    progress(len(done), total)
        finally:
            log.close()
            executor.close()
    # runs finish in any order; in (point, replicate) order the file is the same however many
    # workers wrote it
    log.sort(key=lambda r: (int(r[0]), int(r[1])))
    runs = read_table(out, "runs")  # the journal, just rewritten
    if fmt != "csv":
        save_table(out, "runs", runs, fmt)  # and the journal goes
    summary = summarise(runs, sweep)
    sensitivity = sobol_indices(runs, sweep) if sweep.spec.design.method == "sobol" else None
    save_table(out, "summary", summary, fmt)
    if sensitivity is not None:
        save_table(out, "sensitivity", sensitivity, fmt)
    return SweepResult(sweep, runs, summary, sensitivity)


def _write_meta(
    sweep: Sweep, path: Path, digest: str, jobs: int | None, scheduler: str | None, fmt: str
) -> None:
    meta = {
        "kind": "sweep",
        "name": sweep.spec.name,
        "source": sweep.source,
        "digest": digest,
        "spec": json.loads(sweep.spec.model_dump_json()),
        "scenario": scenario_record(sweep.scenario),
        "seeds": sweep.seeds,
        "points": len(sweep.points),
        "runs": sweep.total_runs,
        "jobs": jobs,
        "scheduler": scheduler,
        "written": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "versions": versions(),
        "format": fmt,
        "parameters": resolved_dict(sweep.scenario),
    }
    write_json(path, meta)


# --------------------------------------------------------------------------- analysis


def summarise(runs: pd.DataFrame, sweep: Sweep) -> pd.DataFrame:
    """Per point: the parameters and, per outcome, mean, median, 5% and 95% across replicates."""
    rows = []
    for point, block in runs.groupby("point", sort=True):
        row: dict[str, Any] = {"point": point, "replicates": len(block)}
        for name in sweep.parameters:
            row[name] = block[name].iloc[0]
        for outcome in sweep.spec.outcomes:
            v = block[outcome].astype(float)
            row[f"{outcome}_mean"] = v.mean()
            row[f"{outcome}_median"] = v.median()
            row[f"{outcome}_p05"] = v.quantile(0.05)
            row[f"{outcome}_p95"] = v.quantile(0.95)
        rows.append(row)
    return pd.DataFrame(rows)


def sobol_indices(runs: pd.DataFrame, sweep: Sweep) -> pd.DataFrame:
    """First-order and total Sobol indices of each outcome's replicate mean (SALib), each with
    the half-width of its 95% interval, whether that is below the estimate and the base sample
    size that would make it so (:func:`~escalation.experiments.sensitivity.flag_informative`)."""
    from SALib.analyze import sobol

    names = sweep.parameters
    problem = {"num_vars": len(names), "names": names, "bounds": [[0, 1]] * len(names)}
    means = runs.groupby("point", sort=True)[sweep.spec.outcomes].mean()
    rows = []
    for outcome in sweep.spec.outcomes:
        y = means[outcome].to_numpy(dtype=float)
        if np.allclose(y, y[0]):
            continue
        # a Generator, not the int: SALib takes a seed of 0 (the default) for "no seed" and
        # its confidence intervals would then differ between identical sweeps
        rng = np.random.default_rng(sweep.spec.design.seed)
        res = sobol.analyze(problem, y, calc_second_order=False, seed=rng, print_to_console=False)
        for i, n in enumerate(names):
            rows.append(
                {
                    "outcome": outcome,
                    "parameter": n,
                    "S1": res["S1"][i],
                    "S1_conf": res["S1_conf"][i],
                    "ST": res["ST"][i],
                    "ST_conf": res["ST_conf"][i],
                }
            )
    table = pd.DataFrame(rows, columns=["outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf"])
    return flag_informative(table, sweep.spec.design.samples)
