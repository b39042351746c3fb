"""Shared fixtures: a small scenario for fast mechanical tests, the repository paths, and the
packaged record (loaded and reconstructed once per session)."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import escalation.record
from escalation.record import Reconstruction, load_record, reconstruct
from escalation.record.types import Record

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
RECORD_DATA = Path(escalation.record.__file__).resolve().parent / "data"

SMALL: dict[str, Any] = {
    "name": "small",
    "start": "2020-01-01",
    "end": "2020-12-31",
    "context": {"tension": 1.0},
    "iran": {"resupply": {"interval_days": 30, "amounts": {"rocket": 10, "ied": 10}}},
    "militia_defaults": {
        "motives": {"us": {"base": 1.0, "context": {"tension": 0.5}}},
        "stocks": {"rocket": 100, "ied": 50},
    },
    "militias": {
        "A": {
            "name": "Alpha",
            "resolve": -3.0,
            "compliance": 0.95,
            "rivals": ["B"],
            "repertoire": {"us_base": None, "us_convoy": None, "domestic": None},
        },
        "B": {
            "name": "Bravo",
            "resolve": -3.0,
            "compliance": 0.1,
            "rivals": ["A"],
            "repertoire": {"us_base": None, "us_convoy": None},
        },
    },
    "events": {},
}


@pytest.fixture
def small() -> dict[str, Any]:
    """A fresh copy of the small scenario as a dict (tests may change it)."""
    return copy.deepcopy(SMALL)


@pytest.fixture
def write_yaml(tmp_path: Path):
    """Write a mapping (or raw text) as a YAML file under tmp_path and return its path."""

    def write(name: str, content: dict[str, Any] | str) -> Path:
        path = tmp_path / name
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def record() -> Record:
    """The packaged record."""
    return load_record()


@pytest.fixture(scope="session")
def recon(record: Record) -> Reconstruction:
    """The reconstruction of the whole packaged record (computed once)."""
    return reconstruct(record)


@pytest.fixture
def record_dir(tmp_path: Path) -> Path:
    """A writable copy of the packaged record files."""
    out = tmp_path / "record"
    out.mkdir()
    for name in ("targets.yaml", "series.yaml", "phases.yaml"):
        shutil.copy(RECORD_DATA / name, out / name)
    return out


def hold_lock(folder: Path) -> subprocess.Popen:
    """A process that holds ``folder``'s output lock until killed (returned once it holds it)."""
    code = (
        "import sys, time\n"
        "from escalation.files import folder_lock\n"
        "with folder_lock(sys.argv[1]):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(120)\n"
    )
    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def write_severity_sweep(
    folder: Path, small: dict[str, Any], end: str, levels: int, replicates: int
) -> Path:
    """The small scenario ending on ``end`` and a grid sweep of the doctrine's severity over it
    (``levels`` points, ``replicates`` runs each), written to ``folder``; the sweep's path."""
    small = {**small, "end": end}
    (folder / "small.yaml").write_text(yaml.safe_dump(small))
    sweep = {
        "name": "s",
        "scenario": "small.yaml",
        "parameters": {"us.doctrine.severity": {"low": 0.5, "high": 3.0, "levels": levels}},
        "replicates": replicates,
    }
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(sweep))
    return path


def local_cluster(distributed: Any) -> Any:
    """A Dask cluster of two single-threaded worker processes on this machine (a context
    manager; ``distributed`` is the module, imported by the test that skips without it)."""
    return distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
