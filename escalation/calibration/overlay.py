"""The best parameter set as a scenario file that extends the calibrated scenario."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from escalation.calibration.loading import Calibration
from escalation.calibration.simulate import split_values


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
    rel = Path(os.path.relpath(scenario_path, folder.resolve()))
    over, series_values = split_values(cal.names, values, cal.simulator.also)
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
