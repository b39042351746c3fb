"""The recovery harness: model-made records keep the forms of the real targets, the SBC test
tells an exact posterior from a wrong one, and every method is scored on the same datasets."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest

from escalation.calibration.forest import ForestSettings, Posterior
from escalation.calibration.recovery import (
    Design,
    EarlierRowsError,
    compare,
    pooled,
    sbc_bins,
    sbc_pvalue,
)
from escalation.calibration.synthetic import synthetic_record
from escalation.experiments.executors import SerialExecutor
from escalation.record.summary import TargetSet
from escalation.record.types import ZERO, Value, Window
from escalation.seeds import Streams

H1, H2 = Window(date(2020, 1, 1), date(2020, 6, 30)), Window(date(2020, 7, 1), date(2020, 12, 31))


def test_a_model_made_record_has_the_forms_of_the_source_targets(make_target):
    ref = Window(date(2020, 1, 1), date(2020, 3, 31))
    late = Window(date(2020, 7, 1), date(2020, 12, 31))
    rising = Value(form="lower", low=1.5, low_strict=True)
    targets = [
        make_target("range", "count", Value(form="range", low=40, high=60)),
        make_target("exact", "count", Value(form="point", low=7, high=7, point=7)),
        make_target("tol", "count", Value(form="point", low=27, high=33, point=30, tolerance=3)),
        make_target(
            "approx", "count", Value(form="point", low=85, high=115, point=100, approximate=True)
        ),
        make_target("lower", "count", Value(form="lower", low=35, low_strict=True)),
        make_target("upper", "mean_annual", Value(form="upper", high=20)),
        make_target("zero", "zero", ZERO, window=H1),
        make_target("zero_hit", "zero", ZERO, window=H2),
        make_target("peak", "peak_month", Value(form="month", month="2020-03")),
        make_target("ratio", "ratio", rising, late, reference=ref),
        make_target("undefined", "ratio", Value(form="upper", high=0.5), late, reference=ref),
    ]
    ts = TargetSet(targets, ["s"], date(2020, 1, 1), 366)
    stats = np.array([10.0, 3.0, 12.0, 50.0, 0.0, 4.0, 0.0, 6.0, 5.0, 2.5, math.nan])
    rec = synthetic_record(ts, stats, np.random.default_rng(0))
    assert list(rec.columns) == list(range(10))  # an undefined ratio has no figure to state
    made = {t.id: t.value for t in rec.targets.targets}
    assert rec.targets.satisfied(stats[rec.columns]).all()
    for t in targets[:6] + targets[8:10]:
        assert made[t.id].form == t.value.form, t.id
    assert (made["range"].low, made["range"].high) == pytest.approx((8.0, 12.0))  # +-20%
    assert made["exact"].low == made["exact"].high == 3.0
    assert (made["tol"].low, made["tol"].high, made["tol"].tolerance) == (9.0, 15.0, 3)
    assert (made["approx"].low, made["approx"].high) == pytest.approx((42.5, 57.5))
    assert made["lower"].low_strict and made["lower"].low < 0.0  # below the run's none
    assert 4.0 < made["upper"].high <= math.expm1(math.log1p(4.0) + 0.5)
    assert made["zero"] == ZERO
    assert made["zero_hit"].form == "point" and made["zero_hit"].point == 6.0
    assert made["peak"].month == "2020-06"
    assert made["ratio"].low_strict and made["ratio"].low < 2.5


def _conjugate_ranks(noise_sd: float, seed: int, n: int = 300, draws: int = 19) -> np.ndarray:
    """Ranks of the truth among draws of an importance-sampled posterior of theta ~ N(0, 1),
    x ~ N(theta, 1), whose likelihood assumes noise ``noise_sd`` (1: the exact posterior)."""
    rng = np.random.default_rng(seed)
    ranks = np.empty(n, dtype=int)
    for i in range(n):
        theta = rng.normal()
        x = theta + rng.normal()
        prior = rng.normal(size=(4000, 1))
        w = np.exp(-0.5 * ((x - prior[:, 0]) / noise_sd) ** 2)
        post = Posterior(prior, (w / w.sum())[None, :])
        ranks[i] = int(np.sum(post.draws(draws, rng)[:, 0] < theta))
    return ranks


@pytest.mark.slow
def test_sbc_ranks_are_uniform_for_the_exact_posterior_and_not_for_an_overconfident_one():
    """Talts et al.'s check on a conjugate normal model: the exact posterior passes the
    chi-square test of uniform ranks; a posterior that believes the noise is half what it is
    piles the truth's ranks at the ends and fails it."""
    bins = sbc_bins(300, 19)
    assert bins == 20
    assert sbc_pvalue(_conjugate_ranks(1.0, seed=1), 19, bins) > 0.01
    assert sbc_pvalue(_conjugate_ranks(0.5, seed=1), 19, bins) < 1e-4


def _scored(method: str, ranks: np.ndarray, inside: np.ndarray) -> pd.DataFrame:
    """Per-dataset rows of one value: the truth at 0, inside the 90% interval where ``inside``."""
    edge = np.where(inside, 1.0, -1.0)
    return pd.DataFrame(
        {
            "method": method,
            "dataset": np.arange(len(ranks)),
            "parameter": "theta",
            "truth": 0.0,
            "q05": -edge,
            "q25": -edge,
            "q75": edge,
            "q95": edge,
            "rank": ranks,
        }
    )


