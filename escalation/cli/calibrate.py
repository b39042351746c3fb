"""``escalation calibrate``: fit scenario values to the record and report the fit."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from escalation.cli.common import add_scheduler_option, bars_of
from escalation.errors import UserError
from escalation.experiments.limits import MAX_POLISH

if TYPE_CHECKING:
    from escalation.calibration.loading import Calibration
    from escalation.progress import Bars

FITTED = Path("calibrations") / "fitted"
"""Where fits are written (one folder per calibration name)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``escalation calibrate`` to the command line."""
    p = subparsers.add_parser(
        "calibrate",
        help="fit scenario values to the record (ABC-SMC) and report how well the model fits",
        description="Fit the values a calibration file names to the record's tempo targets by "
        "ABC-SMC, choose the best parameter set, and score the calibrated ensemble per target "
        "and per phase against null models. Writes posterior.csv, best.yaml, report.md, "
        "scores.json, targets.csv, phases.csv and plots to calibrations/fitted/<name>/ (or "
        "--out). Interrupt it and run the same command again to continue.",
        epilog="examples:\n"
        "  escalation calibrate calibrations/baseline.yaml\n"
        "  escalation calibrate calibrations/baseline.yaml --budget quick\n"
        "  escalation calibrate calibrations/baseline.yaml --fit-until 2021-12-31\n"
        "  escalation calibrate calibrations/baseline.yaml --rolling",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("spec", type=Path, help="calibration file (e.g. calibrations/baseline.yaml)")
    p.add_argument(
        "--budget",
        choices=("quick", "default", "thorough"),
        default="default",
        help="time against precision: quick (~5 min), default (<20 min on two cores), "
        "thorough (<60 min on two cores; the shipped fit)",
    )
    p.add_argument(
        "--fit-until",
        metavar="DATE",
        type=_date,
        help="fit only targets ending by DATE (YYYY-MM-DD); score the rest",
    )
    p.add_argument(
        "--score-until",
        metavar="DATE",
        type=_date,
        help="with --fit-until: score out of sample only targets ending by DATE",
    )
    p.add_argument(
        "--rolling",
        action="store_true",
        help="fit at each rolling origin (to 2020, to 2021, to 30 Sep 2023), score each on the "
        "targets that follow it, and write <name>-rolling.md beside the fits",
    )
    p.add_argument(
        "--out",
        type=Path,
        help="output folder (default: calibrations/fitted/<name>[-until-DATE]; with --rolling, "
        "the folder of the fits)",
    )
    p.add_argument("-j", "--jobs", type=int, default=None, help="worker processes (default: all)")
    add_scheduler_option(p)
    p.add_argument("--restart", action="store_true", help="discard an earlier, unfinished fit")
    _add_polish_options(p)
    p.add_argument(
        "--write-scenario",
        type=Path,
        metavar="PATH",
        help="also write the best parameter set as a scenario file at PATH (named "
        "after the file), e.g. scenarios/baseline.yaml",
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=cmd_calibrate)


def _add_polish_options(p: argparse.ArgumentParser) -> None:
    """The options of the stages that polish the best set, and of its start."""
    p.add_argument(
        "--polish-sweeps",
        type=_sweeps,
        metavar="N",
        help="sweeps of the coordinate search that polishes the best set (default: the "
        "budget's); run again with a larger N to continue a finished polish",
    )
    p.add_argument(
        "--polish-steps",
        type=_sweeps,
        metavar="N",
        help="steps of the trust-region polish that follows the coordinate search, moving "
        "every value at once (default: the budget's); run again with a larger N to continue",
    )
    p.add_argument(
        "--start",
        type=Path,
        metavar="FILE",
        help="YAML of values for every fitted name (or a fit's scores.json) to try beside the "
        "ABC particles as the start of the polish",
    )


def _sweeps(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    if n > MAX_POLISH:
        raise argparse.ArgumentTypeError(
            f"expected at most {MAX_POLISH} (each costs thousands of runs), got {n:,}"
        )
    return n


def _date(text: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _fit(args: argparse.Namespace, cal: Calibration, out: Path, bars: Bars) -> dict | None:
    """One calibration to ``out`` with its plots, each stage's progress on ``bars``; its
    scores, or None if interrupted. The folder is locked meanwhile: a second fit into it stops
    with an error naming this one."""
    from escalation.cli.common import writing_to

    with writing_to(out):
        return _fit_in(args, cal, out, bars)


def _fit_in(args: argparse.Namespace, cal: Calibration, out: Path, bars: Bars) -> dict | None:
    import sys

    from escalation.calibration.loading import load_start
    from escalation.calibration.pipeline import run_calibration
    from escalation.viz.calibration import write_calibration_plots

    try:
        result = run_calibration(
            cal,
            out,
            budget=args.budget,
            jobs=args.jobs,
            scheduler=args.scheduler,
            restart=args.restart,
            polish_sweeps=args.polish_sweeps,
            polish_steps=args.polish_steps,
            start=load_start(args.start, cal) if args.start is not None else None,
            bars=bars,
        )
    except KeyboardInterrupt:
        print(
            f"interrupted: every finished simulation is in {out}/abc/ and the polish so far in "
            f"{out}/refine.json and {out}/trust.json; run the same command to continue",
            file=sys.stderr,
        )
        return None
    bars.note("drawing the plots")
    write_calibration_plots(cal, result, out)
    return result.scores


def cmd_calibrate(args: argparse.Namespace) -> int:
    from escalation.calibration.loading import load_calibration
    from escalation.files import output_folder

    if args.rolling:
        return _rolling(args)
    cal = load_calibration(args.spec, fit_until=args.fit_until, score_until=args.score_until)
    suffix = f"-until-{cal.spec.fit_until}" if cal.spec.fit_until else ""
    suffix += f"-to-{cal.spec.score_until}" if cal.spec.score_until else ""
    if args.out is None:
        out = output_folder(FITTED, cal.spec.name, source=str(args.spec))
        out = out.with_name(out.name + suffix)
    else:
        out = args.out
    scores = _fit(args, cal, out, bars_of(args))
    if scores is None:
        return 130
    if args.write_scenario is not None:
        write_fitted_scenario(cal, list(scores["best"].values()), args.write_scenario, out)
    c = scores["calibrated"]["all_tempo_targets"]
    print(
        f"{cal.spec.name}: {scores['abc']['simulations']} simulations, "
        f"{scores['abc']['generations']} generations, {scores['elapsed_minutes']} min; "
        f"calibrated median inside the observed range for {c['hits']} of {c['targets']} tempo "
        f"targets ({c['hit_rate']:.0%}); {scores['phases']['reproduced']} of "
        f"{scores['phases']['changes']} phase changes reproduced; wrote report.md, best.yaml, "
        f"posterior.csv and plots to {out}/"
    )
    return 0


def _rolling(args: argparse.Namespace) -> int:
    """Fit at every rolling origin in turn (each resumable), then write the table of their
    out-of-sample scores beside the fits."""
    import sys

    from escalation.calibration.loading import load_calibration
    from escalation.calibration.pipeline import rewrite_report
    from escalation.calibration.rolling import (
        ORIGINS,
        folder_name,
        misses_markdown,
        rolling_markdown,
        rolling_misses,
        rolling_table,
    )
    from escalation.files import output_folder, write_table, write_text

    if args.fit_until or args.score_until or args.write_scenario or args.start:
        raise UserError(
            "--rolling fits at its own origins: it takes no --fit-until, --score-until, "
            "--start or --write-scenario"
        )
    fitted = args.out or FITTED
    name = ""
    bars = bars_of(args)
    for k, origin in enumerate(ORIGINS, start=1):
        cal = load_calibration(
            args.spec, fit_until=origin.fit_until, score_until=origin.score_until
        )
        name = output_folder(fitted, cal.spec.name, source=str(args.spec)).name
        within = bars.within(f"origin {k} of {len(ORIGINS)} (fit to {origin.fit_until})")
        if _fit(args, cal, fitted / folder_name(name, origin), within) is None:
            return 130
    table = rolling_table(fitted, name)
    write_table(fitted / f"{name}-rolling.csv", table)
    whole = load_calibration(args.spec)
    reasons = whole.spec.misses
    text = (
        f"# Rolling-origin validation of '{name}'\n\n{rolling_markdown(table)}\n"
        f"## The later targets each origin misses\n\n"
        f"{misses_markdown(rolling_misses(fitted, name), reasons)}"
    )
    write_text(fitted / f"{name}-rolling.md", text)
    print(text)
    full = fitted / name
    if (full / "scores.json").exists():  # the full fit's report leads with this table
        rewrite_report(whole, full)
        print(f"updated {full}/report.md", file=sys.stderr)
    return 0


def write_fitted_scenario(cal: Calibration, values: list[float], path: Path, fitted: Path) -> None:
    """The best parameter set as a scenario at ``path`` extending the calibrated scenario."""
    from escalation.calibration.overlay import best_overlay
    from escalation.files import write_text

    fitted = Path(fitted).resolve()
    if fitted.is_relative_to(Path.cwd()):  # cite the report as a reader of the repository would
        fitted = fitted.relative_to(Path.cwd())

    text = best_overlay(
        cal,
        values,
        path.parent,
        name=path.stem,
        description=f"{cal.scenario.description.strip()} Incentives fitted to the record by "
        f"escalation calibrate (see {fitted}/report.md).",
    )
    write_text(path, text)
