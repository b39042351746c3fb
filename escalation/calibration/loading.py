"""Reading a calibration file: its scenario, the record's targets split into those fitted, those
scored out of sample and the dated incidents, and the simulator of the fit; and start values."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from escalation.calibration.phases import phase_fit_targets
from escalation.calibration.simulate import Simulator, apply_series_params
from escalation.calibration.spec import SEED_SCHEME, CalibrationSpec
from escalation.errors import ScenarioError, UserError, did_you_mean
from escalation.experiments.runner import all_series
from escalation.record.loading import load_record, replayed_targets
from escalation.record.summary import TargetSet
from escalation.record.types import Record, Target
from escalation.scenario import schema as C
from escalation.scenario.loading import (
    Layer,
    _line_of,
    _raise_validation,
    load_scenario,
    provenance,
    read_yaml_mapping,
    with_overrides,
)


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
    #: targets the scenario's timeline replays (event id, target): inputs, not scored
    replayed: list[tuple[str, Target]] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """The fitted names, in the order of every parameter vector."""
        return list(self.simulator.names)

    @property
    def n_days(self) -> int:
        """Days the scenario runs."""
        return (self.scenario.end - self.scenario.start).days + 1

    def identity(self) -> dict[str, Any]:
        """What must not change for a run to be resumed."""
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
            "seeds": SEED_SCHEME,
        }


def _read_spec(
    path: Path, fit_until: dt.date | None, score_until: dt.date | None = None
) -> tuple[CalibrationSpec, str]:
    """The validated calibration file and its text (with the dates given on the command line)."""
    data, text = read_yaml_mapping(path, kind="calibration")
    if fit_until is not None:
        data = {**data, "fit_until": fit_until}
    if score_until is not None:
        data = {**data, "score_until": score_until}
    try:
        spec = CalibrationSpec.model_validate(data)
    except ValidationError as exc:
        _raise_validation(exc, [Layer(str(path), data, path, text)], data, CalibrationSpec)
    return spec, text


def _scenario_path(spec: CalibrationSpec, path: Path, text: str) -> Path:
    """The calibrated scenario's file (relative paths from the calibration file's folder)."""
    scenario_path = Path(spec.scenario)
    if not scenario_path.is_absolute():
        scenario_path = path.parent / scenario_path
    if not scenario_path.exists():
        line = _line_of(text, ["scenario"])
        raise ScenarioError(
            f"{path}, line {line}" if line else str(path),
            "scenario",
            f"names {spec.scenario!r}, which does not exist",
        )
    return scenario_path


def _check_priors(
    spec: CalibrationSpec,
    scenario: C.Scenario,
    series: dict[str, C.SeriesSpec],
    path: Path,
    text: str,
) -> None:
    """Both ends of every prior must be valid values of the key they fit."""
    for name, prior in spec.parameters.items():
        line = _line_of(text, ["parameters", name])
        where = f"{path}, line {line}" if line else str(path)
        for key in (name, *prior.also):
            label = f"parameters.{name}" + (".also" if key != name else "")
            what = "" if key == name else f"its also path {key!r}: "
            for value in (prior.from_unit(0.0), prior.from_unit(1.0)):
                try:
                    if key.startswith("series."):
                        apply_series_params(series, {key: value})
                    else:
                        with_overrides(scenario, {key: value}, hold_doctrine=False)
                except (ScenarioError, ValueError, ValidationError) as exc:
                    msg = (
                        exc.message if isinstance(exc, ScenarioError) else str(exc).splitlines()[0]
                    )
                    raise ScenarioError(
                        where,
                        label,
                        f"{what}value {value!r} (an end of the prior) is not valid: {msg}",
                    ) from None


def _check_misses(spec: CalibrationSpec, record: Record, path: Path, text: str) -> None:
    """Every reason under ``misses`` must name a target of the record the fit can score."""
    used = {t.id for t in record.used_targets()}
    for tid in spec.misses:
        if tid in used:
            continue
        line = _line_of(text, ["misses", tid])
        unused = any(t.id == tid for t in record.targets)
        raise ScenarioError(
            f"{path}, line {line}" if line else str(path),
            f"misses.{tid}",
            "names a target the record keeps but does not use (use: false), so no fit scores it"
            if unused
            else "names no target of the record; expected a target id of "
            f"escalation/record/data/targets.yaml{did_you_mean(tid, used)}",
        )


def _split_targets(
    tempo: list[Target], until: dt.date | None, label: str, horizon: dt.date | None = None
) -> tuple[list[Target], list[Target]]:
    """Tempo targets fitted (ending by ``until``) and held out (ending later, and by
    ``horizon`` if one is given)."""
    fit = [t for t in tempo if until is None or t.span.end <= until]
    holdout = [
        t
        for t in tempo
        if until is not None and t.span.end > until and (horizon is None or t.span.end <= horizon)
    ]
    if not fit:
        raise UserError(f"{label}: no target ends by fit_until {until}; nothing to fit")
    if until is not None and not holdout and horizon is not None:
        raise UserError(
            f"{label}: no target ends after fit_until {until} and by score_until {horizon}, so "
            "nothing is left to score out of sample; expected a later score_until"
        )
    if until is not None and not holdout:
        last = max(t.span.end for t in tempo)
        raise UserError(
            f"{label}: fit_until {until}: every target ends by then (the last on {last}), so "
            f"nothing is left to score out of sample; expected a date before {last}"
        )
    return fit, holdout


def load_calibration(
    path: str | Path,
    *,
    fit_until: dt.date | None = None,
    score_until: dt.date | None = None,
    record: Record | None = None,
    overrides: Sequence[str] = (),
) -> Calibration:
    """Read and validate a calibration file; errors name the file, key path and expectation.
    ``fit_until`` and ``score_until`` override the file's."""
    path = Path(path)
    spec, text = _read_spec(path, fit_until, score_until)
    scenario_path = _scenario_path(spec, path, text)
    fixed = [f"{k}={json.dumps(v, default=str)}" for k, v in spec.set.items()]
    scenario = load_scenario(scenario_path, [*fixed, *overrides], hold_doctrine=False)
    record = record or load_record()
    series = {sid: s.to_spec() for sid, s in record.series.items()}
    _check_priors(spec, scenario, series, path, text)
    _check_misses(spec, record, path, text)
    names_all = list(all_series(scenario, series))
    n_days = (scenario.end - scenario.start).days + 1
    replayed = replayed_targets(scenario, record, scenario_path)
    restated = {t.id for _, t in replayed}
    usable = TargetSet.usable(
        [t for t in record.used_targets() if t.id not in restated],
        scenario.start,
        scenario.end,
        names_all,
    )
    episodes = [t for t in usable if t.is_episode]
    tempo = [t for t in usable if not t.is_episode]
    until = spec.fit_until
    fit, holdout = _split_targets(tempo, until, str(path), spec.score_until)
    phases = []
    if spec.fit_phases:
        phases = [
            t
            for t in phase_fit_targets(record)
            if t.within(scenario.start, scenario.end) and (until is None or t.span.end <= until)
        ]
    fitted = TargetSet([*fit, *phases], names_all, scenario.start, n_days)
    sim = Simulator(scenario, series, fitted, list(spec.parameters), list(spec.parameters.values()))
    return Calibration(
        spec, path, scenario, record, fit, tempo, holdout, episodes, sim, names_all, replayed
    )


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