def test_pooled_checks_tell_calibrated_ranks_and_coverage_from_overconfident_ones():
    rng = np.random.default_rng(3)
    uniform = rng.integers(0, 100, size=400)
    tails = np.where(rng.random(400) < 0.5, rng.integers(0, 10, 400), rng.integers(90, 100, 400))
    per = pd.concat(
        [
            _scored("good", uniform, rng.random(400) < 0.9),
            _scored("narrow", tails, rng.random(400) < 0.6),
        ]
    )
    table = pd.DataFrame(
        {"method": ["good", "narrow"], "sbc_p": [0.4, 0.001], "coverage_90": [0.9, 0.6]}
    )
    out = pooled(per, table, draws=99).set_index("method")
    assert out.loc["good", "pooled_sbc_p"] > 0.01
    assert out.loc["narrow", "pooled_sbc_p"] < 1e-6
    assert 0.85 < out.loc["good", "coverage_90"] < 0.95
    assert out.loc["narrow", "coverage_90"] < 0.7
    counts = [int(c) for c in out.loc["narrow", "rank_counts"].split()]
    assert len(counts) == 10 and sum(counts) == 400 and counts[0] + counts[-1] == 400
    assert out.loc["good", "values_sbc_p_over_005"] == 1
    assert out.loc["narrow", "values_coverage_90_in_85_95"] == 0


def test_the_comparison_scores_every_method_on_the_same_model_made_datasets(recovery):
    sim, _ = recovery._recovery_simulator()
    design = Design(
        simulations=100,
        datasets=4,
        gap_datasets=2,
        abc_datasets=1,
        tables=2,
        particles=20,
        draws=9,
        forest=ForestSettings(trees=30, min_accepted=5),
    )
    result = compare(sim, design, Streams(2), SerialExecutor())
    counts = result.table.set_index(["method", "parameter"])["datasets"]
    assert counts.xs(sim.names[0], level="parameter").to_dict() == {
        "ABC-SMC": 1,
        "ABC-SMC particles": 1,
        "ABC-SMC + regression": 1,
        "ABC-RF": 4,
        "ABC-RF gap": 2,
    }
    assert (result.paired["datasets"] == 1).all()
    assert result.per_dataset["rank"].between(0, 9).all()
    assert set(result.cost["simulations_per_dataset"]) <= {100.0, *range(100, 132)}


class CountingExecutor(SerialExecutor):
    """A serial executor that counts the runs it is given."""

    def __init__(self) -> None:
        self.runs = 0

    def imap(self, fn, tasks):
        for i, task in enumerate(tasks):
            self.runs += 1
            yield i, fn(task)


#: ABC-SMC alone on two small model-made datasets (`--tables 0 --gap-datasets 0`)
ABC_ONLY = Design(
    simulations=40,
    datasets=2,
    gap_datasets=0,
    abc_datasets=2,
    tables=0,
    particles=10,
    draws=9,
    forest=ForestSettings(trees=30, min_accepted=5),
)


def test_with_no_reference_tables_only_abc_smc_runs(recovery):
    """SBC of the calibration's own method alone (`--tables 0`): the forests are skipped, not
    divided by zero, and ABC-SMC is scored on its datasets."""
    sim, _ = recovery._recovery_simulator()
    design = ABC_ONLY
    result = compare(sim, design, Streams(3), SerialExecutor())
    counts = result.table.set_index(["method", "parameter"])["datasets"]
    assert counts.xs(sim.names[0], level="parameter").to_dict() == {
        "ABC-SMC": 2,
        "ABC-SMC particles": 2,
        "ABC-SMC + regression": 2,
    }
    assert result.per_dataset["rank"].between(0, 9).all()


def test_abc_smc_results_are_kept_and_taken_up_again(recovery, tmp_path):
    """With a state folder each dataset's ABC-SMC result is saved as it finishes; a second run
    of the same design runs no simulation and gives the same figures, a changed budget runs
    again."""
    sim, _ = recovery._recovery_simulator()
    design = ABC_ONLY
    first = compare(sim, design, Streams(3), SerialExecutor(), state=tmp_path)
    saved = sorted(p.name for p in tmp_path.glob("abc-*.npz"))
    assert len(saved) == 2

    counted = CountingExecutor()
    again = compare(sim, design, Streams(3), counted, state=tmp_path)
    assert counted.runs == design.datasets  # the model-made records' runs only
    cols = ["method", "parameter", "dataset", "rank", "mean"]
    assert again.per_dataset[cols].equals(first.per_dataset[cols])
    assert again.cost.equals(first.cost)

    more = replace(design, simulations=50)
    compare(sim, more, Streams(3), SerialExecutor(), state=tmp_path)
    assert len(list(tmp_path.glob("abc-*.npz"))) == 4


def test_an_earlier_runs_rows_are_taken_up_instead_of_fitting_their_datasets_again(recovery):
    """`--earlier`: ABC-SMC's rows for dataset 0 from a finished run stand in for fitting it
    again; the tables are those of a run that fitted both, and rows from another seed are
    refused."""
    sim, _ = recovery._recovery_simulator()
    full = compare(sim, ABC_ONLY, Streams(3), SerialExecutor())
    earlier = full.per_dataset[full.per_dataset["dataset"] == 0]

    counted = CountingExecutor()
    again = compare(sim, ABC_ONLY, Streams(3), counted, earlier=earlier)
    assert counted.runs < ABC_ONLY.datasets + 2 * ABC_ONLY.simulations  # one dataset fitted
    assert again.per_dataset.equals(full.per_dataset)
    assert again.table.equals(full.table)
    refused = CountingExecutor()
    with pytest.raises(EarlierRowsError, match="not this run's"):
        compare(sim, ABC_ONLY, Streams(4), refused, earlier=earlier)
    assert refused.runs == 0  # refused before the model-made records are run
