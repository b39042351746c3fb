"""The ``escalation`` command line: a thin adapter over the Python API.

Commands: ``run`` (a scenario ensemble), ``compare``, ``sweep``, ``discover`` (which swept
ranges give the outcomes asked for), ``replot`` (the figures of a results folder, from its
tables), ``validate`` (scenario files), ``schema`` (every scenario key with its default and
meaning), ``dashboard`` (the interactive page), ``history`` (the record), ``calibrate`` and
``screen`` (which fitted values matter).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from escalation.cli import (
    calibrate,
    compare,
    dashboard,
    discover,
    history,
    replot,
    run,
    screen,
    sweep,
    validate,
)
from escalation.cli.common import version
from escalation.errors import UserError

EPILOG = """\
examples:
  escalation run scenarios/baseline.yaml
  escalation run scenarios/baseline.yaml --replicates 20 --set us.doctrine.trigger=never
  escalation replot results/baseline
  escalation discover results/sweeps/deterrence "attacks_on_us / 55 < 12.5"
  escalation validate scenarios/*.yaml
  escalation schema us.doctrine
  escalation dashboard
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="escalation",
        description="Agent-based simulator of proxy escalation in Iraq (Iran, Iran-backed "
        "militias, US forces, the Iraqi government), 2019 onwards.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    commands = (
        run,
        compare,
        sweep,
        discover,
        replot,
        validate,
        dashboard,
        history,
        calibrate,
        screen,
    )
    for command in commands:
        command.register(sub)
    return parser


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
