"""Scenario discovery on a sweep: which parameter ranges give the outcomes a user asks for.

``discover(sweep, "attacks_on_us / 55 < 18 and spiral < 0.5")`` reads the sweep's runs, marks
each point (its replicates' mean of every outcome; ``spiral`` is then the share of runs that
spiral) or each run (``per="run"``) that meets the condition, and runs PRIM
(:mod:`~escalation.experiments.prim`) over the swept parameters. The result holds the peeling
trajectory, every box on it with its coverage, density and quasi-p values, and the box chosen;
:func:`write_discovery` writes them beside the sweep's results.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from escalation.errors import UserError
from escalation.experiments.condition import Condition, parse_condition
from escalation.experiments.prim import PrimBox, Settings, Step, find_box
from escalation.experiments.sweep import SweepResult
from escalation.files import read_json, write_json, write_table
from escalation.tables import find_table, read_table

Per = Literal["point", "run"]
#: Columns of a sweep's run table that identify a run rather than measure it.
_RUN_KEYS = ("point", "replicate", "seed")


@dataclass(frozen=True)
class SweepRuns:
    """A sweep's run table and what it swept."""

    runs: pd.DataFrame
    parameters: tuple[str, ...]
    declared: dict[str, list[Any]]
    """Per categorical parameter, its values in the order the sweep file gives them."""
    source: str

    @property
    def outcomes(self) -> list[str]:
        """The numeric outcome columns a condition may name."""
        skip = {*_RUN_KEYS, *self.parameters}
        return [
            c
            for c in self.runs.columns
            if c not in skip and pd.api.types.is_numeric_dtype(self.runs[c])
        ]


def read_sweep_runs(folder: str | Path) -> SweepRuns:
    """The run table and parameters of the sweep whose results are in ``folder`` (its
    ``sweep.json`` and its runs table, ``runs.parquet`` or ``runs.csv``, read with
    :func:`~escalation.tables.read_table`); a missing or unreadable file is a
    :class:`UserError`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder; expected a sweep's results folder")
    meta_path = folder / "sweep.json"
    if not meta_path.is_file():
        raise UserError(
            f"{meta_path}: not found; expected the results of escalation sweep in {folder}"
        )
    try:
        meta = read_json(meta_path) or {}
        parameters = tuple(meta["spec"]["parameters"])
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise UserError(
            f"{meta_path}: cannot be read ({type(exc).__name__}: {exc}); "
            "expected the sweep.json escalation sweep writes"
        ) from None
    runs = read_table(folder, "runs")  # a UserError naming the folder if there is none
    runs_path = find_table(folder, "runs")
    missing = [c for c in (*_RUN_KEYS, *parameters) if c not in runs.columns]
    if missing or runs.empty:
        raise UserError(
            f"{runs_path}: "
            + (f"has no column {missing[0]!r}" if missing else "holds no run")
            + "; expected the run table escalation sweep writes"
        )
    spec = meta["spec"]["parameters"]
    declared = {p: list(spec[p]["values"]) for p in parameters if spec[p].get("values")}
    return SweepRuns(runs, parameters, declared, str(folder))


def _of_result(result: SweepResult) -> SweepRuns:
    spec = result.sweep.spec.parameters
    declared = {p: list(s.values) for p, s in spec.items() if s.values is not None}
    return SweepRuns(result.runs, tuple(spec), declared, result.sweep.source)


def cases_of(sweep: SweepRuns, per: Per = "point") -> pd.DataFrame:
    """One row per point (parameters, ``replicates``, the mean of every outcome over the
    point's runs) or, ``per="run"``, the run table itself."""
    if per == "run":
        return sweep.runs.reset_index(drop=True)
    groups = sweep.runs.groupby("point", sort=True)
    table = groups[list(sweep.parameters)].first()
    table.insert(0, "replicates", groups.size())
    table = table.join(groups[sweep.outcomes].mean())
    return table.reset_index()


@dataclass(frozen=True)
class Discovery:
    """PRIM on a sweep for one condition: the cases, which meet it, and the boxes found."""

    condition: Condition
    per: Per
    cases: pd.DataFrame
    """One row per point or run: parameters, outcomes and ``interest`` (meets the condition)."""
    parameters: tuple[str, ...]
    declared: dict[str, list[Any]]
    prim: PrimBox
    source: str

    @property
    def box(self) -> Step:
        """The chosen box."""
        return self.prim.box

    def select(self, step: int) -> Discovery:
        """The same discovery with box ``step`` of the trajectory chosen."""
        try:
            return replace(self, prim=self.prim.select(step))
        except IndexError as exc:
            raise UserError(f"--box {step}: {exc}") from None

    def values_text(self, name: str, values: frozenset[Any]) -> str:
        """A categorical limit as text, in the order the sweep declares the values."""
        order = self.declared.get(name) or sorted(values, key=str)
        return ", ".join(str(v) for v in order if v in values)

    def limits_text(self, step: Step, name: str) -> str:
        """One limit of ``step`` as text: ``a to b`` or ``in {x, y}``."""
        if name in step.limits.values:
            return "in {" + self.values_text(name, step.limits.values[name]) + "}"
        low, high = step.limits.ranges[name]
        return f"{_number(low)} to {_number(high)}"

    def trajectory(self) -> pd.DataFrame:
        """The peeling trajectory: one row per box, with its scores and restrictions."""
        rows = []
        for i, step in enumerate(self.prim.trajectory):
            rows.append(
                {
                    "box": i,
                    "phase": step.phase,
                    "chosen": i == self.prim.chosen,
                    "coverage": step.coverage,
                    "density": step.density,
                    "mass": step.mass,
                    "cases": step.n,
                    "of_interest": step.k,
                    "restricted": len(step.restricted),
                    "limits": "; ".join(
                        f"{name} {self.limits_text(step, name)}" for name in step.restricted
                    ),
                }
            )
        return pd.DataFrame(rows)

    def boxes(self) -> pd.DataFrame:
        """Every box on the trajectory, one row per box and parameter: its limits (``low`` and
        ``high``, or ``values``), whether the box narrows it, and its quasi-p values."""
        rows = []
        for i, step in enumerate(self.prim.trajectory):
            for name in self.parameters:
                ranged = name in step.limits.ranges
                low, high = step.limits.ranges[name] if ranged else (np.nan, np.nan)
                qp_low, qp_high = step.quasi_p.get(name, (np.nan, np.nan))
                rows.append(
                    {
                        "box": i,
                        "chosen": i == self.prim.chosen,
                        "coverage": step.coverage,
                        "density": step.density,
                        "parameter": name,
                        "restricted": name in step.restricted,
                        "low": low,
                        "high": high,
                        "values": ""
                        if ranged
                        else self.values_text(name, step.limits.values[name]),
                        "qp_low": qp_low,
                        "qp_high": qp_high,
                    }
                )
        return pd.DataFrame(rows)

    def summary(self) -> list[str]:
        """The chosen box in a few lines of text."""
        step, unit = self.box, "points" if self.per == "point" else "runs"
        last = len(self.prim.trajectory) - 1
        lines = [
            f"box {self.prim.chosen} of {last} ({step.phase}): coverage {step.coverage:.2f} "
            f"({step.k} of {int(self.cases['interest'].sum())} {unit} that meet the condition), "
            f"density {step.density:.2f} ({step.k} of the {step.n} {unit} in the box)"
        ]
        if not step.restricted:
            lines.append("  the box holds every case: no parameter range narrows the condition")
        for name in step.restricted:
            low, high = step.quasi_p[name]
            if name in step.limits.values:
                qp = f"{low:.3g}"
            else:
                sides = (("low", low), ("high", high))
                qp = ", ".join(f"{side} {p:.3g}" for side, p in sides if not np.isnan(p))
            lines.append(f"  {name} {self.limits_text(step, name)}  (quasi-p {qp})")
        return lines


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3g}"


