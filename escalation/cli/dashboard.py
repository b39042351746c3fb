"""``escalation dashboard``: serve the interactive page on this machine."""

from __future__ import annotations

import argparse
from pathlib import Path

from escalation.cli.common import port_int, positive_int, seed_int


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``escalation dashboard`` to the command line."""
    p = subparsers.add_parser(
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
