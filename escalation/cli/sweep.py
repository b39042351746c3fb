"""``escalation sweep``: parameter sweeps (grid, Latin hypercube, Sobol), resumable."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from escalation.cli.common import (
    add_force_option,
    add_format_option,
    add_run_options,
    add_scheduler_option,
    bars_of,
    positive_int,
    warn,
    writing_to,
)
from escalation.errors import UserError
from escalation.experiments.limits import MAX_POINTS, MAX_RUNS

if TYPE_CHECKING:
    from escalation.experiments.sweep import Sweep, SweepResult
    from escalation.progress import Bars


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``escalation sweep`` to the command line."""
    p = subparsers.add_parser(
        "sweep",
        help="sweep parameters (grid, Latin hypercube, Sobol) and plot the responses",
        description="Run a sweep file, or a sweep given with --scenario and --param options. "
        "Each run is written to runs.csv as it finishes; running the same command again "
        "continues where it stopped. Writes the points, runs, summary (per point) and "
        "sensitivity (Sobol designs) tables (Parquet, or CSV with --format csv; the finished "
        "sweep's runs.csv becomes runs.parquet) and plots to results/sweeps/<name>/. A "
        "design of more "
        f"than {MAX_POINTS:,} points, or a sweep of more than {MAX_RUNS:,} runs, is refused "
        "unless --force.",
        epilog="examples:\n"
        "  escalation sweep scenarios/sweeps/deterrence.yaml\n"
        "  escalation sweep --scenario scenarios/baseline.yaml "
        "--param us.doctrine.delay_days=0:20:5 -n 10\n"
        "  escalation sweep --scenario scenarios/baseline.yaml --design lhs --samples 40 \\\n"
        "      --param us.doctrine.severity=0.5:3 --param us.doctrine.trigger=casualties,attacks",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("sweep", type=Path, nargs="?", help="sweep YAML file")
    p.add_argument("--scenario", type=Path, help="scenario to sweep (instead of a sweep file)")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=LOW:HIGH[:LEVELS]|A,B,C",
        help="a parameter to vary (repeatable)",
    )
    p.add_argument("--design", choices=("grid", "lhs", "sobol"), help="design (default: grid)")
    p.add_argument("--samples", type=positive_int, help="points (lhs) or base samples (sobol)")
    p.add_argument("--name", help="sweep name (default: from the file, or 'sweep')")
    add_run_options(p, replicates=None)
    add_scheduler_option(p, help="run on the Dask cluster whose scheduler is at ADDRESS")
    add_force_option(p, f"{MAX_POINTS:,} points and {MAX_RUNS:,} runs")
    p.add_argument("--out", type=Path, help="output folder (default: results/sweeps/<name>)")
    p.add_argument("--restart", action="store_true", help="discard earlier results in --out")
    add_format_option(p)
    p.set_defaults(func=cmd_sweep)


def cmd_sweep(args: argparse.Namespace) -> int:
    from escalation.files import output_folder
    from escalation.scenario.superseded import superseded_settings

    sweep = _sweep_of(args)
    warn(
        f"sweep {sweep.spec.name}: {text}"
        for text in superseded_settings(sweep.scenario, also=sweep.parameters)
    )
    source = "--name" if args.name is not None else sweep.source
    out = args.out or output_folder(Path("results") / "sweeps", sweep.spec.name, source=source)
    with writing_to(out):
        return _sweep(args, sweep, out)


