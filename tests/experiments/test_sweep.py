"""Sweeps: designs, bad sweep files, writing every run, resuming, executors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from escalation import ScenarioError
from escalation.cli.main import main
from escalation.experiments.sweep import load_sweep, run_sweep, sobol_indices, sweep_from_dict
from escalation.tables import read_table
from tests.conftest import local_cluster

SHORT = {"end": "2020-03-31"}


@pytest.fixture
def sweep_file(tmp_path, small, write_yaml):
    small.update(SHORT)
    write_yaml("small.yaml", small)

    def make(**spec) -> Path:
        data = {
            "name": "t",
            "scenario": "small.yaml",
            "parameters": {
                "us.doctrine.delay_days": {"low": 0, "high": 10, "type": "int", "levels": 3}
            },
            "replicates": 2,
            "seed": 5,
        }
        data.update(spec)
        return write_yaml("sweep.yaml", data)

    return make


def test_grid_has_every_combination(sweep_file):
    sweep = load_sweep(
        sweep_file(
            parameters={
                "us.doctrine.delay_days": {"low": 0, "high": 10, "type": "int", "levels": 3},
                "us.doctrine.trigger": {"values": ["never", "casualties"]},
            }
        )
    )
    assert len(sweep.points) == 6
    assert sorted(set(sweep.points["us.doctrine.delay_days"])) == [0, 5, 10]
    assert sweep.total_runs == 12


def test_lhs_and_sobol_designs_stay_in_bounds(sweep_file):
    params = {
        "us.doctrine.severity": {"low": 0.5, "high": 3.0},
        "us.doctrine.delay_days": {"low": 0, "high": 21, "type": "int"},
        "us.doctrine.theatre": {"values": ["iraq", "syria"]},
    }
    lhs = load_sweep(sweep_file(parameters=params, design={"method": "lhs", "samples": 20}))
    assert len(lhs.points) == 20
    sob = load_sweep(sweep_file(parameters=params, design={"method": "sobol", "samples": 8}))
    assert len(sob.points) == 8 * (3 + 2)
    for pts in (lhs.points, sob.points):
        assert pts["us.doctrine.severity"].between(0.5, 3.0).all()
        assert pts["us.doctrine.delay_days"].between(0, 21).all()
        assert set(pts["us.doctrine.theatre"]) <= {"iraq", "syria"}
    # a Latin hypercube has one point in each of the 20 strata of every range
    strata = ((lhs.points["us.doctrine.severity"] - 0.5) / 2.5 * 20).astype(int)
    assert sorted(strata) == list(range(20))


def test_design_is_reproducible(sweep_file):
    spec = {
        "parameters": {"us.doctrine.severity": {"low": 0.5, "high": 3.0}},
        "design": {"method": "lhs", "samples": 5, "seed": 3},
    }
    a = load_sweep(sweep_file(**spec)).points
    b = load_sweep(sweep_file(**spec)).points
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(
    ("change", "path", "expected"),
    [
        (
            {"parameters": {"us.doctrine.severity": {"low": 3, "high": 1}}},
            "parameters.us.doctrine.severity",
            "must be below high",
        ),
        (
            {"parameters": {"us.doctrine.severity": {"low": 1}}},
            "parameters.us.doctrine.severity",
            "needs both low and high",
        ),
        (
            {"parameters": {"us.doctrine.sevrity": {"low": 1, "high": 2}}},
            "parameters.us.doctrine.sevrity",
            "unknown key",
        ),
        (
            {"parameters": {"us.doctrine.trigger": {"values": ["sometimes"]}}},
            "parameters.us.doctrine.trigger",
            "expected one of",
        ),
        ({"replicates": 0}, "replicates", ">= 1"),
        ({"outcomes": ["happiness"]}, "outcomes", "unknown outcome 'happiness'"),
        ({"design": {"method": "random"}}, "design.method", "expected one of"),
        ({"scenario": "nowhere.yaml"}, "scenario", "does not exist"),
    ],
)
def test_bad_sweep_files_name_file_key_and_expectation(sweep_file, change, path, expected):
    with pytest.raises(ScenarioError) as info:
        load_sweep(sweep_file(**change))
    err = info.value
    assert "sweep.yaml" in err.where
    assert err.path == path
    assert expected in err.message


def test_cli_bad_sweep_exits_2_without_traceback(sweep_file, capsys):
    path = sweep_file(replicates=-1)
    assert main(["sweep", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "replicates" in err and "Traceback" not in err


def test_sweep_writes_every_run_and_rerunning_adds_nothing(sweep_file, tmp_path):
    sweep = load_sweep(sweep_file())
    out = tmp_path / "out"
    result = run_sweep(sweep, out, jobs=1)
    runs = read_table(out, "runs")
    assert sorted(p.name for p in out.glob("runs.*")) == ["runs.parquet"]  # the journal is gone
    assert len(runs) == sweep.total_runs == 6
    assert set(zip(runs["point"], runs["replicate"], strict=True)) == {
        (p, r) for p in range(3) for r in range(2)
    }
    # common random numbers: every point uses the same replicate seeds
    assert runs.groupby("replicate")["seed"].nunique().eq(1).all()
    assert len(result.summary) == 3
    again = run_sweep(sweep, out, jobs=1)
    pd.testing.assert_frame_equal(again.runs, result.runs)
    assert len(read_table(out, "runs")) == 6


def test_a_finished_sweep_changes_format_without_running_again(sweep_file, tmp_path):
    sweep = load_sweep(sweep_file())
    out = tmp_path / "out"
    first = run_sweep(sweep, out, jobs=1)
    seen = []
    as_csv = run_sweep(sweep, out, jobs=1, fmt="csv", progress=lambda d, t: seen.append(d))
    assert seen == [6]  # every run was already done
    assert not (out / "runs.parquet").exists() and not (out / "points.parquet").exists()
    pd.testing.assert_frame_equal(as_csv.runs, first.runs)
    # CSV has no float type: a column of whole numbers reads back as integers
    pd.testing.assert_frame_equal(read_table(out, "summary"), first.summary, check_dtype=False)
    back = run_sweep(sweep, out, jobs=1)
    assert sorted(p.name for p in out.glob("runs.*")) == ["runs.parquet"]
    pd.testing.assert_frame_equal(back.runs, first.runs)


def test_resume_after_partial_log_with_torn_line(sweep_file, tmp_path):
    sweep = load_sweep(sweep_file())
    full = run_sweep(sweep, tmp_path / "full", jobs=1, fmt="csv").runs
    out = tmp_path / "partial"
    out.mkdir()
    log = (tmp_path / "full" / "runs.csv").read_text().splitlines(keepends=True)
    # the header, two finished runs, then half a line (as a killed process leaves it)
    (out / "runs.csv").write_text("".join(log[:3]) + log[3][: len(log[3]) // 2])
    resumed = run_sweep(sweep, out, jobs=1)
    pd.testing.assert_frame_equal(resumed.runs, full)
    pd.testing.assert_frame_equal(read_table(out, "runs"), full)  # as Parquet


def test_results_of_another_sweep_are_not_mixed_in(sweep_file, tmp_path):
    out = tmp_path / "out"
    run_sweep(load_sweep(sweep_file()), out, jobs=1)
    other = load_sweep(sweep_file(seed=99))
    with pytest.raises(Exception, match="different sweep"):
        run_sweep(other, out, jobs=1)
    assert len(run_sweep(other, out, jobs=1, restart=True).runs) == 6


def test_command_line_parameters_build_the_same_sweep(sweep_file, tmp_path):
    path = sweep_file()
    from_file = load_sweep(path)
    data = {
        "name": "t",
        "scenario": str(path.parent / "small.yaml"),
        "replicates": 2,
        "seed": 5,
        "parameters": {
            "us.doctrine.delay_days": {"low": 0, "high": 10, "type": "int", "levels": 3}
        },
    }
    pd.testing.assert_frame_equal(sweep_from_dict(data).points, from_file.points)


def test_local_processes_give_the_serial_table(sweep_file, tmp_path):
    sweep = load_sweep(sweep_file())
    serial = run_sweep(sweep, tmp_path / "a", jobs=1).runs
    parallel = run_sweep(sweep, tmp_path / "b", jobs=2).runs
    pd.testing.assert_frame_equal(serial, parallel)


@pytest.mark.slow
def test_killed_sweep_resumes_to_the_uninterrupted_table(sweep_file, tmp_path):
    path = sweep_file(
        parameters={"us.doctrine.severity": {"low": 0.5, "high": 3.0, "levels": 12}}, replicates=30
    )  # 360 runs: room for the kill to land part-way on a loaded machine
    sweep = load_sweep(path)
    reference = run_sweep(sweep, tmp_path / "ref", jobs=2).runs
    out = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "escalation.cli",
        "sweep",
        str(path),
        "--out",
        str(out),
        "-j",
        "1",
        "--no-progress",
    ]
    proc = subprocess.Popen(
        cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    log = out / "runs.csv"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if log.exists() and log.read_text().count("\n") > 5:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    written = log.read_text().count("\n") - 1
    assert 0 < written < sweep.total_runs, "the kill should land part-way"
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not log.exists()  # the finished sweep's journal became its Parquet table
    resumed = read_table(out, "runs")
    assert len(resumed) == sweep.total_runs
    assert not resumed.duplicated(["point", "replicate"]).any()
    resumed = resumed.sort_values(["point", "replicate"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(resumed, reference)


@pytest.mark.slow
def test_shipped_deterrence_sweep_is_valid():
    root = Path(__file__).resolve().parents[2]
    sweep = load_sweep(root / "scenarios" / "sweeps" / "deterrence.yaml")
    assert sweep.spec.design.method == "sobol"
    assert {
        "us.doctrine.trigger",
        "us.doctrine.severity",
        "us.doctrine.delay_days",
        "us.doctrine.theatre",
        "us.posture.force_protection",
    } == set(sweep.parameters)
    assert yaml.safe_load((root / "scenarios/sweeps/deterrence.yaml").read_text())["set"]


# Last in the module: a Dask cluster leaves threads behind in this process, and later tests
# that fork worker processes would run in a multi-threaded parent.
@pytest.mark.slow
def test_dask_cluster_gives_the_local_table(sweep_file, tmp_path):
    distributed = pytest.importorskip("distributed")
    sweep = load_sweep(sweep_file())
    local = run_sweep(sweep, tmp_path / "local", jobs=2).runs
    with local_cluster(distributed) as cluster:
        address = cluster.scheduler_address
        remote = run_sweep(sweep, tmp_path / "dask", scheduler=address).runs
        small = str(tmp_path / "small.yaml")
        assert main(["run", small, "-n", "2", "--scheduler", address, "--out",
                     str(tmp_path / "run"), "--no-progress"]) == 0  # fmt: skip
    pd.testing.assert_frame_equal(local, remote)
    # the manifests say where the runs went
    assert json.loads((tmp_path / "dask" / "sweep.json").read_text())["scheduler"] == address
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["scheduler"] == address


def test_resume_after_a_torn_header(sweep_file, tmp_path):
    sweep = load_sweep(sweep_file())
    full = run_sweep(sweep, tmp_path / "full", jobs=1, fmt="csv").runs
    out = tmp_path / "torn"
    out.mkdir()
    header = (tmp_path / "full" / "runs.csv").read_text().splitlines()[0]
    (out / "runs.csv").write_text(header[: len(header) // 2])
    pd.testing.assert_frame_equal(run_sweep(sweep, out, jobs=1).runs, full)
    pd.testing.assert_frame_equal(run_sweep(sweep, out, jobs=1).runs, full)


def test_sobol_confidence_intervals_are_the_same_for_identical_sweeps(sweep_file, tmp_path):
    params = {
        "us.doctrine.severity": {"low": 0.5, "high": 3.0},
        "us.doctrine.delay_days": {"low": 0, "high": 20, "type": "int"},
    }
    # design seed 0, the default, is the one SALib took for "no seed"
    sweep = load_sweep(
        sweep_file(parameters=params, design={"method": "sobol", "samples": 8}, replicates=1)
    )
    assert sweep.spec.design.seed == 0
    runs = run_sweep(sweep, tmp_path / "a", jobs=1).runs
    first, second = sobol_indices(runs, sweep), sobol_indices(runs, sweep)
    assert len(first) > 0 and first[["S1_conf", "ST_conf"]].notna().all().all()
    pd.testing.assert_frame_equal(first, second)
