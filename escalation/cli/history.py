"""``escalation history``: draw the record, and write its targets and reconstruction."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``escalation history`` to the command line."""
    p = subparsers.add_parser(
        "history",
        help="draw the historical record (targets, reconstruction, phases, events)",
        description="Draw the record of militia attack tempo as the sources report it: every "
        "reported figure over the window it covers, a monthly reconstruction from those "
        "aggregates with its band, the phases and the key events; and write the target table "
        "and the reconstruction as CSV. Add your own targets, series or an ACLED export.",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("results") / "history",
        help="output folder (default: results/history)",
    )
    p.add_argument(
        "--targets",
        type=Path,
        action="append",
        default=[],
        help="extra targets file (same format as escalation/record/data/targets.yaml)",
    )
    p.add_argument(
        "--series",
        type=Path,
        action="append",
        default=[],
        help="extra observed-series file (same format as escalation/record/data/series.yaml)",
    )
    p.add_argument("--acled", type=Path, help="an ACLED export (CSV) to draw as observed counts")
    p.add_argument(
        "--mapping",
        type=Path,
        help="mapping of ACLED events to series (default: the packaged mapping)",
    )
    p.add_argument(
        "--check-passages",
        action="store_true",
        help="check that every cited passage occurs verbatim in its seed document",
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=cmd_history)


def cmd_history(args: argparse.Namespace) -> int:
    from escalation.cli.common import bars_of
    from escalation.files import write_table
    from escalation.record.acled import load_acled
    from escalation.record.loading import load_record
    from escalation.record.passages import verify_passages
    from escalation.record.reconstruct import reconstruct
    from escalation.viz.history import write_history_png

    record = load_record(extra_targets=args.targets, extra_series=args.series)
    if args.check_passages:
        verify_passages(record)
    args.out.mkdir(parents=True, exist_ok=True)
    rec = reconstruct(record, bars=bars_of(args))
    write_table(args.out / "reconstruction.csv", rec.table)
    write_table(args.out / "targets.csv", target_table(record))
    written = ["targets.csv", "reconstruction.csv"]
    if args.acled is not None:
        data = load_acled(args.acled, args.mapping)
        write_table(args.out / "acled_monthly.csv", data.monthly())
        written.append("acled_monthly.csv")
    write_history_png(record, args.out / "history.png", reconstruction=rec)
    written.append("history.png")
    used = len(record.used_targets())
    unmet = len(rec.unmet)
    print(
        f"record: {len(record.targets)} targets ({used} used), {len(record.series)} series, "
        f"{len(record.main_phases)} phases; reconstruction meets "
        f"{'every target' if not unmet else f'all but {unmet} targets'}; wrote "
        f"{', '.join(written)} to {args.out}/"
    )
    return 0


def target_table(record) -> pd.DataFrame:
    """One row per target: id, series, window, statistic, value, use, source file and passage."""
    rows = []
    for t in record.targets:
        src = t.sources[0]
        rows.append(
            {
                "id": t.id,
                "series": t.series,
                "start": t.window.start,
                "end": t.window.end,
                "statistic": t.statistic,
                "value": t.value.describe(),
                "use": t.use,
                "source_file": src.file,
                "passage": src.passages[0],
            }
        )
    return pd.DataFrame(rows)
