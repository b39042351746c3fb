"""``escalation validate`` (scenario files without running them) and ``escalation schema``
(every scenario key with its default and meaning)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``escalation validate`` and ``escalation schema`` to the command line."""
    p = subparsers.add_parser(
        "validate",
        help="check scenario files without running them",
        description="Validate scenario files: unknown keys, wrong types, out-of-range values, "
        "unknown actors, event dates outside the run, broken YAML. Exit code 2 if any fails.",
    )
    p.add_argument("files", type=Path, nargs="+", help="scenario YAML files")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.set_defaults(func=cmd_validate)

    p = subparsers.add_parser(
        "schema",
        help="list scenario keys with their defaults and meaning",
        description="Print the documented scenario schema, whole or for one section "
        "(e.g. 'us.doctrine', 'militias', 'events').",
    )
    p.add_argument("section", nargs="?", default="", help="dotted section path")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.set_defaults(func=cmd_schema)


def cmd_validate(args: argparse.Namespace) -> int:
    from escalation.errors import UserError
    from escalation.record.loading import load_record, replayed_targets
    from escalation.scenario.loading import load_scenario

    failed = 0
    record = None
    for path in args.files:
        try:
            sc = load_scenario(path, args.overrides)
            if any(ev.restates for _, ev in sc.sorted_events()):
                record = record or load_record()
                replayed_targets(sc, record, path)
        except UserError as exc:
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