def _sweep(args: argparse.Namespace, sweep: Sweep, out: Path) -> int:
    """The sweep of ``cmd_sweep``, written to ``out`` (whose lock the caller holds)."""
    from escalation.experiments.folders import results_folder
    from escalation.experiments.frontier import applies
    from escalation.experiments.sweep import run_sweep
    from escalation.viz.replot import replot_sweep

    bars = bars_of(args).within(f"sweep {sweep.spec.name}")
    bar = bars.bar("runs", sweep.total_runs)

    def progress(done: int, total: int) -> None:
        bar.n = done
        bar.refresh()

    t0 = time.perf_counter()
    try:
        result = run_sweep(
            sweep,
            out,
            jobs=args.jobs,
            scheduler=args.scheduler,
            progress=progress,
            restart=args.restart,
            fmt=args.format,
        )
    except KeyboardInterrupt:
        bar.close()
        print(
            f"interrupted: finished runs are in {out}/runs.csv; run the same command to continue",
            file=sys.stderr,
        )
        return 130
    bar.close()
    sobol = _sobol_warnings(result, args.format)
    tables = ["points", "runs", "summary"] + (
        ["sensitivity"] if result.sensitivity is not None else []
    )
    frontier = applies(sweep) and sweep.spec.replicates >= 2
    if applies(sweep) and not frontier:
        warn(["no deterrence frontier: its paired intervals need at least 2 replicates a point"])
    if frontier:
        tables += _frontier(result, out, args, bars)
    bars.note("drawing the plots")
    plots = replot_sweep(results_folder(out))
    print(
        f"{sweep.spec.name}: {len(sweep.points)} points x {sweep.spec.replicates} replicates = "
        f"{sweep.total_runs} runs ({time.perf_counter() - t0:.1f} s); wrote "
        + ", ".join([f"{name}.{args.format}" for name in tables] + [p.name for p in plots])
        + f" to {out}/"
        + sobol
    )
    return 0


def _sobol_warnings(result: SweepResult, fmt: str) -> str:
    """Warn of the Sobol indices whose intervals are too wide to mean anything, with the base
    sample size that would narrow them; the clause the summary line ends with ('' if none)."""
    from escalation.experiments.sensitivity import uninformative

    table = result.sensitivity
    if table is None or table.empty:
        return ""
    counts = uninformative(table, result.sweep.spec.design.samples)
    name = result.sweep.spec.name
    warn(f"sweep {name}: {u.message()}" for u in counts if u.uninformative)
    parts = [f"{u.uninformative} of {u.total} {u.measure}" for u in counts if u.uninformative]
    if not parts:
        return ""
    return f"; uninformative Sobol indices: {' and '.join(parts)} (sensitivity.{fmt})"


def _frontier(result: SweepResult, out: Path, args: argparse.Namespace, bars: Bars) -> list[str]:
    """The deterrence frontier's tables: the reference runs without retaliation (their
    progress on ``bars``), and per point its effect against them (its figure is drawn with the
    others); returns their names."""
    from escalation.experiments.frontier import deterrence_frontier, reference_runs
    from escalation.tables import save_table

    sweep = result.sweep
    reference = reference_runs(sweep, jobs=args.jobs, scheduler=args.scheduler, bars=bars)
    save_table(out, "reference_runs", reference, args.format)
    frontier = deterrence_frontier(result.runs, sweep.parameters, reference)
    save_table(out, "frontier", frontier.points, args.format)
    return ["frontier", "reference_runs"]


def _sweep_of(args: argparse.Namespace) -> Sweep:
    """The sweep a file, or --scenario with --param options, describes (with the options that
    override its replicates, seed, name and design)."""
    from escalation.experiments.sweep import parse_param_option, read_sweep_file, sweep_from_dict

    if (args.sweep is None) == (args.scenario is None):
        raise UserError("sweep: give a sweep file, or --scenario with --param options")
    if args.sweep is not None:
        if args.param:
            raise UserError("sweep: --param only goes with --scenario (a sweep file has its own)")
        data, text = read_sweep_file(args.sweep)
        base_dir, label = args.sweep.parent, str(args.sweep)
    else:
        if not args.param:
            raise UserError("sweep: --scenario needs at least one --param KEY=LOW:HIGH")
        data = {"name": "sweep", "scenario": str(args.scenario.resolve()), "parameters": {}}
        for text_opt in args.param:
            key, spec = parse_param_option(text_opt)
            data["parameters"][key] = spec
        base_dir, label, text = Path("."), "--param", None
    for key, value in (("replicates", args.replicates), ("seed", args.seed), ("name", args.name)):
        if value is not None:
            data[key] = value
    if args.design or args.samples:
        design = dict(data.get("design") or {})
        if args.design:
            design["method"] = args.design
        if args.samples:
            design["samples"] = args.samples
        data["design"] = design
    return sweep_from_dict(
        data, base_dir=base_dir, label=label, text=text, overrides=args.overrides, force=args.force
    )
