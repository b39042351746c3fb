"""``escalation screen``: which of a calibration's fitted values move its targets (Morris)."""

from __future__ import annotations

import argparse
from pathlib import Path

from escalation.cli.common import add_force_option, add_scheduler_option, positive_int
from escalation.errors import UserError
from escalation.experiments.limits import MAX_RUNS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``escalation screen`` to the command line."""
    p = subparsers.add_parser(
        "screen",
        help="rank a calibration's fitted values by their influence on the targets (Morris)",
        description="Morris screening of the values a calibration file fits: trajectories "
        "through the priors move one value at a time, and each value's mean absolute effect "
        "(mu*) on the fit's distance, overall and per target, ranks its influence. An inert "
        "factor that only re-draws the seeds gives the floor of chance. Writes screening.csv, "
        "screening_targets.csv and screening.png to calibrations/screening/<name>/ (or --out).",
        epilog="examples:\n"
        "  escalation screen calibrations/baseline.yaml\n"
        "  escalation screen calibrations/baseline.yaml --trajectories 20 --runs 8",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("spec", type=Path, help="calibration file (e.g. calibrations/baseline.yaml)")
    p.add_argument(
        "--trajectories", type=positive_int, default=24, help="Morris trajectories (default 24)"
    )
    p.add_argument("--runs", type=positive_int, default=8, help="runs per point (default 8)")
    p.add_argument(
        "--around",
        type=Path,
        metavar="FILE",
        help="screen locally around these values (a flat YAML of every fitted name, or a fit's "
        "scores.json): each value moves within --width of its prior's quantiles",
    )
    p.add_argument(
        "--width",
        type=_width,
        default=0.25,
        help="with --around: the share of each prior's quantiles a value moves over (default 0.25)",
    )
    p.add_argument("--out", type=Path, help="output folder (default calibrations/screening/<name>)")
    p.add_argument("-j", "--jobs", type=int, default=None, help="worker processes (default: all)")
    add_scheduler_option(p)
    add_force_option(p, f"{MAX_RUNS:,} runs")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=cmd_screen)


def _width(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a share above 0 and at most 1, got {text!r}")
    return value


def cmd_screen(args: argparse.Namespace) -> int:
    from escalation.calibration.loading import load_calibration, load_start
    from escalation.calibration.screening import (
        LEADS,
        NOISE,
        influential,
        screen,
        screening_table,
        target_table,
    )
    from escalation.cli.common import progress_bar, writing_to
    from escalation.experiments.executors import make_executor
    from escalation.files import output_folder, write_table
    from escalation.seeds import Streams
    from escalation.viz.screening import plot_screening

    cal = load_calibration(args.spec)
    around = load_start(args.around, cal) if args.around is not None else None
    local = "-local" if around is not None else ""
    if args.out is None:
        parent = Path("calibrations") / "screening"
        out = output_folder(parent, cal.spec.name, source=str(args.spec))
        out = out.with_name(out.name + local)
    else:
        out = args.out
    k = len(cal.names)
    total = args.trajectories * (k + 5) * args.runs  # four inert factors
    if total > MAX_RUNS and not args.force:
        raise UserError(
            f"--trajectories {args.trajectories:,} x --runs {args.runs:,}: {total:,} runs; "
            f"expected at most {MAX_RUNS:,} (pass --force to run more anyway)"
        )
    streams = Streams(cal.spec.seed).child("screen")
    executor = make_executor(args.jobs, args.scheduler)
    bar = progress_bar(total, "screening", args.no_progress)
    try:
        result = screen(
            cal.simulator,
            args.trajectories,
            args.runs,
            streams,
            executor,
            on_run=bar.update,
            around=around,
            width=args.width,
        )
    finally:
        bar.close()
        executor.close()
    table = screening_table(result, streams)
    keep = influential(table)
    with writing_to(out):
        write_table(out / "screening.csv", table)
        write_table(out / "screening_targets.csv", target_table(result))
        plot_screening(table, keep, path=out / "screening.png")
    floor = float(table.loc[table["name"] == NOISE, "mu_star"].iloc[0])
    print(
        f"{cal.spec.name}: {total} runs; {len(keep)} of {k} fitted values move the fit's "
        f"distance by more than the seeds alone (mu* {floor:.3g}) or lead {LEADS} targets; wrote "
        f"screening.csv, screening_targets.csv and screening.png to {out}/"
    )
    return 0
