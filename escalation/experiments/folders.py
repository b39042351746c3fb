"""Results folders read back: what kind of result a folder holds, the scenario its manifest
resolved, and a comparison's or a sweep's result rebuilt from its tables, so that every figure
can be remade from the folder alone (``escalation replot``).

A folder written by ``escalation run`` or ``compare`` has a ``manifest.json`` (whose ``kind``
says which); one written by ``escalation sweep`` has a ``sweep.json``. Tables are read with
:func:`escalation.tables.read_table`, whatever their format.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from escalation.errors import ScenarioError, UserError
from escalation.experiments.compare import Comparison
from escalation.experiments.frontier import Frontier, deterrence_frontier
from escalation.experiments.sweep import Sweep, SweepResult, SweepSpec
from escalation.observe.periods import Period
from escalation.scenario import schema as C
from escalation.scenario.loading import scenario_from_dict
from escalation.tables import find_table, read_table

MANIFEST = "manifest.json"
SWEEP_META = "sweep.json"
KINDS = ("run", "compare", "sweep")


@dataclass(frozen=True)
class ResultsFolder:
    """A folder of results: where it is, which command made it, and its manifest (the
    ``manifest.json`` of a run or comparison, the ``sweep.json`` of a sweep)."""

    path: Path
    kind: str
    manifest: dict[str, Any]

    @property
    def manifest_file(self) -> Path:
        return self.path / (SWEEP_META if self.kind == "sweep" else MANIFEST)


def results_folder(path: Path) -> ResultsFolder:
    """The results folder at ``path``, or a :class:`UserError` saying why it is not one."""
    path = Path(path)
    expected = (
        "expected a folder written by escalation run or compare (with manifest.json) or by "
        "escalation sweep (with sweep.json)"
    )
    if not path.is_dir():
        raise UserError(
            f"{path}: {'is not a folder' if path.exists() else 'not found'}; {expected}"
        )
    for name in (SWEEP_META, MANIFEST):
        file = path / name
        if file.is_file():
            manifest = _read_manifest(file, expected)
            return ResultsFolder(path, _kind(file, manifest, expected), manifest)
    raise UserError(f"{path}: is not a results folder (no {MANIFEST} or {SWEEP_META}); {expected}")


def _read_manifest(file: Path, expected: str) -> dict[str, Any]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UserError(f"{file}: cannot be read as JSON ({exc}); {expected}") from None
    if not isinstance(data, dict):
        raise UserError(f"{file}: holds no JSON object; {expected}")
    return data


def _kind(file: Path, manifest: dict[str, Any], expected: str) -> str:
    """The kind a manifest names, or (for folders written before manifests named it) the kind
    its keys show."""
    kind = manifest.get("kind")
    if kind is None:
        if file.name == SWEEP_META:
            kind = "sweep"
        elif isinstance(manifest.get("scenarios"), list):
            kind = "compare"
        elif "parameters" in manifest:
            kind = "run"
    if kind not in KINDS:
        raise UserError(f"{file}: kind {kind!r} is not a known result; {expected}")
    return kind


def _need(folder: ResultsFolder, key: str) -> Any:
    if key not in folder.manifest:
        raise UserError(
            f"{folder.manifest_file}: has no {key!r}; expected the manifest of an escalation "
            f"{folder.kind} (rerun the command to write it anew)"
        )
    return folder.manifest[key]


def manifest_scenario(folder: ResultsFolder, parameters: Any = None) -> C.Scenario:
    """The scenario a manifest resolved (its ``parameters``, or those given), validated again
    (a mistake is a :class:`ScenarioError` naming the manifest and the key)."""
    data = _need(folder, "parameters") if parameters is None else parameters
    if not isinstance(data, dict):
        raise ScenarioError(str(folder.manifest_file), "parameters", "expected a mapping of "
                            f"scenario values, got {type(data).__name__}")  # fmt: skip
    return scenario_from_dict(data, label=str(folder.manifest_file))


def _entries(folder: ResultsFolder, key: str, read: Callable[[Any], Any], expected: str) -> Any:
    """``read(manifest[key])``, or a :class:`UserError` naming the key and what was expected."""
    try:
        return read(_need(folder, key))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UserError(
            f"{folder.manifest_file}: {key!r} cannot be read ({type(exc).__name__}: {exc}); "
            f"expected {expected}"
        ) from None


def load_comparison(folder: ResultsFolder) -> Comparison:
    """A comparison rebuilt from its folder: the metrics and differences tables, and the
    scenarios, seeds and periods of its manifest."""
    names = _entries(folder, "scenarios", lambda v: [str(s["name"]) for s in v],
                     "a list of scenarios, each with its name")  # fmt: skip
    periods = _entries(folder, "periods", _periods, "{list: [{name, start, end, label}, ...]}")
    seeds = _entries(folder, "seeds", lambda v: [int(s) for s in v], "a list of seeds")
    parameters = folder.manifest.get("parameters")
    targets = {}
    if isinstance(parameters, list) and parameters:
        targets = dict(manifest_scenario(folder, parameters[0]).targets)
    return Comparison(
        names=names,
        seeds=seeds,
        periods=periods,
        targets=targets,
        metrics=read_table(folder.path, "metrics"),
        differences=read_table(folder.path, "differences"),
    )


def _periods(value: Any) -> list[Period]:
    """The periods of a comparison's manifest."""
    return [
        Period(
            str(p["name"]),
            dt.date.fromisoformat(p["start"]),
            dt.date.fromisoformat(p["end"]),
            str(p.get("label", "")),
        )
        for p in value["list"]
    ]


def load_sweep_result(folder: ResultsFolder) -> SweepResult:
    """A sweep's result rebuilt from its folder: the spec, scenario and seeds of its
    ``sweep.json`` and its points, runs, summary and (Sobol designs) sensitivity tables."""
    try:
        spec = SweepSpec.model_validate(_need(folder, "spec"))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(k) for k in first["loc"])
        raise UserError(
            f"{folder.manifest_file}: spec.{where}: {first['msg']}; expected the sweep's "
            "specification as escalation sweep writes it"
        ) from None
    sweep = Sweep(
        spec=spec,
        scenario=manifest_scenario(folder),
        points=read_table(folder.path, "points"),
        seeds=_entries(folder, "seeds", lambda v: [int(s) for s in v], "a list of seeds"),
        source=str(folder.manifest.get("source", folder.manifest_file)),
    )
    sensitivity = None
    if find_table(folder.path, "sensitivity") is not None:
        sensitivity = read_table(folder.path, "sensitivity")
    return SweepResult(
        sweep=sweep,
        runs=read_table(folder.path, "runs"),
        summary=read_table(folder.path, "summary"),
        sensitivity=sensitivity,
    )


def load_frontier(folder: ResultsFolder, result: SweepResult) -> Frontier | None:
    """The deterrence frontier of a sweep folder that has its reference runs, else None."""
    if find_table(folder.path, "reference_runs") is None:
        return None
    reference = read_table(folder.path, "reference_runs")
    return deterrence_frontier(result.runs, result.sweep.parameters, reference)
