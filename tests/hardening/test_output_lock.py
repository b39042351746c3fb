"""Two processes on one output folder: the second stops with an error naming the first, and
the first's results are whole."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from escalation.cli.main import main
from escalation.tables import read_table
from tests.conftest import hold_lock, write_severity_sweep


@pytest.fixture
def files(tmp_path, small):
    write_severity_sweep(tmp_path, small, end="2020-01-31", levels=10, replicates=10)
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
    runs = read_table(out, "runs")
    assert len(runs) == 100 and not runs.duplicated(["point", "replicate"]).any()
    assert (read_table(out, "summary")["replicates"] == 10).all()
    assert not (out / ".lock").exists()
