"""Fixtures of the calibration tests: the small recovery problem (two militias, a year, four
half-year counts made by the model at known values) and targets built in one line."""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from escalation.record.types import Source, Target, Value, Window

YEAR = Window(date(2020, 1, 1), date(2020, 12, 31))


@pytest.fixture(scope="session")
def recovery() -> Any:
    """The module of the calibration fit tests, for its ``_recovery_simulator`` and ``TRUTH``."""
    path = Path(__file__).with_name("test_calibration_fit.py")
    spec = importlib.util.spec_from_file_location("_calibration_fit", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def make_target():
    """A target of series ``s`` (the whole of 2020 unless a window is given)."""

    def make(tid: str, statistic: str, value: Value, window: Window = YEAR, **kw: Any) -> Target:
        return Target(
            id=tid,
            series="s",
            window=window,
            statistic=statistic,
            value=value,
            sources=(Source("f", ("p",)),),
            definition="",
            **kw,
        )

    return make
