"""A sweep says which Sobol indices are too uncertain to mean anything, and the base sample size
that would narrow them: N * (half-width / estimate)^2, rounded up to a power of two, capped."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from escalation.cli.main import main
from escalation.experiments.sensitivity import N_NEEDED_CAP, flag_informative, n_needed
from escalation.tables import read_table


def test_n_needed_scales_the_design_by_the_squared_ratio_up_to_a_power_of_two():
    assert n_needed(32, 0.1, 0.36) == 512  # 32 * 3.6^2 = 414.7
    assert n_needed(32, 0.2, 0.4) == 128  # 32 * 4 = 128 exactly
    assert n_needed(32, 0.5, 0.25) == 8  # already informative: a smaller design would do
    assert n_needed(32, 1e-6, 0.3) == N_NEEDED_CAP
    assert n_needed(32, -0.05, 0.01) == N_NEEDED_CAP  # a negative estimate: no size is known
    assert n_needed(32, 0.0, 0.1) == N_NEEDED_CAP
    assert n_needed(32, math.nan, 0.1) == N_NEEDED_CAP
    assert n_needed(32, 0.1, 0.36, cap=256) == 256


def test_flags_hold_only_when_the_interval_lies_above_zero():
    table = pd.DataFrame(
        {
            "outcome": ["a"] * 4,
            "parameter": ["p", "q", "r", "s"],
            "S1": [0.5, 0.1, -0.3, 0.2],
            "S1_conf": [0.1, 0.36, 0.1, 0.2],
            "ST": [0.6, 0.2, 0.1, 0.3],
            "ST_conf": [0.7, 0.1, 0.05, 0.1],
        }
    )
    flagged = flag_informative(table, 16)
    assert flagged["S1_informative"].tolist() == [True, False, False, False]
    assert flagged["ST_informative"].tolist() == [False, True, True, True]
    assert flagged["S1_n_needed"].tolist() == [1, 256, N_NEEDED_CAP, 16]
    assert flagged["ST_n_needed"].tolist() == [32, 4, 4, 2]


SWEEP = """\
name: sob
scenario: small.yaml
parameters:
  us.doctrine.severity: {low: 0.5, high: 3.0}
  us.doctrine.delay_days: {low: 0, high: 20, type: int}
  militias.A.resolve: {low: -5.0, high: -2.0}
design: {method: sobol, samples: 8}
replicates: 1
outcomes: [attacks_on_us, retaliations, truce_days]
"""


@pytest.fixture
def sobol_sweep(tmp_path, small, write_yaml, monkeypatch):
    small["end"] = "2020-06-30"
    write_yaml("small.yaml", small)
    write_yaml("sweep.yaml", SWEEP)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_sobol_sweep_flags_its_indices_and_says_how_many_are_uninformative(sobol_sweep, capsys):
    assert main(["sweep", "sweep.yaml", "-j", "1", "--no-progress", "--out", "out"]) == 0
    out, err = capsys.readouterr()
    table = read_table(sobol_sweep / "out", "sensitivity")
    assert len(table) > 0
    for index in ("S1", "ST"):
        est, conf = table[index], table[f"{index}_conf"]
        assert table[f"{index}_informative"].tolist() == (conf < est).tolist()
        for e, c, n in zip(est, conf, table[f"{index}_n_needed"], strict=True):
            expected = N_NEEDED_CAP
            if e > 0:
                expected = min(N_NEEDED_CAP, 2 ** max(0, math.ceil(math.log2(8 * (c / e) ** 2))))
            assert n == expected
    bad = int((~table["S1_informative"]).sum())
    assert bad > 0, "a design of 8 base samples should leave some first-order index unclear"
    assert f"{bad} of {len(table)} first-order Sobol indices (S1) are uninformative" in err
    assert "base sample size (samples: 8) would have to reach" in err
    assert f"uninformative Sobol indices: {bad} of {len(table)} S1" in out
    assert "(sensitivity.parquet)" in out
