"""escalation discover: PRIM on a sweep's runs for a condition on its outcomes, from the Python
API and the command line, written beside the sweep's results."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from escalation.cli.main import main
from escalation.errors import UserError
from escalation.experiments.discover import discover, read_sweep_runs
from escalation.files import write_json, write_table
from escalation.tables import save_table
from escalation.viz.discover import plot_box, plot_tradeoff
from tests.conftest import write_severity_sweep

PARAMETERS = ["us.doctrine.trigger", "us.doctrine.severity", "us.posture.force_protection"]


def _sweep_folder(folder: Path, points: int = 120, replicates: int = 3, fmt: str = "csv") -> Path:
    """A sweep's results as escalation sweep writes them (its runs table in format ``fmt``),
    made up so that attacks are low where severity > 2 and the trigger is every_attack, and
    spirals follow the trigger alone."""
    rng = np.random.default_rng(0)
    trigger = rng.choice(["never", "casualties", "every_attack"], points)
    severity = rng.uniform(0.5, 3.0, points)
    protection = rng.uniform(0.1, 0.8, points)
    rows = []
    for p in range(points):
        low = trigger[p] == "every_attack" and severity[p] > 2.0
        for r in range(replicates):
            rows.append(
                {
                    "point": p, "replicate": r, "seed": 100 + r,
                    "us.doctrine.trigger": trigger[p], "us.doctrine.severity": severity[p],
                    "us.posture.force_protection": protection[p],
                    "attacks_on_us": (800 if low else 1100) + rng.normal(0, 20),
                    "spiral": int(trigger[p] != "never" and r > 0),
                    "final_us_mission": "advisory",
                }
            )  # fmt: skip
    folder.mkdir(parents=True)
    if fmt == "csv":  # as the sweep's journal is written
        write_table(folder / "runs.csv", pd.DataFrame(rows))
    else:  # as a finished sweep writes it
        save_table(folder, "runs", pd.DataFrame(rows), fmt)
    spec = {
        "us.doctrine.trigger": {"values": ["never", "casualties", "every_attack"]},
        "us.doctrine.severity": {"low": 0.5, "high": 3.0, "values": None},
        "us.posture.force_protection": {"low": 0.1, "high": 0.8, "values": None},
    }
    write_json(folder / "sweep.json", {"name": "made", "spec": {"parameters": spec}})
    return folder


def test_the_box_names_the_ranges_that_give_the_condition(tmp_path):
    found = discover(_sweep_folder(tmp_path / "s"), "attacks_on_us < 950")
    box = found.box
    assert box.limits.values["us.doctrine.trigger"] == frozenset({"every_attack"})
    low, high = box.limits.ranges["us.doctrine.severity"]
    assert 1.9 <= low <= 2.2 and high > 2.9
    assert box.density == 1.0 and box.coverage == 1.0
    assert "us.posture.force_protection" not in box.restricted
    assert len(found.cases) == 120 and found.cases["replicates"].eq(3).all()
    lines = found.summary()
    assert lines[0].startswith(f"box {found.prim.chosen} of ") and "coverage 1.00" in lines[0]
    assert any("us.doctrine.trigger in {every_attack}" in line for line in lines)


def test_a_sweep_finished_in_parquet_gives_the_same_discovery_as_in_csv(tmp_path):
    csv = _sweep_folder(tmp_path / "csv")
    parquet = _sweep_folder(tmp_path / "parquet", fmt="parquet")
    assert not (parquet / "runs.csv").exists() and (parquet / "runs.parquet").exists()
    runs = read_sweep_runs(parquet)
    assert runs.outcomes == ["attacks_on_us", "spiral"]
    pd.testing.assert_frame_equal(runs.runs, read_sweep_runs(csv).runs)
    by_csv, by_parquet = (discover(f, "attacks_on_us < 950") for f in (csv, parquet))
    assert by_parquet.box.limits == by_csv.box.limits
    assert by_parquet.summary() == by_csv.summary()
    pd.testing.assert_frame_equal(by_parquet.trajectory(), by_csv.trajectory())


def test_a_folder_without_a_runs_table_is_named(tmp_path, capsys):
    folder = _sweep_folder(tmp_path / "s")
    (folder / "runs.csv").unlink()
    assert main(["discover", str(folder), "spiral < 1"]) == 2
    assert "has no runs table (runs.parquet or runs.csv)" in capsys.readouterr().err


def test_per_point_is_the_replicates_mean_and_per_run_each_run(tmp_path):
    folder = _sweep_folder(tmp_path / "s")
    # a point spirals in 2 of its 3 runs under any trigger but never
    by_point = discover(folder, "spiral < 0.5")
    assert by_point.box.limits.values["us.doctrine.trigger"] == frozenset({"never"})
    assert by_point.cases["spiral"].isin([0.0, 2 / 3]).all()
    by_run = discover(folder, "spiral < 0.5", per="run")
    assert len(by_run.cases) == 360 and by_run.box.coverage < 1  # replicate 0 never spirals


def test_tables_hold_every_box_and_the_choice(tmp_path):
    found = discover(_sweep_folder(tmp_path / "s"), "attacks_on_us < 950", box=2)
    trajectory, boxes = found.trajectory(), found.boxes()
    assert len(trajectory) == len(found.prim.trajectory)
    assert trajectory["chosen"].tolist() == [i == 2 for i in range(len(trajectory))]
    assert len(boxes) == len(trajectory) * len(PARAMETERS)
    chosen = boxes[boxes["chosen"]].set_index("parameter")
    assert chosen.loc["us.posture.force_protection", "restricted"] in (True, False)
    assert chosen["coverage"].nunique() == 1
    with pytest.raises(UserError, match="--box 99: the trajectory has boxes 0 to"):
        found.select(99)


def test_a_condition_nothing_meets_says_what_each_comparison_meets(tmp_path):
    with pytest.raises(UserError) as info:
        discover(_sweep_folder(tmp_path / "s"), "attacks_on_us < 950 and spiral < 0.5")
    text = str(info.value)
    assert "no point of the sweep meets it" in text
    assert "meet 'attacks_on_us < 950'" in text and "meet 'spiral < 0.5'" in text


def test_outcomes_are_the_numeric_columns_of_the_run_table(tmp_path):
    sweep = read_sweep_runs(_sweep_folder(tmp_path / "s"))
    assert sweep.outcomes == ["attacks_on_us", "spiral"]  # not the mission's name
    assert sweep.declared == {"us.doctrine.trigger": ["never", "casualties", "every_attack"]}


def test_the_command_writes_the_tables_and_the_figure(tmp_path, capsys):
    folder = _sweep_folder(tmp_path / "s")
    code = main(["discover", str(folder), "attacks_on_us / 55 < 17.5", "--threshold", "0.9"])
    assert code == 0
    out = folder / "discover"
    assert {p.name for p in out.iterdir() if p.name != ".lock"} == {
        "boxes.csv", "trajectory.csv", "discover.json", "discover.png",
    }  # fmt: skip
    meta = json.loads((out / "discover.json").read_text())
    assert meta["condition"] == "attacks_on_us / 55 < 17.5" and meta["settings"]["threshold"] == 0.9
    assert meta["box"]["limits"]["us.doctrine.trigger"] == "in {every_attack}"
    assert pd.read_csv(out / "trajectory.csv")["chosen"].sum() == 1
    assert "us.doctrine.trigger in {every_attack}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["attacks_on_uss < 1"], "unknown outcome 'attacks_on_uss'"),
        (["attacks_on_us < 1"], "no point of the sweep meets it"),
        (["attacks_on_us << 1"], "unexpected '<'"),
        (["attacks_on_us < 950", "--box", "99"], "--box 99"),
    ],
)
def test_mistakes_are_one_paragraph_and_exit_2(tmp_path, capsys, argv, says):
    folder = _sweep_folder(tmp_path / "s")
    assert main(["discover", str(folder), *argv]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err and err.count("\n") == 1
    assert not (folder / "discover" / "boxes.csv").exists()


def test_a_folder_without_a_sweep_is_named(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["discover", str(tmp_path / "empty"), "spiral < 1"]) == 2
    assert "sweep.json: not found" in capsys.readouterr().err


def test_every_figure_draws_on_the_axes_it_is_given(tmp_path):
    import matplotlib.pyplot as plt

    found = discover(_sweep_folder(tmp_path / "s"), "attacks_on_us < 950")
    fig, (left, right) = plt.subplots(1, 2)
    assert plot_tradeoff(found, ax=left) is left and plot_box(found, ax=right) is right
    assert len(left.collections) >= 2 and len(right.patches) >= len(PARAMETERS)
    plt.close(fig)


@pytest.mark.slow
def test_discover_on_a_sweep_the_model_ran(tmp_path, small, capsys, monkeypatch):
    small["us"] = {"doctrine": {"trigger": "every_attack", "resolve": 6.0}}
    path = write_severity_sweep(tmp_path, small, "2020-06-30", levels=4, replicates=2)
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", str(path), "-j", "1", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["discover", str(path), "retaliations > 0"]) == 0
    out = capsys.readouterr().out
    assert "wrote boxes.csv, trajectory.csv, discover.json, discover.png" in out
    assert (tmp_path / "results" / "sweeps" / "s" / "discover" / "discover.png").exists()
