"""The README's code runs as written: its Python block from a folder holding the repository's
scenarios; its YAML blocks (a sweep, a scenario) through the loaders that read such files; its
shell blocks' commands through the command line's own parser, those that take seconds run as
written, and its example session's errors as the commands print them."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

from escalation import load_scenario
from escalation.cli.main import build_parser, main
from escalation.experiments.sweep import load_sweep
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    """The text of every fenced block whose info string is ``language`` ("" for none)."""
    found: list[str] = []
    inside: list[str] | None = None
    info = ""
    for line in README.splitlines(keepends=True):
        if line.startswith("```"):
            if inside is None:
                inside, info = [], line[3:].strip()
            else:
                if info == language:
                    found.append("".join(inside))
                inside = None
        elif inside is not None:
            inside.append(line)
    return found


def test_the_readme_has_its_blocks():
    assert len(blocks("python")) == 2 and len(blocks("yaml")) == 2
    assert len(blocks("sh")) >= 4 and len(blocks("")) >= 1


def shell_commands() -> list[str]:
    """Every command of the README's sh blocks: continuation lines joined, comments dropped,
    commands joined by ``;`` split."""
    commands = []
    for block in blocks("sh"):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.split(r"\s#", line, maxsplit=1)[0]
            commands += [part.strip() for part in line.split(";") if part.strip()]
    return commands


def argv_of(command: str) -> list[str]:
    """The command's arguments after the program, its globs expanded in the repository."""
    argv = []
    for word in shlex.split(command)[1:]:
        matches = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob(word)) if "*" in word else []
        argv += matches or [word]
    return argv


CLI = [c for c in shell_commands() if c.startswith("escalation ")]
# Commands that take seconds: run as written. The others (ensembles of 100 runs and more, the
# shipped sweep, the hour-long calibrations and screenings, the dashboard's server) are parsed
# as written here, and their code paths run at small sizes in the tests of their modules.
QUICK = re.compile(
    r"^escalation (validate|schema|history\b|--help|run \S+ -n 20 |sweep --scenario .* -n 10$)"
)


def test_the_shell_blocks_hold_the_commands_a_user_starts_with():
    assert {"make baseline", "make test"} <= set(shell_commands())
    assert len(CLI) >= 15 and sum(bool(QUICK.match(c)) for c in CLI) >= 5


@pytest.mark.parametrize("command", CLI)
def test_every_command_parses_as_written_and_its_files_exist(command):
    argv = argv_of(command)
    if "--help" in argv:
        with pytest.raises(SystemExit) as stop, contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(argv)
        assert stop.value.code == 0
        return
    build_parser().parse_args(argv)  # exits (failing the test) on an unknown option
    named = [a for a in argv if a.endswith((".yaml", ".yml"))]
    assert all((ROOT / a).is_file() for a in named), named


@pytest.mark.parametrize("command", [c for c in shell_commands() if c.startswith(".venv/")])
def test_every_benchmark_the_readme_names_exists_and_takes_its_options(command):
    words = shlex.split(command)
    script = ROOT / words[1]
    done = subprocess.run(
        [sys.executable, str(script), *words[2:], "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_the_quick_commands_run_as_written(tmp_path, monkeypatch):
    for folder in ("scenarios", "calibrations"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    monkeypatch.chdir(tmp_path)
    quick = [c for c in CLI if QUICK.match(c)]
    for command in quick:
        argv = argv_of(command)
        done = subprocess.run(
            [sys.executable, "-m", "escalation.cli", *argv], capture_output=True, text=True
        )
        assert done.returncode == 0, f"{command}: {done.stderr[-2000:]}"


def session() -> list[tuple[str, list[str]]]:
    """The README's example session: each ``$`` command and the lines that follow it."""
    steps: list[tuple[str, list[str]]] = []
    for line in next(b for b in blocks("") if b.startswith("$ ")).splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            steps[-1][1].append(line)
    return steps


def test_the_example_session_prints_what_the_readme_shows(tmp_path, monkeypatch, capsys):
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    monkeypatch.chdir(tmp_path)
    steps = session()
    assert sum(c.startswith("escalation ") for c, _ in steps) >= 2
    for command, shown in steps:
        words = shlex.split(command)
        if words[0] == "cat":  # the file the session shows, as shown
            Path(words[1]).write_text("\n".join(shown) + "\n", encoding="utf-8")
            continue
        assert main(words[1:]) == 2
        printed = capsys.readouterr().err.strip()
        expected = "\n".join(shown)
        if expected.endswith("..."):
            assert printed.startswith(expected[:-3]), printed
        else:
            assert printed == expected


def _run_block(text: str, tmp_path, monkeypatch) -> dict:
    """Run a Python block of the README from a folder holding the repository's scenarios."""
    matplotlib.use("Agg")
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    monkeypatch.chdir(tmp_path)
    names: dict = {}
    exec(compile(text, "README.md", "exec"), names)  # the repository's own text
    return names


@pytest.mark.slow
def test_the_python_block_runs_as_written(tmp_path, monkeypatch):
    names = _run_block(blocks("python")[0], tmp_path, monkeypatch)
    assert (tmp_path / "answer.png").exists()
    assert (tmp_path / "results" / "sweeps" / "d" / "runs.parquet").exists()
    assert names["found"].box.density >= 0.8


def test_the_ema_block_runs_as_written(tmp_path, monkeypatch):
    (block,) = [b for b in blocks("python") if "ema_workbench" in b]
    names = _run_block(block, tmp_path, monkeypatch)
    assert len(names["experiments"]) == 3 and len(names["outcomes"]["attacks_on_us"]) == 3


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
