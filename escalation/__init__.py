"""Agent-based simulator of proxy escalation in Iraq: Iran, Iran-backed militias, US forces and
the Iraqi government, deciding daily under incentives written in YAML.

Quick start::

    from escalation import load_scenario, run, run_ensemble
    scenario = load_scenario("scenarios/baseline.yaml", ["us.doctrine.trigger=never"])
    one = run(scenario, seed=1)            # event log, monthly series, totals
    ens = run_ensemble(scenario, 50, seed=0)
    ens.band("attacks_us_base")            # monthly median and 90% band
    write_ensemble(scenario, 1000, 0, Path("results/big"))   # tables written as runs finish
    read_table("results/big", "monthly")   # a results folder's table, Parquet or CSV
    replot("results/big")                  # its figures, from its tables and manifest
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
from escalation.experiments.stream import write_ensemble
from escalation.model.model import EscalationModel
from escalation.scenario.loading import load_scenario, scenario_from_dict, with_overrides
from escalation.scenario.schema import Scenario, SeriesSpec
from escalation.tables import read_table
from escalation.viz.replot import replot
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
    "read_table",
    "replot",
    "run",
    "run_ensemble",
    "scenario_from_dict",
    "spawn_seeds",
    "with_overrides",
    "write_ensemble",
]
