"""Polishing the best parameter set by adaptive coordinate search, resumable.

A sweep visits every fitted value once, in an order drawn afresh for each sweep. For each it runs
the ensemble a step up and a step down (in prior quantiles, on common seeds) and moves at once if
either is expected to meet more fit targets (:func:`~.scoring.expected_hits`), or as many with a
smaller distance; that value's step then doubles (up to ``max_step``), and otherwise halves (down
to ``min_step``). The search stops early when a sweep moves nothing and every step is at its
floor. Its draws come from one stream: ``runs`` (the common seeds), ``order`` (each sweep's
order) and ``resample`` (the resampling of expected hits).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from escalation.calibration.scoring import Judgement, judge
from escalation.calibration.simulate import Simulator, simulate
from escalation.files import read_state, write_json
from escalation.progress import QUIET, Bars, end_early
from escalation.seeds import Streams


class Polished(NamedTuple):
    """A polished parameter set and the log of the polish."""

    values: list[float]
    log: pd.DataFrame


@dataclass(slots=True)
class _Search:
    """Where a coordinate search stands (what its state file holds besides its identity)."""

    u: np.ndarray
    steps: np.ndarray
    best: Judgement
    log: list[dict[str, Any]]
    sweep: int = 1
    position: int = 0
    moved: int = 0
    done: bool = False
    earlier: float = 0.0  # seconds spent by earlier calls

    @classmethod
    def load(cls, saved: dict[str, Any]) -> _Search:
        """A search as its state file holds it."""
        return cls(
            u=np.array(saved["u"], dtype=float),
            steps=np.array(saved["steps"], dtype=float),
            best=Judgement(float(saved["best"][0]), float(saved["best"][1])),
            log=list(saved["log"]),
            sweep=int(saved["sweep"]),
            position=int(saved["position"]),
            moved=int(saved["moved"]),
            done=bool(saved["done"]),
            earlier=float(saved.get("elapsed", 0.0)),
        )

    def body(self, identity: dict[str, Any], t0: float) -> dict[str, Any]:
        """The state file's content (``t0``: when this call began)."""
        return {
            "identity": identity,
            "u": self.u.tolist(),
            "steps": self.steps.tolist(),
            "best": list(self.best),
            "sweep": self.sweep,
            "position": self.position,
            "moved": self.moved,
            "done": self.done,
            "log": self.log,
            "elapsed": self.earlier + time.monotonic() - t0,  # seconds, over every call
        }


class _Steps(NamedTuple):
    """How far the search moves a value: its first step, and the bounds of its adaptation."""

    step: float
    max_step: float
    min_step: float


def _move(
    search: _Search,
    k: int,
    name: str,
    evaluate: Callable[[list[np.ndarray]], list[Judgement]],
    steps: _Steps,
) -> None:
    """Try value ``k`` a step up and a step down; move to the better trial if it beats the
    current set, and adapt that value's step."""
    trials = []
    for sign in (1.0, -1.0):
        x = search.u.copy()
        x[k] = min(1.0, max(0.0, x[k] + sign * search.steps[k]))
        if x[k] != search.u[k]:
            trials.append(x)
    scores = evaluate(trials) if trials else []
    j = max(range(len(trials)), key=lambda i: (scores[i][0], -scores[i][1]), default=None)
    if j is not None and scores[j].beats(search.best):
        search.log.append(
            {
                "sweep": search.sweep,
                "parameter": name,
                "move": float(trials[j][k] - search.u[k]),
                "hits": scores[j][0],
                "distance": scores[j][1],
            }
        )
        search.u, search.best = trials[j], scores[j]
        search.steps[k] = min(steps.max_step, search.steps[k] * 2)
        search.moved += 1
    else:
        search.steps[k] = max(steps.min_step, search.steps[k] / 2)


def refine(
    sim: Simulator,
    start: Sequence[float],
    executor: Any,
    streams: Streams,
    *,
    runs: int = 8,
    sweeps: int = 3,
    step: float = 0.08,
    max_step: float = 0.32,
    min_step: float = 0.005,
    state: Path | None = None,
    bars: Bars = QUIET,
) -> Polished:
    """Polish ``start`` (values of ``sim``'s fitted names) by adaptive coordinate search in
    prior-quantile units, judging each point on ``runs`` runs with common seeds (see the module
    docstring). With ``state`` (a JSON file) it saves itself after every value, and a later call
    with the same start, streams, runs and steps continues where it stopped, with more sweeps if
    asked; ``bars`` shows the values visited. Returns the values and a log of the accepted
    moves."""
    n = len(sim.priors)
    seeds = streams.child("runs").seeds(runs)
    resample = streams.child("resample")

    def evaluate(points: list[np.ndarray]) -> list[Judgement]:
        values = [v for v in map(sim.values, points) for _ in seeds]
        stats = simulate(sim, values, list(seeds) * len(points), executor).stats
        k = len(seeds)
        return [
            judge(sim.targets, stats[j * k : (j + 1) * k], resample) for j in range(len(points))
        ]

    identity = {
        "names": list(sim.names),
        "start": [float(v) for v in start],
        "streams": repr(streams),
        "seeds": seeds,
        "step": step,
        "max_step": max_step,
        "min_step": min_step,
        "criterion": "expected hits",
    }
    limits = _Steps(step, max_step, min_step)
    search = _resume(state, identity)
    t0 = time.monotonic()
    if search is None:
        u = np.array([p.to_unit(v) for p, v in zip(sim.priors, start, strict=True)], dtype=float)
        best = evaluate([u])[0]
        log = [{"sweep": 0, "parameter": "", "move": 0.0, "hits": best[0], "distance": best[1]}]
        search = _Search(u, np.full(n, step), best, log)

    def save() -> None:
        if state is not None:
            write_json(state, search.body(identity, t0))

    label = "refining the best set (coordinate search)"
    visited = min(sweeps * n, (search.sweep - 1) * n + search.position)
    with bars.bar(label, sweeps * n, unit="value", initial=visited) as bar:
        while not search.done and search.sweep <= sweeps:
            order = streams.child("order").child(search.sweep).rng().permutation(n)
            while search.position < n:
                k = int(order[search.position])
                _move(search, k, sim.names[k], evaluate, limits)
                search.position += 1
                save()
                bar.set_postfix(sweep=f"{search.sweep}/{sweeps}", hits=search.best[0])
                bar.update()
            search.done = search.moved == 0 and bool(np.all(search.steps <= min_step))
            search.sweep, search.position, search.moved = search.sweep + 1, 0, 0
            save()
        end_early(bar)  # stopped before its last sweep: nothing moved at the smallest steps
    return Polished(sim.values(search.u), pd.DataFrame(search.log))


def _resume(path: Path | None, identity: dict[str, Any]) -> _Search | None:
    """A saved coordinate search with this identity, or None (none saved, or another search)."""
    saved = read_state(path, identity) if path is not None else None
    return _Search.load(saved) if saved is not None else None
