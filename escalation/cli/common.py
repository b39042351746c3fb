"""Helpers the commands share: argument types, the run options, the progress bar, the output
folder."""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata as md
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from escalation.errors import UserError
from escalation.experiments.limits import MAX_REPLICATES
from escalation.progress import Bars


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


_SCHEDULER = re.compile(
    r"^(?:(?:tcp|tls|ucx|ws|wss)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+):(?P<port>\d{1,5})$"
)


def scheduler_address(text: str) -> str:
    """A Dask scheduler address, ``[tcp://]host:port``: checked here, since Dask answers a
    malformed one with a bare ValueError."""
    match = _SCHEDULER.match(text.strip())
    if match is None or int(match["port"]) > 65535:
        raise argparse.ArgumentTypeError(
            f"expected the address of a Dask scheduler, like tcp://127.0.0.1:8786, got {text!r}"
        )
    return text.strip()


def add_scheduler_option(p: argparse.ArgumentParser, help: str = "run on a Dask cluster") -> None:
    """``--scheduler ADDRESS``: run on the Dask cluster whose scheduler is there."""
    p.add_argument("--scheduler", metavar="ADDRESS", type=scheduler_address, help=help)


def add_force_option(p: argparse.ArgumentParser, what: str) -> None:
    """``--force``: lift the documented cap on the size of the work (``what``)."""
    p.add_argument(
        "--force", action="store_true", help=f"run even past the cap on {what} (see --help)"
    )


def add_format_option(p: argparse.ArgumentParser) -> None:
    """``--format parquet|csv``: the format of the result tables."""
    p.add_argument(
        "--format",
        choices=("parquet", "csv"),
        default="parquet",
        help="format of the tables (default parquet: small and quick to read; csv for tools "
        "that read nothing else)",
    )


def check_replicates(replicates: int, force: bool) -> None:
    """Refuse more replicates than :data:`MAX_REPLICATES` unless ``force``: a mistyped count
    would otherwise run for days before anything is written."""
    if replicates > MAX_REPLICATES and not force:
        raise UserError(
            f"--replicates: {replicates:,} runs; expected at most {MAX_REPLICATES:,} replicates "
            "(pass --force to run more anyway)"
        )


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


def version() -> str:
    try:
        return f"escalation {md.version('proxy-escalation')}"
    except md.PackageNotFoundError:  # pragma: no cover
        return "escalation (not installed)"


def prepare_out(out: Path) -> None:
    """Create the output folder, or say why it cannot be."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{out}: cannot create the output folder ({exc.strerror})") from None
    if not out.is_dir():
        raise UserError(f"{out}: is not a folder; expected a folder for the results")


@contextlib.contextmanager
def writing_to(out: Path) -> Iterator[None]:
    """Create the output folder (or say why it cannot be) and hold its lock while the block
    writes it, so a second command on the same folder stops with an error naming this one."""
    from escalation.files import folder_lock

    prepare_out(out)
    with folder_lock(out):
        yield


def bars_of(args: argparse.Namespace) -> Bars:
    """The progress bars of a command: on stderr when it is a terminal, none with
    ``--no-progress``."""
    return Bars(enabled=not getattr(args, "no_progress", False))


def progress_bar(total: int | None, desc: str, disable: bool):
    """A bar of runs labelled ``desc``, as every stage draws them (:class:`Bars`); none if
    ``disable``."""
    return Bars(enabled=not disable).bar(desc, total)


def warn(messages: Iterable[str]) -> None:
    """Print each message to stderr as a warning (the command goes on)."""
    for text in messages:
        print(f"warning: {text}", file=sys.stderr)
