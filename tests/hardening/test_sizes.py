"""Sizes past a documented cap are refused (exit 2) before any work starts, unless --force:
designs of too many points, sweeps and ensembles of too many runs. A cluster address that
cannot be one is refused the same way."""

from __future__ import annotations

import time

import pytest

from escalation.cli.main import main
from escalation.errors import ScenarioError
from escalation.experiments.sweep import MAX_POINTS, MAX_RUNS, load_sweep


def refused(argv, capsys) -> str:
    t0 = time.perf_counter()
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse refuses a malformed option value
        code = exc.code
    assert code == 2
    assert time.perf_counter() - t0 < 20
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def sweep_file(write_yaml, parameters: str, design: str = "", replicates: int = 1):
    return write_yaml(
        "w.yaml",
        f"name: w\nscenario: s.yaml\nreplicates: {replicates}\nparameters:\n{parameters}{design}",
    )


def test_grid_of_too_many_points(small, write_yaml):
    write_yaml("s.yaml", small)
    params = "".join(
        f"  militias.A.{k}: {{low: 0, high: 1, levels: 1000}}\n"
        for k in ("compliance", "resolve", "political_stake")
    )
    t0 = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        load_sweep(sweep_file(write_yaml, params))
    assert time.perf_counter() - t0 < 10
    assert info.value.path == "design" and f"{MAX_POINTS:,}" in info.value.message
    assert "--force" in info.value.message


@pytest.mark.parametrize(("method", "samples"), [("lhs", 1_000_000_000), ("sobol", 2**30)])
def test_sampled_designs_of_too_many_points(small, write_yaml, method, samples):
    write_yaml("s.yaml", small)
    design = f"design: {{method: {method}, samples: {samples}}}\n"
    path = sweep_file(write_yaml, "  militias.A.compliance: {low: 0, high: 1}\n", design)
    with pytest.raises(ScenarioError) as info:
        load_sweep(path)
    assert info.value.path == "design"


def test_too_many_runs_and_force(small, write_yaml):
    write_yaml("s.yaml", small)
    path = sweep_file(
        write_yaml, "  militias.A.compliance: {low: 0, high: 1, levels: 100}\n", "", MAX_RUNS
    )
    with pytest.raises(ScenarioError) as info:
        load_sweep(path)
    assert info.value.path == "replicates" and f"{MAX_RUNS:,}" in info.value.message
    assert load_sweep(path, force=True).total_runs == 100 * MAX_RUNS


def test_sweep_command_refuses_and_names_force(small, write_yaml, capsys):
    write_yaml("s.yaml", small)
    path = sweep_file(write_yaml, "  militias.A.compliance: {low: 0, high: 1, levels: 20000}\n")
    err = refused(["sweep", str(path), "--no-progress"], capsys)
    assert "--force" in err


def test_run_refuses_a_billion_replicates(small, write_yaml, capsys, tmp_path):
    path = write_yaml("s.yaml", small)
    err = refused(
        ["run", str(path), "-n", "1000000000", "--out", str(tmp_path / "o"), "--no-progress"],
        capsys,
    )
    assert "--force" in err and "replicates" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("address", ["foo bar", "tcp://", "tcp://host:notaport", ""])
def test_unusable_scheduler_address_is_refused(small, write_yaml, capsys, tmp_path, address):
    path = write_yaml("s.yaml", small)
    argv = ["run", str(path), "-n", "1", "--scheduler", address, "--out", str(tmp_path / "o")]
    err = refused(argv, capsys)
    assert "--scheduler" in err
