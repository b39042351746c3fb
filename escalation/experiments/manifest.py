"""Manifests: what a result was made from (scenario files and hashes, resolved parameters,
seeds, versions, the commit), so any table or figure can be remade."""

from __future__ import annotations

import datetime as dt
import importlib.metadata as md
import os
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from escalation.scenario import schema as C
from escalation.scenario.loading import provenance, resolved_dict

PACKAGES = (
    "proxy-escalation",
    "mesa",
    "numpy",
    "pandas",
    "pyarrow",
    "scipy",
    "highspy",
    "matplotlib",
    "pydantic",
    "pyyaml",
    "networkx",
    "tqdm",
)


def versions() -> dict[str, str]:
    """Python, platform and package versions."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in PACKAGES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_state(root: Path | None = None) -> dict[str, Any] | None:
    """The commit the code was run from, and whether the tree had changes."""
    root = root or Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return {"commit": commit, "dirty": bool(dirty)}


def scenario_record(scenario: C.Scenario) -> dict[str, Any]:
    """Scenario identity for a manifest: files and their hashes, overrides, digest."""
    prov = provenance(scenario)
    record: dict[str, Any] = {"name": scenario.name}
    if prov is not None:
        record["files"] = prov.file_hashes()
        record["overrides"] = list(prov.overrides)
        record["digest"] = prov.digest()
    return record


def manifest(
    scenario: C.Scenario,
    *,
    command: Sequence[str],
    master_seed: int,
    seeds: Sequence[int],
    jobs: int,
    started: dt.datetime,
    outputs: Mapping[str, str],
    scheduler: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything needed to remake a result (``scheduler``: the Dask scheduler's address the
    runs went to, None for local processes)."""
    finished = dt.datetime.now(dt.UTC)
    out: dict[str, Any] = {
        "scenario": scenario_record(scenario),
        "command": list(command),
        "working_directory": os.getcwd(),
        "master_seed": master_seed,
        "replicates": len(seeds),
        "seeds": list(seeds),
        "jobs": jobs,
        "scheduler": scheduler,
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "elapsed_seconds": round((finished - started).total_seconds(), 2),
        "versions": versions(),
        "git": git_state(),
        "outputs": dict(outputs),
    }
    if extra:
        out.update(extra)
    out["parameters"] = resolved_dict(scenario)
    return out
