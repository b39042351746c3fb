"""Agent-based simulator of proxy escalation in Iraq: Iran, Iran-backed militias, US forces and
the Iraqi government, deciding daily under incentives written in YAML.

Quick start::

    from sim import load_scenario, run, run_ensemble
    scenario = load_scenario("scenarios/baseline.yaml", ["us.doctrine.trigger=never"])
    one = run(scenario, seed=1)            # event log, monthly series, totals
    ens = run_ensemble(scenario, 50, seed=0)
    ens.band("attacks_us_base")            # monthly median and 90% band
"""

from sim.config import Scenario, SeriesSpec
from sim.errors import ScenarioError, UserError
from sim.model import EscalationModel
from sim.plots import plot_tempo
from sim.runner import Ensemble, RunResult, all_series, run, run_ensemble, spawn_seeds
from sim.scenario import load_scenario, scenario_from_dict, with_overrides

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
