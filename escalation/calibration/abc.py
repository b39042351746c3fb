"""Approximate Bayesian computation by sequential Monte Carlo (ABC-SMC), resumable.

Replenishment ABC-SMC (Drovandi and Pettitt 2011), which stays well behaved with many
parameters: generation 0 samples the prior; each later generation keeps the ``quantile`` of
particles with the smallest distances (its tolerance is the largest kept distance), resamples the
rest from the kept ones and moves each resampled particle by Metropolis steps (a Gaussian random
walk with the kept particles' covariance) that accept a proposal whose simulated distance is
within the tolerance. The number of steps adapts to the last acceptance rate, so that a particle
moves with probability about 0.99; the run stops when the acceptance rate falls below
``min_acceptance`` or the budget is spent. All particles have equal weight.

Parameters live in the unit cube: every prior is mapped through its CDF, so the prior density
there is uniform; random-walk proposals are folded back into the cube at its faces.

Determinism: every proposal and its simulation seed are drawn from a stream named by
(generation, index) alone under the run's :class:`~escalation.seeds.Streams` (``move`` for the
proposal, ``run`` for its simulation's seed, ``resample`` for a generation's resampling), and
acceptance is decided in index order, so the posterior does not depend on how many
workers simulate or in which order results arrive. Every simulation is appended to ``sims.csv``
and every finished generation to ``population_<g>.csv``: an interrupted run resumes without
redoing or losing a simulation.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from escalation.calibration.simulate import Proposal
from escalation.errors import UserError
from escalation.files import AppendLog, read_json, read_state, write_json, write_table
from escalation.seeds import Streams


@dataclass(frozen=True)
class Settings:
    """How long and how finely ABC-SMC runs."""

    particles: int = 200
    quantile: float = 0.5
    max_generations: int = 15
    max_simulations: int = 8000
    max_minutes: float = 14.0
    min_acceptance: float = 0.02
    batch: int = 32
    max_moves: int = 10


@dataclass
class Generation:
    """One finished population."""

    index: int
    epsilon: float
    u: np.ndarray  # particles x parameters, in the unit cube
    distance: np.ndarray
    weight: np.ndarray
    simulations: int
    acceptance: float

    @property
    def ess(self) -> float:
        """Effective sample size: distinct particles (weights are equal; copies add nothing)."""
        return float(len(np.unique(self.u, axis=0)))


@dataclass
class Progress:
    """What the caller sees after every batch."""

    generation: int
    epsilon: float
    accepted: int
    proposed: int
    simulations: int
    elapsed: float
    last: Generation | None = None
    done: bool = False
    reason: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)


class Store:
    """Files of a run: sims.csv (every evaluation), population_<g>.csv, state.json."""

    def __init__(self, folder: Path, names: Sequence[str]) -> None:
        self.folder = folder
        self.names = list(names)
        folder.mkdir(parents=True, exist_ok=True)
        self.sims = AppendLog(folder / "sims.csv", key=2)  # keyed by (generation, proposal)
        self.state_path = folder / "state.json"

    def evaluated(self) -> dict[tuple[int, int], float]:
        """(generation, proposal) -> distance of everything evaluated so far."""
        return {(int(f[0]), int(f[1])): float(f[2]) for f in self.sims.rows()}

    def append(self, generation: int, k: int, distance: float, u: np.ndarray, seed: int) -> None:
        """Log one finished simulation."""
        row = {"generation": generation, "proposal": k, "distance": float(distance), "seed": seed}
        self.sims.append(row | {f"u:{n}": float(x) for n, x in zip(self.names, u, strict=True)})

    def close(self) -> None:
        """Close the simulation log."""
        self.sims.close()

    def save_generation(self, gen: Generation) -> None:
        """Write a finished generation (full precision, so a resumed run continues exactly)."""
        frame = pd.DataFrame(gen.u, columns=[f"u:{n}" for n in self.names])
        frame["distance"] = gen.distance
        frame["weight"] = gen.weight
        write_table(self.folder / f"population_{gen.index}.csv", frame, float_format="%.17g")

    def load_generations(self, state: dict[str, Any]) -> list[Generation]:
        """The generations the saved state lists, read back from their files."""
        gens = []
        for info in state.get("generations", []):
            frame = pd.read_csv(self.folder / f"population_{info['index']}.csv")
            gens.append(
                Generation(
                    index=info["index"],
                    epsilon=info["epsilon"],
                    # C order, as in memory: BLAS sums depend on the layout
                    u=np.ascontiguousarray(frame[[f"u:{n}" for n in self.names]].to_numpy()),
                    distance=np.ascontiguousarray(frame["distance"].to_numpy()),
                    weight=np.ascontiguousarray(frame["weight"].to_numpy()),
                    simulations=info["simulations"],
                    acceptance=info["acceptance"],
                )
            )
        return gens

    def state(self, identity: dict[str, Any] | None) -> dict[str, Any]:
        """The saved state ({} if none); an error if it belongs to a fit of another identity."""
        saved = read_json(self.state_path)
        if not saved:
            return {}
        if identity is not None and read_state(self.state_path, identity) is None:
            raise UserError(
                f"{self.folder}: holds a fit of a different calibration (its parameters, priors, "
                "scenario or targets differ); use another --out, or --restart to discard it"
            )
        return saved

    def save_state(self, state: dict[str, Any]) -> None:
        """Write state.json."""
        write_json(self.state_path, state)


#: Prior quantiles are kept this far from 0 and 1 before their logit is taken.
EDGE = 1e-6


def logit(u: np.ndarray) -> np.ndarray:
    """The logit of prior quantiles ``u``, kept ``EDGE`` away from 0 and 1."""
    u = np.clip(u, EDGE, 1 - EDGE)
    return np.log(u / (1 - u))


def expit(y: np.ndarray) -> np.ndarray:
    """The prior quantiles whose logit is ``y``."""
    return 1.0 / (1.0 + np.exp(-y))


def smoothed_draws(
    u: np.ndarray, weight: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` draws (n x parameters, in the unit cube) from the kernel density estimate of a
    population of particles ``u`` (particles x parameters) with ``weight``: a particle picked by
    weight and moved by Gaussian noise with the population's weighted covariance of logit prior
    quantiles, scaled by Silverman's factor 1.06 m^(-1/5) for m distinct particles.

    The particles are a finite sample of the posterior, and copies made by resampling are not
    independent of their originals: quantiles read off them cut the tails short (their 90%
    intervals covered the truth 84.5% of the time in simulation-based calibration,
    docs/inference.md). The estimate they stand for is smooth, and on the logit scale its draws
    stay inside the prior's support. The factor is the textbook rule, not one tuned to that
    check."""
    w = weight / weight.sum()
    y = logit(u)
    centred = y - w @ y
    cov = (centred * w[:, None]).T @ centred
    h = 1.06 * len(np.unique(u, axis=0)) ** -0.2
    # eigh, not Cholesky: a parameter every particle shares has zero variance
    vals, vecs = np.linalg.eigh(cov)
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))
    picks = rng.choice(len(w), size=n, p=w)
    noise = rng.standard_normal((n, y.shape[1])) @ root.T
    return expit(y[picks] + h * noise)


