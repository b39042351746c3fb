"""Every shipped scenario validates and runs; the baseline's citations are verbatim."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from escalation import EscalationModel, load_scenario
from escalation.record import find_seeds_dir

ROOT = Path(__file__).resolve().parents[2]
SCENARIO_FILES = sorted(p for p in (ROOT / "scenarios").glob("*.yaml"))
SEEDS = find_seeds_dir() or Path("<no shared/seeds folder found>")


def test_there_are_scenarios():
    assert any(p.name == "baseline.yaml" for p in SCENARIO_FILES)


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_scenario_validates_and_runs_a_month(path):
    scenario = load_scenario(path)
    model = EscalationModel(scenario, seed=1)
    model.run_until(30 // scenario.step_days)
    assert model.day >= 29 - scenario.step_days
    assert len(model.datacollector.model_vars["iran_line"]) == 30 // scenario.step_days


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.skipif(not SEEDS.is_dir(), reason=f"seed documents not found at {SEEDS}")
def test_baseline_event_citations_occur_verbatim_in_their_seed():
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    seeds = {p.name: _normalise(p.read_text(encoding="utf-8")) for p in SEEDS.glob("*.txt")}
    checked = 0
    for eid, ev in scenario.events.items():
        assert " | " in ev.source, f"event {eid} has no '<seed file> | <passage>' source"
        name, passage = ev.source.split(" | ", 1)
        assert name in seeds, f"event {eid} cites unknown seed {name}"
        assert _normalise(passage) in seeds[name], f"event {eid}: passage not in {name}"
        checked += 1
    assert checked >= 20
