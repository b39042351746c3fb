"""Choosing the best parameter set from the posterior: the best particles, the posterior mean
(and start values given by the user) re-run on common seeds and ranked by expected hits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from escalation.calibration.abc import Generation
from escalation.calibration.loading import Calibration
from escalation.calibration.scoring import judge
from escalation.calibration.simulate import repeated, simulate
from escalation.progress import QUIET, Bars
from escalation.seeds import Streams


def posterior_frame(cal: Calibration, gen: Generation) -> pd.DataFrame:
    """The posterior sample: one row per particle with its values, weight and distance."""
    values = np.array([cal.simulator.values(u) for u in gen.u])
    frame = pd.DataFrame(values, columns=cal.names)
    frame["weight"] = gen.weight / gen.weight.sum()
    frame["distance"] = gen.distance
    return frame


class Candidate(NamedTuple):
    """A parameter set that may be the best, and where it came from."""

    values: list[float]
    kind: str  # particle, posterior mean or start


def candidates(
    cal: Calibration, gen: Generation, start: Sequence[float] | None = None
) -> list[Candidate]:
    """The best particles of ``gen``, its posterior mean, and ``start`` if given."""
    sim = cal.simulator
    order = np.argsort(gen.distance)[: cal.spec.candidates]
    out = [Candidate(sim.values(gen.u[i]), "particle") for i in order]
    w = gen.weight / gen.weight.sum()
    mean = np.clip((gen.u * w[:, None]).sum(axis=0), 0, 1)
    out.append(Candidate(sim.values(mean), "posterior mean"))
    if start is not None:
        out.append(Candidate(list(start), "start"))
    return out


class Choice(NamedTuple):
    """The best parameter set, and every candidate's judgement (best first)."""

    best: list[float]
    table: pd.DataFrame


def choose_best(
    cal: Calibration,
    gen: Generation,
    executor: Any,
    streams: Streams,
    start: Sequence[float] | None = None,
    *,
    bars: Bars = QUIET,
) -> Choice:
    """Re-run the best particles, the posterior mean (and ``start``, values given by the user)
    and keep the one whose ensemble median is expected to meet the most fit targets
    (:func:`~.scoring.expected_hits`; ties: the smaller distance of the medians). Every
    candidate runs with the same seeds, ``streams``' ``runs``, and is resampled from its
    ``resample``. ``bars`` shows the runs' progress."""
    sim = cal.simulator
    seeds = streams.child("runs").seeds(cal.spec.candidate_replicates)
    chosen = candidates(cal, gen, start)
    rows = []
    label, total = "choosing the best parameter set", len(chosen) * len(seeds)
    with bars.counting(executor, label, total) as counted:
        for j, (values, kind) in enumerate(chosen):
            stats = simulate(sim, repeated(values, seeds), seeds, counted).stats
            hits, dist = judge(sim.targets, stats, streams.child("resample"))
            rows.append(
                {"candidate": j, "hits": hits, "distance": dist, "values": values, "kind": kind}
            )
    table = pd.DataFrame(rows).sort_values(["hits", "distance"], ascending=[False, True])
    return Choice(list(table.iloc[0]["values"]), table)
