"""Throughput at scale, each figure a ratio or a peak measured in this one run.

    .venv/bin/python benchmarks/bench_scale.py                 # ensembles and sweeps
    .venv/bin/python benchmarks/bench_scale.py --memory-runs 10000
    .venv/bin/python benchmarks/bench_scale.py --calibration   # + the default calibration

Prints:
- an ensemble of 100 baseline runs on 2 worker processes against 1 (the parallel speedup),
  as the median and the fastest of the interleaved repeats, beside the same runs split
  between two bare forked processes (what this machine allows);
- a sweep of one design through `escalation sweep` against `mesa.batch_run` on the same
  design, processes and steps (the throughput ratio);
- the peak memory (resident set) of a sweep of --memory-runs runs: the parent process and the
  largest worker;
- with --calibration, the wall time of `escalation calibrate calibrations/baseline.yaml`.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mesa import DataCollector  # noqa: E402
from mesa.batchrunner import batch_run  # noqa: E402

from escalation import load_scenario, with_overrides  # noqa: E402
from escalation.experiments.runner import run, run_ensemble  # noqa: E402
from escalation.experiments.sweep import run_sweep, sweep_from_dict  # noqa: E402
from escalation.model.model import EscalationModel  # noqa: E402
from escalation.seeds import spawn_seeds  # noqa: E402
from escalation.tables import read_table  # noqa: E402

BASELINE = ROOT / "scenarios" / "baseline.yaml"
SEVERITIES = [0.5 + 0.25 * i for i in range(12)]
REPLICATES = 5


def attacks_on_us(model: EscalationModel) -> int:
    return sum(
        1 for r in model.log if r.action == "attack" and model.targets[r.target].owner == "us"
    )


_BASE: list = []


def base_scenario():
    """The baseline, read once per process (as a Mesa user would cache it)."""
    if not _BASE:
        _BASE.append(load_scenario(BASELINE))
    return _BASE[0]


class BatchEscalation(EscalationModel):
    """The escalation model as mesa.batch_run wants it: keyword parameters, a datacollector."""

    def __init__(self, severity: float = 1.0, rng: int | None = None) -> None:
        scenario = with_overrides(base_scenario(), {"us.doctrine.severity": severity})
        super().__init__(scenario, seed=rng, collect=False)
        self.datacollector = DataCollector(model_reporters={"attacks_on_us": attacks_on_us})

    def step(self) -> None:
        super().step()
        if self.steps >= self.n_steps:
            self.datacollector.collect(self)


def _median(xs: list[float]) -> float:
    return statistics.median(xs)


def _halves(scenario, seeds: list[int]) -> None:
    """The machine's ceiling: the runs split in two forked processes, no pool, no results."""
    pids = []
    for half in (seeds[0::2], seeds[1::2]):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            for s in half:
                run(scenario, s)
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)


def bench_ensemble(repeats: int) -> None:
    scenario = load_scenario(BASELINE)
    run_ensemble(scenario, 4, seed=99, jobs=2)  # warm up
    seeds = spawn_seeds(0, 100)
    one, two, ceiling = [], [], []
    for _ in range(repeats):  # interleaved, so a busy spell on the machine hits all three
        t0 = time.perf_counter()
        run_ensemble(scenario, 100, seed=0, jobs=1)
        one.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        run_ensemble(scenario, 100, seed=0, jobs=2)
        two.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        _halves(scenario, seeds)
        ceiling.append(time.perf_counter() - t0)
    ratios = ", ".join(f"{a / b:.2f}" for a, b in zip(one, two, strict=True))
    print(
        f"ensemble of 100 baseline runs ({repeats} repeats, medians): 1 process "
        f"{_median(one):.1f} s, 2 processes {_median(two):.1f} s; speedup "
        f"{_median(one) / _median(two):.2f} (each repeat: {ratios}); fastest of each: "
        f"{min(one) / min(two):.2f}"
    )
    print(
        f"  ceiling on this machine: the same runs in two bare forked processes "
        f"{_median(ceiling):.1f} s, speedup {_median(one) / _median(ceiling):.2f} "
        f"(fastest: {min(one) / min(ceiling):.2f})"
    )


