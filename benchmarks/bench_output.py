"""What writing an ensemble's results costs: peak memory, the share of the wall time spent
writing, and the size of the folder, for Parquet and CSV.

Each format runs ``escalation run SCENARIO -n N --format FORMAT`` in a child process of its own,
which reports its peak resident memory (``getrusage``: the command's own process, and the
largest of its child processes: a worker, or a process forked to run git, which starts as large
as the command was then). The time spent writing is the command's own account in the
manifest (``writing_seconds``: turning each finished run into rows and writing them, and
closing the tables); the time after the last run (closing the tables, the manifest, the
figure) is the wall time less the runs' time the command prints. ``--code`` measures another
checkout of the package (one whose ``run`` has no ``--format`` option: pass ``--formats
default``), to compare with the code before a change.

    .venv/bin/python benchmarks/bench_output.py                   # 1,000 runs, parquet and csv
    .venv/bin/python benchmarks/bench_output.py -n 200 --formats parquet
    .venv/bin/python benchmarks/bench_output.py --code ../main --formats default
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DRIVER = """
import json, resource, sys
from escalation.cli.main import main
code = main(sys.argv[1:])
me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"code": code, "peak_kb": me, "worker_peak_kb": workers}))
"""


def measure(code: Path, scenario: Path, n: int, fmt: str, out: Path, jobs: int | None) -> dict:
    """One ``escalation run`` in a child process: its figures, as a dict."""
    argv = ["run", str(scenario), "-n", str(n), "--out", str(out), "--no-progress"]
    if fmt != "default":
        argv += ["--format", fmt]
    if jobs:
        argv += ["-j", str(jobs)]
    env = {**os.environ, "PYTHONPATH": str(code)}
    t0 = time.perf_counter()
    done = subprocess.run(  # run outside the checkout: `python -c` puts its folder first
        [sys.executable, "-c", DRIVER, *argv],
        env=env,
        cwd=out.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"escalation run failed ({fmt}):\n{done.stderr}")
    lines = done.stdout.strip().splitlines()
    child = json.loads(lines[-1])
    runs = re.search(r"runs in ([\d.]+) s", done.stdout)
    manifest = json.loads((out / "manifest.json").read_text())
    files = {p.name: p.stat().st_size for p in sorted(out.iterdir()) if p.is_file()}
    writing = manifest.get("writing_seconds")
    return {
        "format": fmt,
        "wall": wall,
        "runs": float(runs.group(1)) if runs else float("nan"),
        "writing": writing,
        "peak_mb": child["peak_kb"] / 1024,
        "worker_peak_mb": child["worker_peak_kb"] / 1024,
        "files": files,
        "size_mb": sum(files.values()) / 1e6,
    }


def report(m: dict) -> None:
    """Print one format's figures."""
    after = m["wall"] - m["runs"]
    writing = "n/a" if m["writing"] is None else f"{m['writing']:.1f} s"
    share = "n/a" if m["writing"] is None else f"{100 * m['writing'] / m['wall']:.1f}%"
    print(f"\n{m['format']}:")
    print(f"  wall time               {m['wall']:.1f} s (runs {m['runs']:.1f} s)")
    print(f"  writing tables          {writing}, {share} of the wall time")
    print(f"  after the last run      {after:.1f} s (interpreter start, tables closed, figure)")
    workers = f"largest child process {m['worker_peak_mb']:.0f} MB"
    print(f"  peak memory             {m['peak_mb']:.0f} MB ({workers})")
    print(f"  folder                  {m['size_mb']:.1f} MB")
    for name, size in m["files"].items():
        print(f"    {name:<22}{size / 1e6:9.2f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--replicates", type=int, default=1000)
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "baseline.yaml")
    parser.add_argument("--formats", nargs="+", default=["parquet", "csv"])
    parser.add_argument("-j", "--jobs", type=int, default=None)
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose package to run")
    args = parser.parse_args()
    print(f"escalation run {args.scenario.name} -n {args.replicates} (code: {args.code})")
    for fmt in args.formats:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / fmt
            report(
                measure(
                    args.code.resolve(),
                    args.scenario.resolve(),
                    args.replicates,
                    fmt,
                    out,
                    args.jobs,
                )
            )


if __name__ == "__main__":
    main()
