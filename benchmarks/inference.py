"""ABC-SMC against ABC random forests on model-made records, at equal simulation budgets.

Runs :func:`escalation.calibration.recovery.compare` and prints, as markdown, each method's
recovery (RMSE of the posterior mean in prior sds), coverage of its 50% and 90% intervals, width
of the 90% interval, SBC p-values, and cost. ``--calibration small`` is the two-militia year of
the tests (two fitted values, four half-year counts); a calibration file (e.g.
calibrations/baseline.yaml) compares the methods on the historical fit. ``--estimate`` only times
a few simulations of the calibration at prior draws and prints what the design would cost.
With ``--out``, each dataset's ABC-SMC result is kept in ``DIR/state/`` as it finishes, and the
same command run again takes the finished ones up: a run of hours can be stopped and resumed.
``--earlier DIR`` takes ABC-SMC's rows for the datasets in an earlier run's
``DIR/per_dataset.csv`` (same calibration, seed and design) instead of fitting them again, for
when that run's state is gone; the tables then cover both runs' datasets, and the cost only
this run's.

    .venv/bin/python benchmarks/inference.py [--calibration small|FILE] [--simulations 3000]
        [--datasets 200] [--gap-datasets 40] [--abc-datasets 20] [--tables 4] [--particles 100]
        [--jobs 1] [--seed 0] [--out DIR] [--earlier DIR] [--estimate] [--no-progress]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import pandas as pd

from escalation.calibration.recovery import Design, EarlierRowsError, compare, pooled
from escalation.calibration.simulate import Simulator
from escalation.experiments.executors import make_executor
from escalation.progress import Bars
from escalation.seeds import Streams

ROOT = Path(__file__).resolve().parent.parent


def small_simulator() -> Simulator:
    """The tests' two-militia year and its four model-made half-year counts."""
    path = ROOT / "tests" / "calibration" / "test_calibration_fit.py"
    spec = importlib.util.spec_from_file_location("_calibration_fit", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._recovery_simulator()[0]


def simulator(name: str) -> Simulator:
    """The small scenario, or a calibration file's simulator."""
    if name == "small":
        return small_simulator()
    from escalation.calibration.loading import load_calibration

    return load_calibration(Path(name)).simulator


def markdown(frame: pd.DataFrame) -> str:
    """A table as markdown (numbers to 3 significant figures)."""

    def cell(x: object) -> str:
        return f"{x:.3g}" if isinstance(x, float) else str(x)

    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(x) for x in row) + " |" for row in frame.itertuples(False)]
    return "\n".join([head, rule, *body])


def estimate(sim: Simulator, design: Design, runs: int = 5) -> None:
    """Time ``runs`` simulations at prior draws and print the design's projected cost."""
    draws = Streams(0).child("estimate").rng().random((runs, len(sim.priors)))
    sim.statistics(sim.values(draws[0]), 0)  # warm up
    t0, w0 = time.process_time(), time.perf_counter()
    for i, u in enumerate(draws):
        sim.statistics(sim.values(u), i)
    per = (time.process_time() - t0) / runs
    wall = (time.perf_counter() - w0) / runs
    forest = design.tables * design.simulations
    abc = design.abc_datasets * design.simulations
    print(f"{len(sim.names)} fitted values, {len(sim.targets.targets)} targets")
    print(f"one simulation: {per:.3f} CPU s, {wall:.3f} s wall (means of {runs})")
    print(f"forest reference tables: {forest} simulations, {forest * per / 3600:.2f} CPU h")
    print(f"ABC-SMC: {abc} simulations, {abc * per / 3600:.2f} CPU h")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calibration", default="small")
    parser.add_argument("--simulations", type=int, default=3000)
    parser.add_argument("--datasets", type=int, default=200)
    parser.add_argument("--gap-datasets", type=int, default=40)
    parser.add_argument("--abc-datasets", type=int, default=20)
    parser.add_argument("--tables", type=int, default=4)
    parser.add_argument("--particles", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="folder for the CSV files")
    parser.add_argument(
        "--earlier", type=Path, default=None, help="an earlier run's folder to take rows from"
    )
    parser.add_argument("--estimate", action="store_true", help="only time and project")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    args = parser.parse_args()

    sim = simulator(args.calibration)
    design = Design(
        simulations=args.simulations,
        datasets=args.datasets,
        gap_datasets=args.gap_datasets,
        abc_datasets=args.abc_datasets,
        tables=args.tables,
        particles=args.particles,
    )
    if args.estimate:
        estimate(sim, design)
        return
    earlier = None
    if args.earlier is not None:
        if not (args.earlier / "per_dataset.csv").is_file():
            print(
                f"benchmarks/inference.py: --earlier {args.earlier}: no per_dataset.csv there",
                file=sys.stderr,
            )
            sys.exit(2)
        earlier = pd.read_csv(args.earlier / "per_dataset.csv")
        earlier = earlier[earlier["method"].str.startswith("ABC-SMC")]
    executor = make_executor(args.jobs)
    t0 = time.monotonic()
    try:
        bars = Bars(enabled=not args.no_progress)
        state = args.out / "state" if args.out is not None else None
        result = compare(sim, design, Streams(args.seed), executor, bars, state, earlier)
    except EarlierRowsError as err:
        print(f"benchmarks/inference.py: {args.earlier}/per_dataset.csv: {err}", file=sys.stderr)
        sys.exit(2)
    finally:
        executor.close()
    print(f"{design}\nwall time {time.monotonic() - t0:.0f} s\n")
    overall = pooled(result.per_dataset, result.table, design.draws)
    for title, frame in (
        ("all values at once", overall),
        ("every dataset of each method", result.table),
        ("the datasets every method ran", result.paired),
        ("cost (CPU of this process)", result.cost),
    ):
        print(f"## {title}\n\n{markdown(frame)}\n")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        result.per_dataset.to_csv(args.out / "per_dataset.csv", index=False)
        result.table.to_csv(args.out / "table.csv", index=False)
        result.paired.to_csv(args.out / "paired.csv", index=False)
        result.cost.to_csv(args.out / "cost.csv", index=False)
        overall.to_csv(args.out / "pooled.csv", index=False)


if __name__ == "__main__":
    main()
