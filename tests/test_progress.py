"""Progress bars only watch: a stage's bar advances as its runs finish, on any executor, and a
calibration or a sweep's reference runs give the same results, byte for byte, with bars drawn
or not."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from escalation.calibration import pipeline
from escalation.calibration.loading import load_calibration
from escalation.experiments.executors import LocalExecutor, SerialExecutor
from escalation.experiments.frontier import reference_runs
from escalation.experiments.sweep import Sweep, load_sweep
from escalation.progress import QUIET, Bars
from tests.conftest import local_cluster

from .calibration.test_reproducible import BUDGET, _comparable, write_small_calibration


def _square(x: int) -> int:
    return x * x


@pytest.mark.parametrize("executor", [SerialExecutor, lambda: LocalExecutor(2)])
def test_a_counting_executor_ticks_once_a_result_and_passes_results_through(executor):
    inner = executor()
    try:
        plain = sorted(inner.imap(_square, range(40)))
        buffer = io.StringIO()
        with Bars(always=True, file=buffer).counting(inner, "squares", 40) as counted:
            seen = sorted(counted.imap(_square, range(40)))
        assert seen == plain == [(i, i * i) for i in range(40)]
        assert "squares: 100%" in buffer.getvalue() and "40/40" in buffer.getvalue()
    finally:
        inner.close()


def test_bars_are_hidden_when_quiet_or_when_the_stream_is_no_terminal():
    buffer = io.StringIO()  # not a terminal
    for bars in (Bars(file=buffer), Bars(enabled=False, always=True, file=buffer)):
        with bars.bar("hidden", 3) as bar:
            bar.update(3)
    assert buffer.getvalue() == ""
    Bars(file=buffer).note("a stage")  # notes are lines: written unless quiet
    Bars(enabled=False, file=buffer).note("not this one")
    assert buffer.getvalue() == "a stage\n"
    with Bars(always=True, file=buffer).within("origin 1 of 3").bar("shown", 3) as bar:
        bar.update(3)
    assert "origin 1 of 3: shown: 100%" in buffer.getvalue()


#: Files of a fit whose bytes do not depend on the clock or on the order runs finish in.
FIXED = [
    "best.yaml", "candidates.csv", "episodes.csv", "hawkes.csv", "phases.csv", "posterior.csv",
    "refinement.csv", "strikes.csv", "targets.csv", "targets_posterior_predictive.csv",
    "trust.csv", "will.csv", "tension.csv", "abc/population_0.csv", "abc_null/population_0.csv",
]  # fmt: skip


@pytest.mark.slow
def test_a_calibration_writes_the_same_with_bars_or_without(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "STRIKE_REPLICATES", 3)
    monkeypatch.setattr(pipeline, "WILL_REPLICATES", 3)
    cal = load_calibration(write_small_calibration(tmp_path))
    buffer = io.StringIO()
    shown = Bars(always=True, file=buffer)
    quiet = pipeline.run_calibration(cal, tmp_path / "quiet", budget=BUDGET, jobs=2, bars=QUIET)
    drawn = pipeline.run_calibration(cal, tmp_path / "drawn", budget=BUDGET, jobs=2, bars=shown)
    for stage in (
        "fit (ABC-SMC): 100%",
        "choosing the best parameter set: 100%",
        "refining the best set (coordinate search): 100%",
        "polishing the best set jointly (trust region): 100%",
        "calibrated ensemble: 100%",
        "posterior predictive ensemble: 100%",
        "null model: constant rates: 100%",
        "null model: fitting Hawkes counts: 100%",
        "null model: Hawkes ensemble: 100%",
        "null model, phase-blind agents: fit (ABC-SMC): 100%",
        "null model, phase-blind agents: ensemble at its best set: 100%",
    ):
        assert stage in buffer.getvalue(), stage
    assert quiet.best == drawn.best
    assert _comparable(quiet.scores) == _comparable(drawn.scores)
    for name in FIXED:
        assert (tmp_path / "quiet" / name).read_bytes() == (tmp_path / "drawn" / name).read_bytes()
    for sims in ("abc/sims.csv", "abc_null/sims.csv"):  # appended as runs finish: any order
        lines = [sorted((tmp_path / d / sims).read_text().splitlines()) for d in ("quiet", "drawn")]
        assert lines[0] == lines[1]
    with (
        np.load(tmp_path / "quiet" / "trust.npz") as a,
        np.load(tmp_path / "drawn" / "trust.npz") as b,
    ):
        assert all(np.array_equal(a[k], b[k], equal_nan=True) for k in a.files)


def _doctrine_sweep(folder: Path, small: dict) -> Sweep:
    """A grid of two severities and three force protections over three months, four runs a
    point (three references: one per force protection)."""
    small["end"] = "2020-03-31"
    (folder / "small.yaml").write_text(yaml.safe_dump(small))
    sweep = {
        "name": "s",
        "scenario": "small.yaml",
        "parameters": {
            "us.doctrine.severity": {"low": 0.5, "high": 3.0, "levels": 2},
            "us.posture.force_protection": {"low": 0.1, "high": 0.8, "levels": 3},
        },
        "replicates": 4,
    }
    (folder / "sweep.yaml").write_text(yaml.safe_dump(sweep))
    return load_sweep(folder / "sweep.yaml")


def test_reference_runs_are_the_same_with_bars_or_without(tmp_path, small):
    s = _doctrine_sweep(tmp_path, small)
    buffer = io.StringIO()
    drawn = reference_runs(s, jobs=2, bars=Bars(always=True, file=buffer))
    pd.testing.assert_frame_equal(reference_runs(s, jobs=2), drawn)
    assert "reference runs without retaliation: 100%" in buffer.getvalue()
    assert "12/12" in buffer.getvalue()  # three force protections x four replicates


# Last in the module: a Dask cluster leaves threads behind in this process, and later tests
# that fork worker processes would run in a multi-threaded parent.
@pytest.mark.slow
def test_a_bar_advances_as_dask_futures_complete(tmp_path, small):
    distributed = pytest.importorskip("distributed")
    s = _doctrine_sweep(tmp_path, small)
    local = reference_runs(s, jobs=1)
    buffer = io.StringIO()
    with local_cluster(distributed) as cluster:
        bars = Bars(always=True, file=buffer)
        remote = reference_runs(s, scheduler=cluster.scheduler_address, bars=bars)
    pd.testing.assert_frame_equal(local, remote)
    assert "reference runs without retaliation: 100%" in buffer.getvalue()
    assert "12/12" in buffer.getvalue()
