"""``escalation replot`` remakes a results folder's figures from its tables and manifest: the
same lines as the command drew, and the ensemble's own numbers."""

from __future__ import annotations

from pathlib import Path

import matplotlib.figure
import numpy as np
import pytest

from escalation import run_ensemble, scenario_from_dict
from escalation.cli.main import main
from escalation.experiments.compare import PLOT_METRICS
from escalation.tables import read_table
from escalation.viz.tempo import SIM_COLOUR, bands, default_panels, record_overlay
from tests.conftest import write_severity_sweep


@pytest.fixture
def drawn(monkeypatch):
    """The figures saved while the test runs, by file name."""
    figures: dict[str, matplotlib.figure.Figure] = {}
    save = matplotlib.figure.Figure.savefig

    def keep(fig, path, *args, **kwargs):
        figures[Path(path).name] = fig
        return save(fig, path, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", keep)
    return figures


def lines(fig: matplotlib.figure.Figure) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Every line of every panel: its panel's title and its data."""
    out = []
    for ax in fig.axes:
        title = ax.texts[0].get_text() if ax.texts else ax.get_title()
        for line in ax.lines:
            x = np.asarray(line.get_xdata(), dtype=object).astype(str)
            out.append((title, x, np.asarray(line.get_ydata(), dtype=float)))
    return out


def assert_same_lines(a, b):
    assert len(a) == len(b) > 0
    for (ta, xa, ya), (tb, xb, yb) in zip(a, b, strict=True):
        assert ta == tb
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def replot_after_deleting(out: Path, drawn: dict, names: list[str], capsys) -> dict:
    """Delete the folder's figures, replot it, and return what was drawn before and now."""
    before = {name: lines(drawn[name]) for name in names}
    for name in names:
        (out / name).unlink()
    drawn.clear()
    assert main(["replot", str(out)]) == 0
    for name in names:
        assert (out / name).stat().st_size > 0, name
        assert_same_lines(lines(drawn[name]), before[name])
    assert "wrote " + ", ".join(names) in capsys.readouterr().out
    return before


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_run_folder_replots_its_tempo_figure(small, write_yaml, tmp_path, drawn, capsys, fmt):
    path = write_yaml("small.yaml", small)
    out = tmp_path / "run"
    argv = ["run", str(path), "-n", "4", "--seed", "2", "-j", "1", "--out", str(out)]
    assert main([*argv, "--no-progress", "--format", fmt]) == 0
    replot_after_deleting(out, drawn, ["tempo.png"], capsys)
    # each panel's median line is the median over the ensemble's runs of its series
    scenario = scenario_from_dict(small)
    overlay = record_overlay(scenario)
    ens = run_ensemble(scenario, 4, seed=2, jobs=1, series=overlay.series())
    series_of = {title: name for name, title in default_panels(ens.monthly, scenario, overlay)}
    medians = [
        (t, y) for ax in drawn["tempo.png"].axes for line in ax.lines
        if line.get_color() == SIM_COLOUR and ax.texts
        for t, y in [(ax.texts[0].get_text(), np.asarray(line.get_ydata(), dtype=float))]
    ]  # fmt: skip
    assert len(medians) == len(series_of) >= 3
    for title, y in medians:
        expected = bands(ens.monthly, series_of[title])["median"].to_numpy()
        np.testing.assert_array_equal(y, expected)
    assert read_table(out, "monthly")["run"].nunique() == 4


def test_a_comparison_folder_replots_its_figure(small, write_yaml, tmp_path, drawn, capsys):
    a = write_yaml("a.yaml", small)
    b = write_yaml("b.yaml", {**small, "name": "never", "us": {"doctrine": {"trigger": "never"}}})
    out = tmp_path / "cmp"
    argv = ["compare", str(a), str(b), "-n", "3", "-j", "1", "--by", "years", "--out", str(out)]
    assert main([*argv, "--no-progress"]) == 0
    replot_after_deleting(out, drawn, ["compare.png"], capsys)
    # the dots are the mean differences of the table, every plotted metric's, every period's
    dots = [line.get_ydata() for ax in drawn["compare.png"].axes for line in ax.lines
            if line.get_marker() == "o"]  # fmt: skip
    d = read_table(out, "differences")
    expected = d.loc[d["metric"].isin(PLOT_METRICS), "mean_difference"]
    np.testing.assert_array_equal(np.sort(np.concatenate(dots)), np.sort(expected.to_numpy()))


def test_a_sweep_folder_replots_its_figures_and_frontier(small, tmp_path, drawn, capsys):
    path = write_severity_sweep(tmp_path, small, end="2020-03-31", levels=3, replicates=2)
    out = tmp_path / "sweep"
    assert main(["sweep", str(path), "-j", "1", "--out", str(out), "--no-progress"]) == 0
    before = replot_after_deleting(out, drawn, ["response.png", "frontier.png"], capsys)
    runs = read_table(out, "runs")
    medians = runs.groupby("us.doctrine.severity")["attacks_on_us"].median().to_numpy()
    assert any(np.array_equal(y, medians) for _, _, y in before["response.png"])


def test_what_is_not_a_whole_results_folder_is_refused(small, write_yaml, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    path = write_yaml("small.yaml", small)
    out = tmp_path / "run"
    assert main(["run", str(path), "-n", "2", "-j", "1", "--out", str(out), "--no-progress"]) == 0
    (out / "monthly.parquet").unlink()
    cases = {
        tmp_path / "nowhere": "not found",
        tmp_path / "empty": "is not a results folder (no manifest.json or sweep.json)",
        path: "is not a folder",
        out: "has no monthly table (monthly.parquet or monthly.csv)",
    }
    for folder, message in cases.items():
        assert main(["replot", str(folder)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {folder}") and message in err, err
        assert "Traceback" not in err