def _reflect(x: np.ndarray) -> np.ndarray:
    """Fold a point back into the unit cube (a symmetric proposal stays symmetric)."""
    x = np.mod(x, 2.0)
    return np.where(x > 1.0, 2.0 - x, x)


def _steps(acceptance: float, most: int) -> int:
    """Metropolis steps so that a particle moves with probability about 0.99."""
    if acceptance <= 0:
        return most
    if acceptance >= 1:
        return 1
    return int(min(most, max(1, math.ceil(math.log(0.01) / math.log(1 - acceptance)))))


def _summary(gen: Generation, simulations: int, start: float, steps: int = 0) -> dict[str, Any]:
    return {
        "generation": gen.index,
        "epsilon": None if math.isinf(gen.epsilon) else gen.epsilon,
        "acceptance": gen.acceptance,
        "moves_per_particle": steps,
        "unique_particles": gen.ess,
        "simulations": simulations,
        "median_distance": float(np.median(gen.distance)),
        "elapsed_s": round(time.monotonic() - start, 1),
    }


class _Run:
    """One call of :func:`abc_smc`: its files, what it has simulated, its finished generations."""

    def __init__(
        self,
        names: Sequence[str],
        simulate: Callable[[list[Proposal]], Iterator[tuple[int, float]]],
        settings: Settings,
        folder: Path,
        on_progress: Callable[[Progress], None] | None,
        identity: dict[str, Any] | None,
        streams: Streams,
    ) -> None:
        self.store = Store(folder, names)
        state = self.store.state(identity)
        self.simulate, self.settings, self.streams = simulate, settings, streams
        self.on_progress, self.identity = on_progress, identity
        self.d = len(names)
        self.gens = self.store.load_generations(state) if state else []
        self.evaluated = self.store.evaluated()
        self.history: list[dict[str, Any]] = list(state.get("history", [])) if state else []
        self.simulations = len(self.evaluated)
        self.start = time.monotonic() - float(state.get("elapsed", 0.0) if state else 0.0)
        # a run stopped by its budget continues when asked again with a larger budget
        same = bool(state) and state.get("settings") == self.settings_record()
        self.reason: str = state.get("stopped", "") if same else ""

    def settings_record(self) -> dict[str, Any]:
        """The settings and streams as saved (a run stopped by its budget continues only under
        the same ones)."""
        return {**asdict(self.settings), "streams": repr(self.streams)}

    def persist(self, extra: dict[str, Any] | None = None) -> None:
        """Save the state: identity, settings, generations, history, simulations, time."""
        payload = {
            "identity": self.identity,
            "settings": self.settings_record(),
            "generations": [
                {
                    "index": g.index,
                    "epsilon": g.epsilon,
                    "simulations": g.simulations,
                    "acceptance": g.acceptance,
                    "ess": g.ess,
                }
                for g in self.gens
            ],
            "history": self.history,
            "simulations": self.simulations,
            "elapsed": time.monotonic() - self.start,
        }
        payload.update(extra or {})
        self.store.save_state(payload)

    def run_batch(self, g: int, items: list[tuple[int, np.ndarray]]) -> dict[int, float]:
        """Simulate proposals (index, u) of generation g not evaluated yet; distances by index."""
        runs = self.streams.child(g).child("run")
        todo = [(k, u, runs.child(k).seed()) for k, u in items if (g, k) not in self.evaluated]
        for pos, dist in self.simulate([Proposal(u, s) for _, u, s in todo]):
            k, u, s = todo[pos]
            self.evaluated[(g, k)] = dist
            self.store.append(g, k, dist, u, s)
            self.simulations += 1
        return {k: self.evaluated[(g, k)] for k, _ in items}

    def over_budget(self) -> str:
        """Why the run must stop now (its budget is spent), or ''."""
        if self.simulations >= self.settings.max_simulations:
            return "simulation budget spent"
        if time.monotonic() - self.start > self.settings.max_minutes * 60:
            return "time budget spent"
        return ""

    def report(self, g: int, eps: float, accepted: int, proposed: int) -> None:
        """Tell the caller how generation ``g`` goes."""
        if self.on_progress:
            self.on_progress(
                Progress(
                    g,
                    eps,
                    accepted,
                    proposed,
                    self.simulations,
                    time.monotonic() - self.start,
                    self.gens[-1] if self.gens else None,
                    history=self.history,
                )
            )

    def finish(self, gen: Generation, steps: int = 0) -> None:
        """Keep a finished generation: its file, its line of the history, the state."""
        self.gens.append(gen)
        self.store.save_generation(gen)
        self.history.append(_summary(gen, self.simulations, self.start, steps))
        self.persist()

    def prior_generation(self) -> None:
        """Generation 0: particles drawn from the prior."""
        s, n = self.settings, self.settings.particles
        moves = self.streams.child(0).child("move")
        us = [moves.child(k).rng().random(self.d) for k in range(n)]
        dist: dict[int, float] = {}
        for lo in range(0, n, s.batch):
            dist.update(self.run_batch(0, [(k, us[k]) for k in range(lo, min(lo + s.batch, n))]))
            self.report(0, math.inf, len(dist), len(dist))
        u, d = np.array(us), np.array([dist[k] for k in range(n)])
        self.finish(Generation(0, math.inf, u, d, np.full(n, 1.0 / n), n, 1.0))

    def next_generation(self) -> Generation | None:
        """Generation g: the best ``quantile`` of the last one kept, the rest resampled from them
        and moved by Metropolis steps; None if the budget ran out during it."""
        s, n, d = self.settings, self.settings.particles, self.d
        g, prev = len(self.gens), self.gens[-1]
        order = np.argsort(prev.distance, kind="stable")
        n_keep = max(2, math.floor(n * s.quantile + 0.5))
        kept = order[:n_keep]
        epsilon = float(prev.distance[kept[-1]])
        streams = self.streams.child(g)
        parents = streams.child("resample").rng().choice(kept, size=n - n_keep, replace=True)
        u = [prev.u[i].copy() for i in parents]
        du = [float(prev.distance[i]) for i in parents]
        # random-walk scale 2.38^2 / d (Roberts, Gelman and Gilks 1997)
        cov = np.atleast_2d(np.cov(prev.u[kept].T)) * (2.38**2 / d) + np.eye(d) * 1e-10
        chol = np.linalg.cholesky(cov)
        steps = _steps(prev.acceptance if g > 1 else 0.5, s.max_moves)
        accepted = proposed = 0
        for step in range(steps):
            items = []
            for j in range(len(u)):
                k = step * n + j
                z = streams.child("move").child(k).rng().standard_normal(d)
                items.append((k, _reflect(u[j] + chol @ z)))
            proposed += len(items)
            for lo in range(0, len(items), s.batch):
                batch = items[lo : lo + s.batch]
                dist = self.run_batch(g, batch)
                for k, x in batch:
                    if dist[k] <= epsilon:
                        u[k - step * n], du[k - step * n] = x, dist[k]
                        accepted += 1
                self.report(g, epsilon, accepted, proposed)
                stop = self.over_budget()
                if stop:
                    self.reason = f"{stop} during generation {g}"
                    return None
        gen = Generation(
            index=g,
            epsilon=epsilon,
            u=np.vstack([prev.u[kept], np.array(u)]),
            distance=np.r_[prev.distance[kept], np.array(du)],
            weight=np.full(n, 1.0 / n),
            simulations=proposed,
            acceptance=accepted / max(proposed, 1),
        )
        self.finish(gen, steps)
        return gen

    def done(self) -> None:
        """Save why the run stopped and tell the caller."""
        self.persist({"stopped": self.reason})
        if self.on_progress and self.gens:
            last = self.gens[-1]
            self.on_progress(
                Progress(
                    last.index,
                    last.epsilon,
                    len(last.u),
                    last.simulations,
                    self.simulations,
                    time.monotonic() - self.start,
                    last,
                    done=True,
                    reason=self.reason,
                    history=self.history,
                )
            )


def abc_smc(
    names: Sequence[str],
    simulate: Callable[[list[Proposal]], Iterator[tuple[int, float]]],
    settings: Settings,
    folder: Path,
    *,
    streams: Streams,
    on_progress: Callable[[Progress], None] | None = None,
    identity: dict[str, Any] | None = None,
) -> list[Generation]:
    """Run (or resume) ABC-SMC; returns the finished generations (the last is the posterior).

    ``simulate`` takes a list of proposals, (u, seed) pairs, and yields (position in that list,
    distance) as simulations finish, in any order. Every draw comes from ``streams``.
    """
    r = _Run(names, simulate, settings, folder, on_progress, identity, streams)
    try:
        if not r.gens:
            r.prior_generation()
        while not r.reason:
            if len(r.gens) >= settings.max_generations:
                r.reason = "reached the last generation"
                break
            r.reason = r.over_budget()
            if r.reason:
                break
            gen = r.next_generation()
            if gen is not None and gen.acceptance < settings.min_acceptance:
                r.reason = f"acceptance rate {gen.acceptance:.3f} below {settings.min_acceptance}"
    finally:
        r.store.close()
    r.done()
    return r.gens
