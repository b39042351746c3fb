"""The ``escalation`` command line: a thin adapter over the Python API.

Commands: ``run`` (a scenario ensemble), ``compare``, ``sweep``, ``validate`` (scenario files),
``schema`` (every scenario key with its default and meaning), ``dashboard`` (the interactive
page), ``history`` (the record) and ``calibrate``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata as md
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from escalation.cli import record_commands
from escalation.cli.common import progress_bar
from escalation.errors import UserError

EPILOG = """\
examples:
  escalation run scenarios/baseline.yaml
  escalation run scenarios/baseline.yaml --replicates 20 --set us.doctrine.trigger=never
  escalation validate scenarios/*.yaml
  escalation schema us.doctrine
  escalation dashboard
"""


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def seed_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a seed of 0 or more, got {value}")
    return value


def port_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="escalation",
        description="Agent-based simulator of proxy escalation in Iraq (Iran, Iran-backed "
        "militias, US forces, the Iraqi government), 2019 onwards.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "run",
        help="run a scenario ensemble and write tables and a tempo plot",
        description="Run REPLICATES runs of a scenario (seeds spawned from --seed) on all local "
        "cores, and write runs.csv, monthly.csv, events.csv, manifest.json and tempo.png to "
        "results/<scenario>/ (or --out).",
    )
    p.add_argument("scenario", type=Path, help="scenario YAML file")
    add_run_options(p)
    p.add_argument("--out", type=Path, help="output folder (default: results/<scenario name>)")
    p.add_argument("--daily", action="store_true", help="also write every run's daily state")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "compare",
        help="compare scenarios on common seeds, per period and overall",
        description="Run every scenario on the same seeds and report, per period (the record's "
        "phases when available, else years) and overall, the paired differences from the first "
        "scenario: attacks by target class, US casualties, US strikes, days under truce, with "
        "intervals. Writes metrics.csv, differences.csv, compare.png and manifest.json.",
    )
    p.add_argument(
        "scenarios", type=Path, nargs="+", help="scenario files; the first is the reference"
    )
    add_run_options(p)
    p.add_argument(
        "--by",
        choices=("phases", "years"),
        default=None,
        help="periods to compare (default: phases if the record is installed)",
    )
    p.add_argument("--out", type=Path, help="output folder (default: results/compare/<names>)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser(
        "sweep",
        help="sweep parameters (grid, Latin hypercube, Sobol) and plot the responses",
        description="Run a sweep file, or a sweep given with --scenario and --param options. "
        "Each run is written to runs.csv as it finishes; running the same command again "
        "continues where it stopped. Writes points.csv, runs.csv, summary.csv (per point), "
        "sensitivity.csv (Sobol designs) and plots to results/sweeps/<name>/.",
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
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on the Dask cluster whose scheduler is at ADDRESS",
    )
    p.add_argument("--out", type=Path, help="output folder (default: results/sweeps/<name>)")
    p.add_argument("--restart", action="store_true", help="discard earlier results in --out")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser(
        "validate",
        help="check scenario files without running them",
        description="Validate scenario files: unknown keys, wrong types, out-of-range values, "
        "unknown actors, event dates outside the run, broken YAML. Exit code 2 if any fails.",
    )
    p.add_argument("files", type=Path, nargs="+", help="scenario YAML files")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "schema",
        help="list scenario keys with their defaults and meaning",
        description="Print the documented scenario schema, whole or for one section "
        "(e.g. 'us.doctrine', 'militias', 'events').",
    )
    p.add_argument("section", nargs="?", default="", help="dotted section path")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser(
        "dashboard",
        help="serve an interactive page: sliders, ensemble against the record",
        description="Serve a page on this machine: choose a scenario, set the main deterrence "
        "and incentive parameters, run an ensemble and see its monthly tempo against the "
        "historical record, the event log of one run and the paired difference from the "
        "unmodified scenario. Ctrl-C stops it.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port", type=port_int, default=8521, help="port (default 8521; 0 picks a free one)"
    )
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument(
        "--scenarios",
        type=Path,
        default=Path("scenarios"),
        help="folder of scenario files to offer (default: scenarios)",
    )
    p.add_argument(
        "-n", "--replicates", type=positive_int, default=20,
        help="runs per ensemble on first load (default 20; the page can change it)",
    )  # fmt: skip
    p.add_argument("--seed", type=seed_int, default=0, help="master seed on first load (default 0)")
    p.add_argument("-j", "--jobs", type=positive_int, help="worker processes (default: all cores)")
    p.set_defaults(func=cmd_dashboard)

    record_commands.register(sub)
    return parser


def add_run_options(p: argparse.ArgumentParser, replicates: int | None = 100) -> None:
    """Options shared by commands that run the model: replicates, seed, --set, jobs, progress."""
    if replicates is None:
        p.add_argument("-n", "--replicates", type=positive_int, help="runs per point")
        p.add_argument("--seed", type=seed_int, help="master seed of the replicates")
    else:
        p.add_argument(
            "-n", "--replicates", type=positive_int, default=replicates,
            help=f"runs (default {replicates})",
        )  # fmt: skip
        p.add_argument("--seed", type=seed_int, default=0, help="master seed (default 0)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario value, e.g. --set us.doctrine.delay_days=5 (repeatable)",
    )
    p.add_argument(
        "-j",
        "--jobs",
        type=positive_int,
        default=None,
        help="worker processes (default: all cores)",
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _version() -> str:
    try:
        return f"escalation {md.version('proxy-escalation')}"
    except md.PackageNotFoundError:  # pragma: no cover
        return "escalation (not installed)"


def overlay_for(scenario):
    """The record overlay for this scenario, if its dates overlap the record."""
    from escalation.viz.tempo import record_overlay

    return record_overlay(scenario)


def cmd_run(args: argparse.Namespace) -> int:
    from escalation.experiments.executors import default_jobs
    from escalation.experiments.output import manifest
    from escalation.experiments.runner import run_ensemble
    from escalation.files import write_json, write_table
    from escalation.scenario.loading import load_scenario
    from escalation.viz.tempo import plot_tempo

    scenario = load_scenario(args.scenario, args.overrides)
    out = args.out or Path("results") / scenario.name
    jobs = args.jobs or default_jobs()
    _prepare_out(out)
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    record = overlay_for(scenario)
    with progress_bar(args.replicates, scenario.name, args.no_progress) as bar:
        ens = run_ensemble(
            scenario,
            args.replicates,
            args.seed,
            jobs=jobs,
            scheduler=args.scheduler,
            series=record.series() if record is not None else None,
            daily=args.daily,
            progress=lambda _: bar.update(1),
        )
    elapsed = time.perf_counter() - t0
    outputs = {
        "runs.csv": "one row per run: seed and totals",
        "monthly.csv": "one row per run, month and observed series",
        "events.csv": "every run's event log",
        "manifest.json": "scenario files and hashes, resolved parameters, seeds, versions",
        "tempo.png": "monthly attacks by target class, ensemble median and 90% band",
    }
    write_table(out / "runs.csv", ens.runs)
    monthly = ens.monthly
    write_table(out / "monthly.csv", monthly)
    events = ens.events
    write_table(out / "events.csv", events)
    if args.daily:
        frames = [r.daily.assign(run=r.run) for r in ens.results if r.daily is not None]
        import pandas as pd

        write_table(out / "daily.csv", pd.concat(frames, ignore_index=True))
        outputs["daily.csv"] = "every run's daily state"
    fig = plot_tempo(monthly, scenario, events=events, overlay=record, path=out / "tempo.png")
    import matplotlib.pyplot as plt

    plt.close(fig)
    write_json(
        out / "manifest.json",
        manifest(
            scenario,
            command=["escalation", *sys.argv[1:]],
            master_seed=args.seed,
            seeds=ens.seeds,
            jobs=jobs,
            started=started,
            outputs=outputs,
        ),
    )
    runs = ens.runs
    print(
        f"{scenario.name}: {args.replicates} runs in {elapsed:.1f} s on {jobs} "
        f"process{'es' if jobs > 1 else ''}; wrote {', '.join(outputs)} to {out}/"
    )
    print(
        "median per run: "
        f"{runs['attacks'].median():.0f} attacks, {runs['attacks_on_us'].median():.0f} on US "
        f"targets, {runs['us_wounded'].median():.0f} US wounded, "
        f"{runs['retaliations'].median():.0f} US strikes, {runs['truce_days'].median():.0f} days "
        "under truce"
    )
    return 0


def _prepare_out(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{out}: cannot create the output folder ({exc.strerror})") from None
    if not out.is_dir():
        raise UserError(f"{out}: is not a folder; expected a folder for the results")


def periods_for(scenario, by: str | None):
    """The record's phases (when asked for or available), else calendar years."""
    from escalation.record.overlap import comparison_periods

    return comparison_periods(scenario, by)


def cmd_compare(args: argparse.Namespace) -> int:
    import matplotlib.pyplot as plt

    from escalation.experiments.compare import compare, plot_comparison
    from escalation.experiments.executors import default_jobs
    from escalation.experiments.output import scenario_record, versions
    from escalation.files import write_json, write_table
    from escalation.scenario.loading import load_scenario

    scenarios = [load_scenario(p, args.overrides) for p in args.scenarios]
    names = [s.name for s in scenarios]
    out = args.out or Path("results") / "compare" / "-vs-".join(names)
    _prepare_out(out)
    periods, kind = periods_for(scenarios[0], args.by)
    started = dt.datetime.now(dt.UTC)
    total = args.replicates * len(scenarios)
    with progress_bar(total, "compare", args.no_progress) as bar:
        result = compare(
            scenarios,
            args.replicates,
            args.seed,
            periods=periods,
            jobs=args.jobs,
            scheduler=args.scheduler,
            progress=lambda _: bar.update(1),
        )
    write_table(out / "metrics.csv", result.metrics)
    write_table(out / "differences.csv", result.differences)
    fig = plot_comparison(result, path=out / "compare.png")
    plt.close(fig)
    write_json(
        out / "manifest.json",
        {
            "scenarios": [scenario_record(s) for s in scenarios],
            "command": ["escalation", *sys.argv[1:]],
            "master_seed": args.seed,
            "replicates": args.replicates,
            "seeds": result.seeds,
            "periods": {"kind": kind, "list": [p.__dict__ for p in periods]},
            "jobs": args.jobs or default_jobs(),
            "scheduler": args.scheduler,
            "started": started.isoformat(timespec="seconds"),
            "versions": versions(),
        },
    )
    overall = result.differences[result.differences["period"] == "overall"]
    print(
        f"compared {', '.join(names)} on {args.replicates} common seeds ({kind}); "
        f"wrote metrics.csv, differences.csv, compare.png, manifest.json to {out}/"
    )
    for name in names[1:]:
        sub = overall[overall["scenario"] == name].set_index("metric")
        parts = []
        for metric in ("attacks_on_us", "us_wounded", "us_strikes", "truce_days"):
            if metric in sub.index:
                r = sub.loc[metric]
                mean, lo, hi = r["mean_difference"], r["ci_low"], r["ci_high"]
                parts.append(f"{metric} {mean:+.0f} [{lo:+.0f}, {hi:+.0f}]")
        print(f"  {name} - {names[0]} (whole run, mean and 90% interval): " + "; ".join(parts))
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from escalation.experiments.sweep import (
        parse_param_option,
        read_sweep_file,
        run_sweep,
        sweep_from_dict,
    )
    from escalation.viz.sweep import plot_sweep

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
    sweep = sweep_from_dict(
        data, base_dir=base_dir, label=label, text=text, overrides=args.overrides
    )
    out = args.out or Path("results") / "sweeps" / sweep.spec.name
    _prepare_out(out)
    bar = progress_bar(sweep.total_runs, sweep.spec.name, args.no_progress)

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
        )
    except KeyboardInterrupt:
        bar.close()
        print(
            f"interrupted: finished runs are in {out}/runs.csv; run the same command to continue",
            file=sys.stderr,
        )
        return 130
    bar.close()
    plots = plot_sweep(result, out)
    print(
        f"{sweep.spec.name}: {len(sweep.points)} points x {sweep.spec.replicates} replicates = "
        f"{sweep.total_runs} runs ({time.perf_counter() - t0:.1f} s); wrote points.csv, "
        f"runs.csv, summary.csv"
        + (", sensitivity.csv" if result.sensitivity is not None else "")
        + f", {', '.join(p.name for p in plots)} to {out}/"
    )
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from escalation.scenario.loading import ScenarioError, load_scenario

    failed = 0
    for path in args.files:
        try:
            sc = load_scenario(path, args.overrides)
        except ScenarioError as exc:
            failed += 1
            print(f"error: {exc}", file=sys.stderr)
            continue
        print(
            f"ok: {path} ({sc.name}: {sc.start} to {sc.end}, {len(sc.militias)} militias, "
            f"{len(sc.events)} events)"
        )
    return 2 if failed else 0


def cmd_schema(args: argparse.Namespace) -> int:
    from escalation.scenario.reference import describe

    print(describe(args.section, markdown=args.markdown))
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    from escalation.dashboard.server import serve

    return serve(
        args.host,
        args.port,
        scenarios=args.scenarios,
        replicates=args.replicates,
        seed=args.seed,
        jobs=args.jobs,
        open_browser=not args.no_browser,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``escalation`` command."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a program that stopped reading (e.g. head)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
