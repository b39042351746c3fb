"""``escalation discover``: PRIM on a sweep's runs for a condition on its outcomes."""

from __future__ import annotations

import argparse
from pathlib import Path

from escalation.cli.common import writing_to


def _number(kind: type, low: float, high: float, what: str):
    """An argparse type: a number of ``kind`` above ``low`` (or from it, for whole numbers) and
    at most ``high``."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        inside = (low <= value if kind is int else low < value) and value <= high
        if not inside:
            bounds = f"of {low:g} or more" if kind is int else f"above {low:g} and at most {high:g}"
            raise argparse.ArgumentTypeError(f"expected {what} {bounds}, got {text}")
        return value

    return parse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``escalation discover`` to the command line."""
    p = subparsers.add_parser(
        "discover",
        help="find the parameter ranges of a sweep that give the outcomes you ask for (PRIM)",
        description="Scenario discovery with PRIM (the Patient Rule Induction Method): mark the "
        "points of a sweep (each the mean of its replicates; --per run for single runs) that "
        "meet CONDITION, and peel the swept parameters' ranges down to a box that holds many of "
        "them (coverage) and few others (density). CONDITION compares outcomes of the sweep's "
        "run table (runs.parquet or runs.csv) with numbers: < <= > >= == !=, joined by and, "
        "or, not and parentheses; an outcome may be multiplied or divided by a number "
        "(attacks_on_us / 55 is a monthly rate over 55 months). Writes boxes.csv (every box "
        "of the peeling trajectory, its limits and quasi-p values), trajectory.csv, "
        "discover.json and discover.png to the sweep's discover/ folder. The box shown is the "
        "last whose density reaches --threshold, or the one --box names.",
        epilog="examples:\n"
        '  escalation discover results/sweeps/deterrence "attacks_on_us / 55 < 12.5"\n'
        "  escalation discover scenarios/sweeps/deterrence.yaml "
        '"us_wounded < 150 and spiral < 0.2" --box 9\n'
        '  escalation discover results/sweeps/d "spiral == 0" --per run --threshold 0.9',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("sweep", type=Path, help="a sweep's results folder, or its sweep file")
    p.add_argument("condition", help='the outcomes of interest, e.g. "attacks_on_us < 1000"')
    p.add_argument("--per", choices=("point", "run"), default="point", help="default: point")
    p.add_argument(
        "--threshold", type=_number(float, 0, 1, "a density"), default=0.8,
        help="density the chosen box must reach (default 0.8)",
    )  # fmt: skip
    p.add_argument(
        "--box", type=_number(int, 0, float("inf"), "a box number"),
        help="choose this box of the trajectory instead",
    )  # fmt: skip
    p.add_argument(
        "--peel-alpha", type=_number(float, 0, 0.5, "a share"), default=0.05,
        help="share of the box one peel removes (default 0.05)",
    )  # fmt: skip
    p.add_argument(
        "--paste-alpha", type=_number(float, 0, 0.5, "a share"), default=0.05,
        help="share one paste adds back (default 0.05)",
    )  # fmt: skip
    p.add_argument(
        "--mass-min", type=_number(float, 0, 1, "a share"), default=0.05,
        help="smallest share of the cases a box may hold (default 0.05)",
    )  # fmt: skip
    p.add_argument("--out", type=Path, help="output folder (default: <sweep results>/discover)")
    p.set_defaults(func=cmd_discover)


def results_folder(path: Path) -> Path:
    """The results folder of ``path``: itself if it is a folder, else that of the sweep file
    it names (``results/sweeps/<name>``, as ``escalation sweep`` writes it)."""
    from escalation.experiments.sweep import read_sweep_file
    from escalation.files import output_folder

    if path.is_dir() or not path.exists():
        return path
    data, _ = read_sweep_file(path)
    return output_folder(Path("results") / "sweeps", data.get("name"), source=str(path))


def cmd_discover(args: argparse.Namespace) -> int:
    from escalation.experiments.discover import discover, write_discovery
    from escalation.experiments.prim import Settings
    from escalation.viz.discover import discovery_figure

    folder = results_folder(args.sweep)
    settings = Settings(args.peel_alpha, args.paste_alpha, args.mass_min, args.threshold)
    found = discover(folder, args.condition, per=args.per, settings=settings, box=args.box)
    out = args.out or folder / "discover"
    with writing_to(out):
        discovery_figure(found, out / "discover.png")
        written = write_discovery(found, out, extra=["discover.png"])
    print("\n".join(found.summary()))
    if args.box is None and not found.prim.reaches_threshold:
        print(
            f"no box reaches density {args.threshold:g}: this is the densest "
            "(see trajectory.csv, and --box to choose another)"
        )
    names = ", ".join(p.name for p in [*written, out / "discover.png"])
    print(f"wrote {names} to {out}/")
    return 0
