"""A calibration prior with an infinite bound is refused when the file is read (it fitted NaN)."""

from __future__ import annotations

import pytest

from escalation.calibration.loading import load_calibration
from escalation.errors import ScenarioError


@pytest.mark.parametrize("bound", [".inf", "-.inf", ".nan"])
def test_prior_with_non_finite_bound_is_refused(small, write_yaml, bound):
    write_yaml("s.yaml", small)
    low, high = (bound, "1.0") if bound.startswith("-") else ("0.0", bound)
    path = write_yaml(
        "c.yaml",
        "name: c\nscenario: s.yaml\nparameters:\n"
        f"  us.doctrine.severity: {{prior: uniform, low: {low}, high: {high}}}\n",
    )
    with pytest.raises(ScenarioError) as info:
        load_calibration(path)
    assert info.value.path.startswith("parameters.us.doctrine.severity.")
    assert "finite number" in info.value.message and "line 4" in info.value.where