def bench_sweep_vs_batch_run(tmp: Path, repeats: int) -> None:
    steps = load_scenario(BASELINE)
    n_steps = EscalationModel(steps, seed=0, collect=False).n_steps
    data = {
        "name": "bench",
        "scenario": str(BASELINE),
        "parameters": {"us.doctrine.severity": {"values": SEVERITIES}},
        "replicates": REPLICATES,
        "seed": 0,
        "outcomes": ["attacks_on_us"],
    }
    sweep = sweep_from_dict(data)
    runs = sweep.total_runs
    ours, theirs = [], []
    for k in range(repeats):  # interleaved
        t0 = time.perf_counter()
        run_sweep(sweep, tmp / f"sweep{k}", jobs=2)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        results = batch_run(
            BatchEscalation,
            parameters={"severity": SEVERITIES},
            rng=list(range(REPLICATES)),  # one seed per replicate, as the sweep has
            max_steps=n_steps,
            number_processes=2,
            data_collection_period=-1,
            display_progress=False,
        )
        theirs.append(time.perf_counter() - t0)
        assert len(results) == runs
    a, b = _median(ours), _median(theirs)
    ratios = ", ".join(f"{y / x:.2f}" for x, y in zip(ours, theirs, strict=True))
    print(
        f"sweep of {runs} runs ({len(SEVERITIES)} points x {REPLICATES}), 2 processes, "
        f"{repeats} repeats (medians): escalation sweep {a:.1f} s ({runs / a:.1f} runs/s), "
        f"mesa.batch_run {b:.1f} s ({runs / b:.1f} runs/s); throughput ratio {b / a:.2f} "
        f"(each repeat: {ratios})"
    )


def bench_memory(tmp: Path, n_runs: int) -> None:
    points = max(1, n_runs // 10)
    sweep_file = tmp / "memory.yaml"
    sweep_file.write_text(
        "name: memory\n"
        f"scenario: {BASELINE}\n"
        "parameters:\n"
        f"  us.doctrine.severity: {{low: 0.5, high: 3.0, levels: {points}}}\n"
        "replicates: 10\n"
        "outcomes: [attacks_on_us]\n"
    )
    out = tmp / "memory-out"
    cmd = [
        sys.executable,
        "-m",
        "escalation.cli",
        "sweep",
        str(sweep_file),
        "--out",
        str(out),
        "-j",
        "2",
        "--no-progress",
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak_parent = 0
    while proc.poll() is None:
        try:
            with open(f"/proc/{proc.pid}/status", encoding="ascii") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak_parent = max(peak_parent, int(line.split()[1]))
        except FileNotFoundError:
            break
        time.sleep(0.5)
    err = proc.stderr.read() if proc.stderr else ""
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"memory sweep failed: {err}")
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB, largest child
    rows = len(read_table(out, "runs"))
    print(
        f"sweep of {rows} runs in {elapsed / 60:.1f} min: peak resident memory of the sweep "
        f"process {peak_parent / 1024:.0f} MiB, largest worker {children / 1024:.0f} MiB; "
        f"total at most {(peak_parent + 2 * children) / 1024:.0f} MiB"
    )


def bench_calibration() -> None:
    out = Path(tempfile.mkdtemp(prefix="bench-cal-"))
    cmd = [
        sys.executable,
        "-m",
        "escalation.cli",
        "calibrate",
        str(ROOT / "calibrations/baseline.yaml"),
        "--out",
        str(out),
        "--no-progress",
    ]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
    print(
        f"default calibration: {(time.perf_counter() - t0) / 60:.1f} min on {os.cpu_count()} cores"
    )
    print("  " + done.stdout.strip().splitlines()[-1])  # its own summary: simulations, scores
    shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--memory-runs",
        type=int,
        default=2000,
        help="runs in the memory sweep (the goal is stated for 10000)",
    )
    parser.add_argument("--calibration", action="store_true", help="also time the calibration")
    parser.add_argument("--skip", nargs="*", default=[], choices=("ensemble", "sweep", "memory"))
    parser.add_argument(
        "--repeats", type=int, default=5, help="interleaved repeats of the ensemble and sweep"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if "ensemble" not in args.skip:
            bench_ensemble(args.repeats)
        if "sweep" not in args.skip:
            bench_sweep_vs_batch_run(tmp, args.repeats)
        if "memory" not in args.skip:
            bench_memory(tmp, args.memory_runs)
    if args.calibration:
        bench_calibration()


if __name__ == "__main__":
    main()
