"""``escalation compare``: scenarios on common seeds, paired differences per period."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
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
    """Add ``escalation compare`` to the command line."""
    p = subparsers.add_parser(
        "compare",
        help="compare scenarios on common seeds, per period and overall",
        description="Run every scenario on the same seeds and report, per period (the record's "
        "phases when available, else years) and overall, the paired differences from the first "
        "scenario: attacks by target class, US casualties, US retaliations, days under truce, with "
        "intervals. Writes the metrics and differences tables (Parquet, or CSV with --format "
        "csv), compare.png and manifest.json.",
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
    add_format_option(p)
    add_scheduler_option(p)
    add_force_option(p, f"{MAX_REPLICATES:,} replicates")
    p.set_defaults(func=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    from escalation.files import output_folder
    from escalation.scenario.loading import load_scenario
    from escalation.scenario.superseded import superseded_settings

    check_replicates(args.replicates, args.force)
    scenarios = [load_scenario(p, args.overrides) for p in args.scenarios]
    for scenario in scenarios:
        warn(f"{scenario.name}: {text}" for text in superseded_settings(scenario))
    names = [s.name for s in scenarios]
    parent = Path("results") / "compare"
    for path, name in zip(args.scenarios, names, strict=True):
        output_folder(parent, name, source=str(path))  # each name is a plain folder name
    out = args.out or parent / "-vs-".join(names)
    with writing_to(out):
        return _compare(args, scenarios, out)


def _compare(args: argparse.Namespace, scenarios: list[Scenario], out: Path) -> int:
    """The comparison of ``cmd_compare``, written to ``out`` (whose lock the caller holds)."""
    from escalation.experiments.compare import compare
    from escalation.experiments.executors import default_jobs
    from escalation.experiments.folders import results_folder
    from escalation.experiments.manifest import scenario_record, versions
    from escalation.files import write_json
    from escalation.record.overlap import comparison_periods
    from escalation.scenario.loading import resolved_dict
    from escalation.tables import save_table
    from escalation.viz.replot import replot_compare

    names = [s.name for s in scenarios]
    periods, kind = comparison_periods(scenarios[0], args.by)
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
    written = [
        save_table(out, "metrics", result.metrics, args.format).name,
        save_table(out, "differences", result.differences, args.format).name,
        "manifest.json",
    ]
    write_json(
        out / "manifest.json",
        {
            "kind": "compare",
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
            "format": args.format,
            "outputs": [*written, "compare.png"],
            "parameters": [resolved_dict(s) for s in scenarios],
        },
    )
    written += [p.name for p in replot_compare(results_folder(out))]
    print(
        f"compared {', '.join(names)} on {args.replicates} common seeds ({kind}); "
        f"wrote {', '.join(written)} to {out}/"
    )
    overall = result.differences[result.differences["period"] == "overall"]
    for name in names[1:]:
        sub = overall[overall["scenario"] == name].set_index("metric")
        parts = []
        for metric in ("attacks_on_us", "us_wounded", "retaliations", "truce_days"):
            if metric in sub.index:
                r = sub.loc[metric]
                mean, lo, hi = r["mean_difference"], r["ci_low"], r["ci_high"]
                parts.append(f"{metric} {mean:+.0f} [{lo:+.0f}, {hi:+.0f}]")
        print(f"  {name} - {names[0]} (whole run, mean and 90% interval): " + "; ".join(parts))
    return 0
