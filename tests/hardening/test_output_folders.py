"""A name (of a scenario, sweep, comparison or calibration) becomes an output folder under its
parent, or an error naming the file and key: never a folder somewhere else."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from escalation import ScenarioError
from escalation.cli.main import main
from escalation.files import output_folder

ROOT = Path(__file__).resolve().parents[2]
ESCAPES = ["../../escaped_demo", "/tmp/escaped_demo_abs", "", "  ", "..", "a/b", "a\\b"]


@pytest.mark.parametrize("name", ESCAPES)
def test_output_folder_refuses_a_name_that_leaves_its_parent(name):
    with pytest.raises(ScenarioError) as err:
        output_folder(Path("results"), name, source="x.yaml")
    text = str(err.value)
    assert text.startswith("x.yaml: name: ")
    assert "expected a plain, non-empty folder name" in text


def test_output_folder_of_a_plain_name_is_under_its_parent():
    assert output_folder(Path("results"), "no_truce_2020", source="x") == Path(
        "results/no_truce_2020"
    )


@pytest.fixture
def workdir(tmp_path, monkeypatch, small):
    """A working directory holding the small scenario (and a short sweep of it)."""
    work = tmp_path / "deep" / "work"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    small["end"] = "2020-01-31"
    (work / "small.yaml").write_text(yaml.safe_dump(small), encoding="utf-8")
    return work


def _written_outside(tmp_path: Path, work: Path) -> list[Path]:
    """Every file or folder under tmp_path but not under the working directory's inputs."""
    inputs = {work / "small.yaml", work / "named.yaml", work / "sweep.yaml", work / "cal.yaml"}
    return [
        p
        for p in tmp_path.rglob("*")
        if p not in inputs and p not in work.parents and p != work and "results" not in p.parts
    ] + [p for p in tmp_path.rglob("results/*") if p.is_file()]


@pytest.mark.parametrize("name", ["../../escaped_demo", "/tmp/escaped_demo_abs", ""])
def test_run_refuses_a_scenario_name_outside_results(workdir, tmp_path, capsys, name):
    base = yaml.safe_load((workdir / "small.yaml").read_text())
    (workdir / "named.yaml").write_text(yaml.safe_dump({**base, "name": name}))
    code = main(["run", "named.yaml", "-n", "1", "-j", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "named.yaml: name:" in err and "Traceback" not in err
    assert _written_outside(tmp_path, workdir) == []
    assert not Path("/tmp/escaped_demo_abs").exists()


def test_run_refuses_an_empty_name_from_set(workdir, tmp_path, capsys):
    code = main(["run", "small.yaml", "-n", "1", "-j", "1", "--no-progress", "--set", "name="])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "name" in err and "Traceback" not in err
    assert _written_outside(tmp_path, workdir) == []


def test_sweep_and_compare_refuse_names_outside_results(workdir, tmp_path, capsys):
    sweep = {
        "name": "../../escaped_sweep",
        "scenario": "small.yaml",
        "parameters": {"us.doctrine.delay_days": {"values": [0, 5]}},
        "replicates": 1,
    }
    (workdir / "sweep.yaml").write_text(yaml.safe_dump(sweep))
    assert main(["sweep", "sweep.yaml", "-j", "1", "--no-progress"]) == 2
    assert "sweep.yaml: name:" in capsys.readouterr().err
    sweep["name"] = "fine"
    (workdir / "sweep.yaml").write_text(yaml.safe_dump(sweep))
    assert main(["sweep", "sweep.yaml", "--name", "/abs", "-j", "1", "--no-progress"]) == 2
    assert "--name: name:" in capsys.readouterr().err
    base = yaml.safe_load((workdir / "small.yaml").read_text())
    (workdir / "named.yaml").write_text(yaml.safe_dump({**base, "name": "../escaped_cmp"}))
    assert main(["compare", "small.yaml", "named.yaml", "-n", "1", "-j", "1"]) == 2
    assert "named.yaml: name:" in capsys.readouterr().err
    assert _written_outside(tmp_path, workdir) == []


def test_calibrate_refuses_a_name_outside_its_folder(workdir, tmp_path, capsys):
    text = (ROOT / "calibrations" / "baseline.yaml").read_text(encoding="utf-8")
    spec = yaml.safe_load(text)
    spec["name"] = "../../../escaped_fit"
    spec["scenario"] = str(ROOT / "scenarios" / "historical.yaml")
    (workdir / "cal.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    assert main(["calibrate", "cal.yaml", "--budget", "quick", "--no-progress", "-j", "1"]) == 2
    err = capsys.readouterr().err
    assert "cal.yaml: name:" in err and "Traceback" not in err
    assert _written_outside(tmp_path, workdir) == []
