"""The ``escalation`` command line: a thin adapter over the Python API.

Commands: ``run`` (a scenario ensemble), ``validate`` (scenario files), ``schema`` (every
scenario key with its default and meaning). Packages can add commands through the
``escalation.plugins`` entry-point group: each plugin module has ``register(subparsers)`` and may
provide ``overlay(scenario)`` to draw observed data on simulated tempo.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata as md
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sim.errors import UserError

EPILOG = """\
examples:
  escalation run scenarios/baseline.yaml
  escalation run scenarios/baseline.yaml --replicates 20 --set us.doctrine.trigger=never
  escalation validate scenarios/*.yaml
  escalation schema us.doctrine
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


def plugins() -> list[Any]:
    """Modules registered under the ``escalation.plugins`` entry-point group."""
    found = []
    for entry in sorted(md.entry_points(group="escalation.plugins"), key=lambda e: e.name):
        found.append(entry.load())
    return found


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
    p.set_defaults(func=cmd_run)

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

    for plugin in plugins():
        plugin.register(sub)
    return parser


def add_run_options(p: argparse.ArgumentParser) -> None:
    """Options shared by commands that run ensembles."""
    p.add_argument("-n", "--replicates", type=positive_int, default=100, help="runs (default 100)")
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


def progress_bar(total: int, desc: str, disable: bool):
    """A progress bar on stderr (imported late: keeps ``escalation --help`` fast)."""
    from tqdm import std
    from tqdm.auto import tqdm

    std.tqdm.monitor_interval = 0  # no monitor thread: worker processes are forked
    return tqdm(total=total, desc=desc, unit="run", disable=disable, dynamic_ncols=True)


def overlay_for(scenario):
    """The first plugin overlay that can draw observed data for this scenario, if any."""
    for plugin in plugins():
        make = getattr(plugin, "overlay", None)
        if make is not None:
            drawer = make(scenario)
            if drawer is not None:
                return drawer
    return None


def cmd_run(args: argparse.Namespace) -> int:
    from sim.output import manifest, write_json, write_table
    from sim.plots import plot_tempo
    from sim.runner import default_jobs, run_ensemble
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario, args.overrides)
    out = args.out or Path("results") / scenario.name
    jobs = args.jobs or default_jobs()
    _prepare_out(out)
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    with progress_bar(args.replicates, scenario.name, args.no_progress) as bar:
        ens = run_ensemble(
            scenario,
            args.replicates,
            args.seed,
            jobs=jobs,
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
    write_table(ens.runs, out / "runs.csv")
    monthly = ens.monthly
    write_table(monthly, out / "monthly.csv")
    events = ens.events
    write_table(events, out / "events.csv")
    if args.daily:
        frames = [r.daily.assign(run=r.run) for r in ens.results if r.daily is not None]
        import pandas as pd

        write_table(pd.concat(frames, ignore_index=True), out / "daily.csv")
        outputs["daily.csv"] = "every run's daily state"
    fig = plot_tempo(
        monthly, scenario, events=events, overlay=overlay_for(scenario), path=out / "tempo.png"
    )
    import matplotlib.pyplot as plt

    plt.close(fig)
    write_json(
        manifest(
            scenario,
            command=["escalation", *sys.argv[1:]],
            master_seed=args.seed,
            seeds=ens.seeds,
            jobs=jobs,
            started=started,
            outputs=outputs,
        ),
        out / "manifest.json",
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


def cmd_validate(args: argparse.Namespace) -> int:
    from sim.scenario import ScenarioError, load_scenario

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
    from sim.schema_doc import describe

    print(describe(args.section, markdown=args.markdown))
    return 0


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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
