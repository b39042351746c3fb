"""Two processes on one output folder: the second stops with an error naming the first, and
the first's results are whole."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml

from escalation.cli.main import main


def hold_lock(folder):
    """A process that holds ``folder``'s lock until killed (returned once it holds it)."""
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
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.fixture
def files(tmp_path, small):
    small["end"] = "2020-01-31"
    (tmp_path / "small.yaml").write_text(yaml.safe_dump(small))
    sweep = {
        "name": "s",
        "scenario": "small.yaml",
        "parameters": {"us.doctrine.severity": {"low": 0.5, "high": 3.0, "levels": 10}},
        "replicates": 10,
    }
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(sweep))
    return tmp_path


@pytest.mark.parametrize(
    "command",
    [
        ["run", "small.yaml", "-n", "2", "-j", "1"],
        ["sweep", "sweep.yaml", "-j", "1"],
        ["compare", "small.yaml", "small.yaml", "-n", "2", "-j", "1"],
    ],
)
def test_a_locked_output_folder_is_refused_naming_its_holder(files, capsys, command):
    out = files / "out"
    holder = hold_lock(out)
    try:
        code = main([str(files / w) if w.endswith(".yaml") else w for w in command]
                    + ["--out", str(out), "--no-progress"])  # fmt: skip
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"{out}: in use by another process (pid {holder.pid} on " in err
    assert "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing of its own written


def test_two_sweeps_on_one_folder_leave_one_whole_table(files):
    out = files / "out"
    cmd = [sys.executable, "-m", "escalation.cli", "sweep", str(files / "sweep.yaml"),
           "--out", str(out), "-j", "1", "--no-progress"]  # fmt: skip
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (out / "runs.csv").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    first.send_signal(signal.SIGSTOP)  # mid-sweep, whatever the machine's speed
    try:
        second = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    finally:
        first.send_signal(signal.SIGCONT)
    assert first.wait(timeout=300) == 0, first.stderr.read()
    assert second.returncode == 2, second.stderr
    assert f"in use by another process (pid {first.pid} on " in second.stderr
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 100 and not runs.duplicated(["point", "replicate"]).any()
    assert (pd.read_csv(out / "summary.csv")["replicates"] == 10).all()
    assert not (out / ".lock").exists()
