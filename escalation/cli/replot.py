"""``escalation replot``: every figure of a results folder, remade from its tables and
manifest."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``escalation replot`` to the command line."""
    p = subparsers.add_parser(
        "replot",
        help="remake the figures of a results folder from its tables and manifest",
        description="Remake every figure of a folder written by escalation run (tempo.png), "
        "compare (compare.png) or sweep (response, heatmap, sensitivity and frontier plots) "
        "from the folder's tables (Parquet or CSV) and manifest alone, without running "
        "anything. Exit code 2 for a folder that is not a results folder or lacks a table.",
    )
    p.add_argument("folder", type=Path, help="results folder, e.g. results/baseline")
    p.set_defaults(func=cmd_replot)


def cmd_replot(args: argparse.Namespace) -> int:
    from escalation.errors import UserError
    from escalation.experiments.folders import results_folder
    from escalation.files import folder_lock
    from escalation.viz.replot import replot

    results_folder(args.folder)  # a folder that is none is refused before it is locked
    try:
        with folder_lock(args.folder):
            paths = replot(args.folder)
    except OSError as exc:
        raise UserError(
            f"{args.folder}: cannot write its figures ({exc.strerror or exc}); expected a "
            "results folder this user can write to"
        ) from None
    print(f"wrote {', '.join(p.name for p in paths)} to {args.folder}/")
    return 0
