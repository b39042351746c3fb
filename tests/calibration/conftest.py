"""Shared fixtures for the calibration tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import escalation.record as calibration
from escalation.record import load_record, reconstruct
from escalation.record.types import Record

PACKAGE_DIR = Path(calibration.__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def record() -> Record:
    """The packaged record."""
    return load_record()


@pytest.fixture(scope="session")
def recon(record: Record) -> calibration.Reconstruction:
    """The reconstruction of the whole packaged record (computed once)."""
    return reconstruct(record)


@pytest.fixture
def record_dir(tmp_path: Path) -> Path:
    """A writable copy of the packaged record files."""
    out = tmp_path / "record"
    out.mkdir()
    for name in ("targets.yaml", "series.yaml", "phases.yaml"):
        shutil.copy(PACKAGE_DIR / name, out / name)
    return out
