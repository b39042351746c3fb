"""The whole calibration (fit, polish, ensembles, null models, report), on a small budget and a
two-militia year, gives the same fit whatever the number of worker processes: the same
posterior, best set, scores and report."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from escalation.calibration import pipeline
from escalation.calibration.loading import load_calibration

from .test_calibration_fit import SMALL

SPEC = """\
name: small
scenario: {scenario}
report_replicates: 10
candidates: 2
candidate_replicates: 3
null_budget_share: 0.5
parameters:
  militias.A.resolve: {{low: -6.0, high: -3.0}}
  militia_defaults.motives.us.context.talks: {{low: 0.0, high: 3.0}}
"""

BUDGET = {
    "particles": 10,
    "simulations": 30,
    "minutes": 30.0,
    "refine_sweeps": 1,
    "refine_seeds": 3,
    "trust_steps": 1,
    "trust_perturbations": 24,
}


def write_small_calibration(folder: Path) -> Path:
    """The two-militia year and the calibration file of :data:`SPEC` over it, in ``folder``;
    the calibration file's path."""
    scenario = folder / "two_militias.yaml"
    scenario.write_text(yaml.safe_dump(SMALL, sort_keys=False))
    (folder / "small.yaml").write_text(SPEC.format(scenario=scenario))
    return folder / "small.yaml"


def _fit(tmp_path: Path, name: str, jobs: int) -> pipeline.CalibrationResult:
    cal = load_calibration(tmp_path / "small.yaml")
    return pipeline.run_calibration(cal, tmp_path / name, budget=BUDGET, jobs=jobs)


def _comparable(scores: dict) -> dict:
    """Scores without the clock: wall times differ from run to run."""
    out = {k: v for k, v in scores.items() if k not in ("elapsed_minutes", "written")}
    out["abc"] = {k: v for k, v in out["abc"].items() if k != "history"}
    history = scores["abc"]["history"]
    out["abc_history"] = [{k: v for k, v in h.items() if k != "elapsed_s"} for h in history]
    return out


@pytest.mark.slow
def test_the_same_seed_gives_the_same_fit_on_one_process_or_two(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "STRIKE_REPLICATES", 3)
    monkeypatch.setattr(pipeline, "WILL_REPLICATES", 3)
    write_small_calibration(tmp_path)
    one = _fit(tmp_path, "one", jobs=1)
    two = _fit(tmp_path, "two", jobs=2)
    assert one.best == two.best
    assert one.posterior.equals(two.posterior)
    assert _comparable(one.scores) == _comparable(two.scores)
    for name in ("best.yaml", "will.csv", "tension.csv"):
        assert (tmp_path / "one" / name).read_text() == (tmp_path / "two" / name).read_text()
    assert one.scores["abc"]["simulations"] == BUDGET["simulations"]
    assert "null_hawkes" in one.scores and "null_phase_blind" in one.scores
