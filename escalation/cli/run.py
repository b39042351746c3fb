"""``escalation run``: a scenario ensemble, its tables, tempo plot and manifest."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from escalation.cli.common import (
    add_force_option,
    add_format_option,
    add_run_options,
    add_scheduler_option,
    check_replicates,
    progress_bar,
    warn,
    writing_to,
)
from escalation.experiments.limits import MAX_REPLICATES

if TYPE_CHECKING:
    from escalation.scenario.schema import Scenario


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``escalation run`` to the command line."""
    p = subparsers.add_parser(
        "run",
        help="run a scenario ensemble and write tables and a tempo plot",
        description="Run REPLICATES runs of a scenario (seeds spawned from --seed) on all local "
        "cores, and write the runs, monthly and events tables (Parquet, or CSV with --format "
        "csv; each run's rows as it finishes), manifest.json and tempo.png to "
        "results/<scenario>/ (or --out).",
    )
    p.add_argument("scenario", type=Path, help="scenario YAML file")
    add_run_options(p)
    p.add_argument("--out", type=Path, help="output folder (default: results/<scenario name>)")
    p.add_argument("--daily", action="store_true", help="also write every run's daily state")
    add_format_option(p)
    add_scheduler_option(p)
    add_force_option(p, f"{MAX_REPLICATES:,} replicates")
    p.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from escalation.experiments.executors import default_jobs
    from escalation.files import output_folder
    from escalation.scenario.loading import load_scenario
    from escalation.scenario.superseded import superseded_settings

    check_replicates(args.replicates, args.force)
    scenario = load_scenario(args.scenario, args.overrides)
    warn(superseded_settings(scenario))
    out = args.out or output_folder(Path("results"), scenario.name, source=str(args.scenario))
    jobs = args.jobs or default_jobs()
    with writing_to(out):
        return _run(args, scenario, out, jobs)


def _run(args: argparse.Namespace, scenario: Scenario, out: Path, jobs: int) -> int:
    """The ensemble of ``cmd_run``, written to ``out`` (whose lock the caller holds)."""
    import matplotlib.pyplot as plt

    from escalation.experiments.manifest import manifest
    from escalation.experiments.stream import write_ensemble
    from escalation.files import write_json
    from escalation.viz.replot import tempo_figure
    from escalation.viz.tempo import record_overlay

    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    record = record_overlay(scenario)
    with progress_bar(args.replicates, scenario.name, args.no_progress) as bar:
        written = write_ensemble(
            scenario,
            args.replicates,
            args.seed,
            out,
            fmt=args.format,
            jobs=jobs,
            scheduler=args.scheduler,
            series=record.series() if record is not None else None,
            daily=args.daily,
            progress=lambda _: bar.update(1),
        )
    elapsed = time.perf_counter() - t0
    outputs = {
        **written.outputs,
        "manifest.json": "scenario files and hashes, resolved parameters, seeds, versions",
        "tempo.png": "monthly attacks by target class, ensemble median and 90% band",
    }
    write_json(
        out / "manifest.json",
        manifest(
            scenario,
            command=["escalation", *sys.argv[1:]],
            master_seed=args.seed,
            seeds=written.seeds,
            jobs=jobs,
            scheduler=args.scheduler,
            started=started,
            outputs=outputs,
            extra={
                "kind": "run",
                "format": args.format,
                "writing_seconds": round(written.writing_seconds, 2),
            },
        ),
    )
    plt.close(tempo_figure(out, scenario, record, out / "tempo.png"))
    runs = written.runs
    print(
        f"{scenario.name}: {args.replicates} runs in {elapsed:.1f} s on {jobs} "
        f"process{'es' if jobs > 1 else ''} ({written.writing_seconds:.1f} s of it writing "
        f"tables); wrote {', '.join(outputs)} to {out}/"
    )
    print(
        "median per run: "
        f"{runs['attacks'].median():.0f} attacks, {runs['attacks_on_us'].median():.0f} on US "
        f"targets, {runs['us_wounded'].median():.0f} US wounded, "
        f"{runs['us_strikes'].median():.0f} US strikes "
        f"({runs['retaliations'].median():.0f} ordered by the doctrine), "
        f"{runs['truce_days'].median():.0f} days under truce"
    )
    return 0
