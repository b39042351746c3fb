"""Worker processes end with the command that started them, however it ends."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import write_severity_sweep


def children(pid: int) -> set[int]:
    """The live child processes of ``pid`` (Linux /proc)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found |= {int(c) for c in (task / "children").read_text().split()}
    return {c for c in found if alive(c)}


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its reaper does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_sigkill_of_a_sweep_leaves_no_worker_running(tmp_path, small):
    write_severity_sweep(tmp_path, small, end="2020-12-31", levels=50, replicates=100)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "escalation.cli", "sweep", str(tmp_path / "sweep.yaml"),
           "--out", str(out), "-j", "2", "--no-progress"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        workers: set[int] = set()
        while time.monotonic() < deadline and proc.poll() is None:
            workers = children(proc.pid)
            if len(workers) >= 2 and (out / "runs.csv").exists():
                break
            time.sleep(0.05)
        assert len(workers) >= 2, "the sweep should have started its two workers"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(alive(w) for w in workers):
            time.sleep(0.05)
        left = [w for w in workers if alive(w)]
    finally:
        for w in children(proc.pid) | workers:
            if alive(w):
                os.kill(w, signal.SIGKILL)
    assert left == [], f"workers {left} outlived their sweep"
