"""Null models the calibrated agents are scored against: the same agents without the timeline
(no phases), fitted the same way, and constant daily rates per series (the self-exciting null
that starts from them is in :mod:`escalation.calibration.hawkes`)."""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np

from escalation.calibration.loading import Calibration
from escalation.progress import QUIET, Bars
from escalation.record.summary import TargetSet, rms
from escalation.scenario.loading import with_overrides


def phase_blind(cal: Calibration) -> Calibration:
    """The same calibration on the scenario with its whole timeline removed (no phases); values
    of timeline events are not fitted, since there are none, and a fitted value's ``also``
    paths into the timeline are dropped (they would bring back an event with no type)."""
    scenario = with_overrides(cal.scenario, {"events": None})
    full = cal.simulator
    keep = [i for i, n in enumerate(full.names) if not n.startswith("events.")]
    sim = dataclasses.replace(  # a new simulator: nothing cached from the full one
        full,
        scenario=scenario,
        names=[full.names[i] for i in keep],
        priors=[
            p.model_copy(update={"also": [a for a in p.also if not a.startswith("events.")]})
            for p in (full.priors[i] for i in keep)
        ],
    )
    out = copy.copy(cal)
    out.scenario = scenario
    out.simulator = sim
    return out


def constant_rates(targets: TargetSet, n_days: int, bars: Bars = QUIET) -> dict[int, float]:
    """Constant daily rates per series (by column) that best meet the targets on average, by
    three passes of a grid search over each column (``bars`` shows the columns searched)."""
    cols = sorted(
        {c.col for c in targets.compiled} | {c.ref_col for c in targets.compiled if c.ref_col >= 0}
    )
    rates = {c: 0.05 for c in cols}
    grid = np.r_[0.0, np.geomspace(1e-4, 5.0, 60)]

    def expected(r: Mapping[int, float]) -> np.ndarray:
        values = np.zeros((n_days, max(cols) + 1))
        for c, lam in r.items():
            values[:, c] = lam
        return values

    passes = 3
    with bars.bar("null model: constant rates", passes * len(cols), unit="column") as bar:
        for _ in range(passes):
            for c in cols:
                best, best_d = rates[c], math.inf
                for lam in grid:
                    trial = {**rates, c: float(lam)}
                    d = rms(targets.distances(targets.evaluate(expected(trial))))
                    if d < best_d:
                        best, best_d = float(lam), d
                rates[c] = best
                bar.update()
    return rates


def constant_rate_statistics(
    rates: Mapping[int, float], targets: TargetSet, n_days: int, seeds: Sequence[int]
) -> np.ndarray:
    """Statistics of Poisson counts at constant rates (the null model's ensemble)."""
    out = []
    width = max(rates) + 1 if rates else 1
    lam = np.zeros(width)
    for c, r in rates.items():
        lam[c] = r
    for s in seeds:
        rng = np.random.default_rng(s)
        values = rng.poisson(lam, size=(n_days, width)).astype(float)
        out.append(targets.evaluate(values))
    return np.array(out)
