"""Agent-based simulator of proxy escalation in Iraq: Iran, Iran-backed militias, US forces and
the Iraqi government, deciding daily under incentives written in YAML.

Quick start::

    from escalation import load_scenario, run, run_ensemble
    scenario = load_scenario("scenarios/baseline.yaml", ["us.doctrine.trigger=never"])
    one = run(scenario, seed=1)            # event log, monthly series, totals
    ens = run_ensemble(scenario, 50, seed=0)
    ens.band("attacks_us_base")            # monthly median and 90% band
"""

from escalation.errors import ScenarioError, UserError
from escalation.experiments.runner import (
    Ensemble,
    RunResult,
    all_series,
    run,
    run_ensemble,
    spawn_seeds,
)
from escalation.model.model import EscalationModel
from escalation.scenario.loading import load_scenario, scenario_from_dict, with_overrides
from escalation.scenario.schema import Scenario, SeriesSpec
from escalation.viz.tempo import plot_tempo

__all__ = [
    "Ensemble",
    "EscalationModel",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "SeriesSpec",
    "UserError",
    "all_series",
    "load_scenario",
    "plot_tempo",
    "run",
    "run_ensemble",
    "scenario_from_dict",
    "spawn_seeds",
    "with_overrides",
]