def _nobody(condition: Condition, cases: pd.DataFrame, unit: str) -> UserError:
    """The error for a condition that no case meets, with how many meet each comparison."""
    counts = ", ".join(f"{n} meet {text!r}" for text, n in condition.counts(cases))
    return UserError(
        f"condition {condition.text!r}: no {unit} of the sweep meets it, so there is nothing "
        f"to discover (of its {len(cases)} {unit}s, {counts})"
    )


def discover(
    sweep: SweepRuns | SweepResult | str | Path,
    condition: str,
    *,
    per: Per = "point",
    settings: Settings | None = None,
    box: int | None = None,
) -> Discovery:
    """PRIM on a sweep (its results folder, a :class:`SweepResult` or :class:`SweepRuns`) for
    ``condition`` on its outcomes (:mod:`~escalation.experiments.condition`), per point (the
    replicates' means) or per run. ``box`` chooses a box of the trajectory; by default the
    last whose density reaches ``settings.threshold``."""
    if isinstance(sweep, SweepResult):
        sweep = _of_result(sweep)
    elif not isinstance(sweep, SweepRuns):
        sweep = read_sweep_runs(sweep)
    if per not in ("point", "run"):
        raise UserError(f"per: {per!r}; expected 'point' or 'run'")
    parsed = parse_condition(condition, sweep.outcomes, not_outcomes=sweep.parameters)
    cases = cases_of(sweep, per)
    interest = parsed.evaluate(cases)
    if not interest.any():
        raise _nobody(parsed, cases, per)
    cases = cases.assign(interest=interest)
    found = find_box(cases[list(sweep.parameters)], interest, settings)
    result = Discovery(parsed, per, cases, sweep.parameters, sweep.declared, found, sweep.source)
    return result if box is None else result.select(box)


def write_discovery(discovery: Discovery, out: Path, extra: Sequence[str] = ()) -> list[Path]:
    """Write ``boxes.csv``, ``trajectory.csv`` and ``discover.json`` (the condition, the
    settings, the chosen box) to ``out``, each atomically; ``extra`` names other files written
    there (a figure) for the record."""
    out.mkdir(parents=True, exist_ok=True)
    step = discovery.box
    written = [out / "boxes.csv", out / "trajectory.csv", out / "discover.json"]
    write_table(written[0], discovery.boxes())
    write_table(written[1], discovery.trajectory())
    write_json(
        written[2],
        {
            "sweep": discovery.source,
            "condition": discovery.condition.text,
            "per": discovery.per,
            "cases": len(discovery.cases),
            "of_interest": int(discovery.cases["interest"].sum()),
            "settings": discovery.prim.settings._asdict(),
            "chosen": discovery.prim.chosen,
            "reaches_threshold": discovery.prim.reaches_threshold,
            "box": {
                "coverage": step.coverage,
                "density": step.density,
                "mass": step.mass,
                "limits": {n: discovery.limits_text(step, n) for n in step.restricted},
                "quasi_p": {
                    n: [None if np.isnan(v) else v for v in p] for n, p in step.quasi_p.items()
                },
            },
            "files": [p.name for p in written] + list(extra),
            "written": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        },
    )
    return written
