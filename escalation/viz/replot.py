"""Every figure of a results folder remade from the folder's tables and manifest alone.

``escalation run``, ``compare`` and ``sweep`` draw their figures through these same functions
from the tables they have just written, so a figure remade later (after a change of style, or
from a folder copied from another machine) is the figure the command drew. A run's tempo figure
reads only the series it draws, so it stays quick and small however many runs the folder holds.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from escalation.errors import UserError
from escalation.experiments.folders import (
    ResultsFolder,
    load_comparison,
    load_frontier,
    load_sweep_result,
    manifest_scenario,
    results_folder,
)
from escalation.scenario import schema as C
from escalation.tables import read_table
from escalation.viz.compare import plot_comparison
from escalation.viz.sweep import frontier_figure, plot_sweep
from escalation.viz.tempo import Overlay, plot_tempo, record_overlay

TRUCE_ACTIONS = ("truce_declare", "truce_end")


def tempo_figure(
    folder: Path, scenario: C.Scenario, overlay: Overlay | None, path: Path
) -> plt.Figure:
    """The tempo figure of the run folder ``folder`` (:func:`plot_tempo`), saved to ``path``:
    reads the monthly rows of the series it may draw and, when there are no phases to shade,
    the runs' truce actions."""
    candidates = [name for name, _ in overlay.panels()] if overlay is not None else []
    candidates += [f"attacks_{tid}" for tid in scenario.targets] + ["attacks_all"]
    monthly = read_table(folder, "monthly", where={"series": candidates})
    if monthly.empty:
        raise UserError(
            f"{folder}: its monthly table has no rows of the series the tempo figure draws; "
            f"expected some of {', '.join(dict.fromkeys(candidates))}"
        )
    events = None
    if overlay is None or not overlay.phases():
        events = read_table(
            folder, "events", columns=["run", "day", "action"], where={"action": TRUCE_ACTIONS}
        )
    return plot_tempo(monthly, scenario, events=events, overlay=overlay, path=path)


def replot_run(folder: ResultsFolder) -> list[Path]:
    """``tempo.png`` of a run folder, from its monthly and events tables and the scenario its
    manifest resolved (with the record overlaid where they overlap)."""
    scenario = manifest_scenario(folder)
    path = folder.path / "tempo.png"
    plt.close(tempo_figure(folder.path, scenario, record_overlay(scenario), path))
    return [path]


def replot_compare(folder: ResultsFolder) -> list[Path]:
    """``compare.png`` of a comparison folder, from its tables and manifest."""
    path = folder.path / "compare.png"
    plt.close(plot_comparison(load_comparison(folder), path=path))
    return [path]


def replot_sweep(folder: ResultsFolder) -> list[Path]:
    """The plots of a sweep folder (response curves, heatmaps, sensitivity bars, and the
    deterrence frontier when the folder has its reference runs), from its tables."""
    result = load_sweep_result(folder)
    paths = plot_sweep(result, folder.path)
    frontier = load_frontier(folder, result)
    if frontier is not None:
        paths.append(
            frontier_figure(frontier, result.sweep.spec.name, folder.path / "frontier.png")
        )
    return paths


def replot(path: Path) -> list[Path]:
    """Remake every figure of the results folder at ``path``; returns the files written. A
    folder that is not a results folder, or lacks a table a figure needs, is a
    :class:`~escalation.errors.UserError`."""
    folder = results_folder(path)
    draw = {"run": replot_run, "compare": replot_compare, "sweep": replot_sweep}[folder.kind]
    return draw(folder)
