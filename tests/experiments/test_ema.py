"""EMA Workbench runs the model through escalation.experiments.ema's function, with no wrapper
of the user's own: the README's lines, and perform_experiments on a short scenario."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest
from ema_workbench import (
    CategoricalParameter,
    Model,
    RealParameter,
    ReplicatorModel,
    ScalarOutcome,
    perform_experiments,
)

from escalation import ScenarioError, run, scenario_from_dict, with_overrides
from escalation.experiments.ema import key_path, outcome_function
from escalation.seeds import spawn_seeds
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.fixture
def short(small):
    """Half a year of the small scenario, with a doctrine that strikes."""
    small["end"] = "2020-06-30"
    small["us"] = {"doctrine": {"trigger": "every_attack", "resolve": 6.0}}
    return scenario_from_dict(small)


def test_perform_experiments_runs_three_scenarios_once_each(short):
    model = Model("escalation", function=outcome_function(short))  # the one glue line
    model.uncertainties = [
        RealParameter("us__doctrine__severity", 0.5, 3.0),
        CategoricalParameter("us__doctrine__theatre", ["iraq", "syria"]),
    ]
    model.outcomes = [ScalarOutcome("attacks_on_us"), ScalarOutcome("retaliations")]
    experiments, outcomes = perform_experiments(model, 3)
    assert len(experiments) == 3 and experiments["us__doctrine__severity"].nunique() == 3
    assert outcomes["retaliations"].min() > 0
    for i, row in experiments.iterrows():
        values = {
            "us.doctrine.severity": float(row["us__doctrine__severity"]),
            "us.doctrine.theatre": str(row["us__doctrine__theatre"]),
        }
        expected = run(with_overrides(short, values), 0, tables=False).summary
        assert outcomes["attacks_on_us"][i] == expected["attacks_on_us"]
        assert outcomes["retaliations"][i] == expected["retaliations"]


def test_replications_take_their_seeds_from_the_seed_scheme(short):
    model = ReplicatorModel("escalation", function=outcome_function(short))
    model.replications = [{"seed": s} for s in spawn_seeds(0, 2)]
    model.uncertainties = [RealParameter("us__doctrine__severity", 1.0, 2.0)]
    model.outcomes = [ScalarOutcome("attacks", function=np.std)]
    # the sampled severity is pinned: at a few severities the two seeds' runs differ but happen
    # to count the same attacks (3 of 101 in [1, 2]), and an unseeded draw made that a coin toss
    _, outcomes = perform_experiments(model, 1, uncertainty_sampling_kwargs={"rng": 0})
    assert outcomes["attacks"][0] > 0  # two seeds, two different runs


def test_names_map_to_key_paths():
    assert key_path("us__doctrine__severity") == "us.doctrine.severity"
    assert key_path("us.doctrine.severity") == "us.doctrine.severity"
    brand = "deniability.brand_appeal.Islamic Resistance in Iraq"
    assert key_path("iri_appeal", {"iri_appeal": brand}) == brand


def test_the_function_travels_to_worker_processes(short):
    function = outcome_function(short, seed=3)
    again = pickle.loads(pickle.dumps(function))
    assert again(us__doctrine__severity=2.0) == function(**{"us.doctrine.severity": 2.0})


def test_a_wrong_value_is_the_scenario_error_naming_the_key(short):
    with pytest.raises(ScenarioError, match=r"us\.doctrine\.severity"):
        outcome_function(short)(us__doctrine__severity=-1.0)


def test_the_readme_wraps_the_model_for_ema_in_at_most_three_lines():
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", README, re.S) if "ema_workbench" in b]
    glue = [line for line in block.splitlines() if "escalation" in line]
    assert 1 <= len(glue) <= 3, glue
