"""The README's code runs as written: its Python block from a folder holding the repository's
scenarios, and its YAML blocks (a sweep, a scenario) through the loaders that read such files."""

from __future__ import annotations

import re

import matplotlib
import pytest

from escalation import load_scenario
from escalation.experiments.sweep import load_sweep
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.S)


def test_the_readme_has_its_blocks():
    assert len(blocks("python")) == 1 and len(blocks("yaml")) == 2


@pytest.mark.slow
def test_the_python_block_runs_as_written(tmp_path, monkeypatch):
    matplotlib.use("Agg")
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks("python")[0], "README.md", "exec"), {})  # the repository's own text
    assert (tmp_path / "answer.png").exists()
    assert (tmp_path / "results" / "sweeps" / "d" / "runs.parquet").exists()


def _beside_the_baseline(tmp_path, folder: str, name: str, text: str):
    """``text`` written where the README's file would live, beside the repository's scenarios."""
    root = tmp_path / "scenarios"
    (root / folder).mkdir(parents=True, exist_ok=True)
    for scenario in ("baseline.yaml", "historical.yaml"):
        (root / scenario).symlink_to(ROOT / "scenarios" / scenario)
    path = root / folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_sweep_block_is_the_shipped_sweep_and_loads(tmp_path):
    text = next(b for b in blocks("yaml") if "parameters:" in b)
    sweep = load_sweep(_beside_the_baseline(tmp_path, "sweeps", "deterrence.yaml", text))
    shipped = load_sweep(ROOT / "scenarios" / "sweeps" / "deterrence.yaml")
    assert sweep.parameters == shipped.parameters and len(sweep.points) == len(shipped.points)


def test_the_scenario_block_loads(tmp_path):
    text = next(b for b in blocks("yaml") if "extends:" in b)
    scenario = load_scenario(_beside_the_baseline(tmp_path, ".", "my_question.yaml", text))
    assert scenario.us.doctrine.trigger == "every_attack" and "us_leaves" in scenario.events
