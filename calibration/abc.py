"""Approximate Bayesian computation by sequential Monte Carlo (ABC-SMC), resumable.

Population Monte Carlo after Beaumont et al. (2009): generation 0 samples the prior; each later
generation resamples the previous population by weight, perturbs with a Gaussian kernel of twice
its weighted covariance, keeps proposals whose distance is within the tolerance (the
``quantile`` of the previous generation's distances) and weights them by prior over kernel
density. Parameters live in the unit cube: every prior is mapped through its CDF, so the prior
density there is uniform and a proposal outside the cube has prior density zero.

Determinism: proposal ``k`` of generation ``g`` and its simulation seed are functions of
(seed, g, k) alone; acceptance is decided in proposal order; so the posterior does not depend on
how many workers simulate or in which order results arrive. Every evaluated proposal is appended
to ``sims.csv`` and every finished generation to ``population_<g>.csv``: an interrupted run
resumes without redoing or losing a simulation.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


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
    seed: int = 0


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
        """Effective sample size, 1 / sum(w^2) of the normalised weights."""
        w = self.weight / self.weight.sum()
        return float(1.0 / np.sum(w**2))


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


def _rng(seed: int, generation: int, k: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, generation, k]))


def sim_seed(seed: int, generation: int, k: int) -> int:
    """The simulation seed of proposal k in a generation."""
    ss = np.random.SeedSequence([seed, generation, k, 1])
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


class Kernel:
    """Gaussian perturbation with twice the weighted covariance of a population."""

    def __init__(self, gen: Generation) -> None:
        w = gen.weight / gen.weight.sum()
        self.parents = gen.u
        self.w = w
        cov = np.atleast_2d(np.cov(gen.u.T, aweights=w, ddof=0)) * 2.0
        d = gen.u.shape[1]
        cov += np.eye(d) * 1e-8
        self.cov = cov
        self.chol = np.linalg.cholesky(cov)
        self.inv = np.linalg.inv(cov)
        self.norm = 1.0 / math.sqrt((2 * math.pi) ** d * np.linalg.det(cov))

    def propose(self, rng: np.random.Generator) -> np.ndarray:
        """A parent drawn by weight, perturbed; redrawn until inside the unit cube."""
        for _ in range(1000):
            j = rng.choice(len(self.w), p=self.w)
            x = self.parents[j] + self.chol @ rng.standard_normal(self.parents.shape[1])
            if np.all((x >= 0) & (x <= 1)):
                return x
        return np.clip(x, 0, 1)

    def density(self, x: np.ndarray) -> float:
        """Mixture density of the perturbation at x."""
        diff = self.parents - x
        q = np.einsum("ij,jk,ik->i", diff, self.inv, diff)
        return float(np.sum(self.w * self.norm * np.exp(-0.5 * q)))


class Store:
    """Files of a run: sims.csv (every evaluation), population_<g>.csv, state.json."""

    def __init__(self, folder: Path, names: Sequence[str]) -> None:
        self.folder = folder
        self.names = list(names)
        folder.mkdir(parents=True, exist_ok=True)
        self.sims_path = folder / "sims.csv"
        self._file = None

    def evaluated(self) -> dict[tuple[int, int], float]:
        """(generation, proposal) -> distance of everything evaluated so far."""
        out: dict[tuple[int, int], float] = {}
        if not self.sims_path.exists():
            return out
        lines = self.sims_path.read_text(encoding="utf-8").splitlines(keepends=True)
        if not lines:
            return out
        header = next(csv.reader([lines[0]]))
        keep = [lines[0]]
        for line in lines[1:]:
            fields = next(csv.reader([line]))
            if not line.endswith("\n") or len(fields) != len(header):
                continue  # a torn last line from a killed process
            out[(int(fields[0]), int(fields[1]))] = float(fields[2])
            keep.append(line)
        if len(keep) != len(lines):
            tmp = self.sims_path.with_suffix(".tmp")
            tmp.write_text("".join(keep), encoding="utf-8")
            os.replace(tmp, self.sims_path)
        return out

    def append(self, generation: int, k: int, distance: float, u: np.ndarray, seed: int) -> None:
        if self._file is None:
            new = not self.sims_path.exists() or self.sims_path.stat().st_size == 0
            self._file = self.sims_path.open("a", newline="", encoding="utf-8")
            if new:
                csv.writer(self._file).writerow(
                    ["generation", "proposal", "distance", "seed", *[f"u:{n}" for n in self.names]]
                )
        csv.writer(self._file).writerow(
            [generation, k, repr(float(distance)), seed, *[repr(float(x)) for x in u]]
        )
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def save_generation(self, gen: Generation) -> None:
        frame = pd.DataFrame(gen.u, columns=[f"u:{n}" for n in self.names])
        frame["distance"] = gen.distance
        frame["weight"] = gen.weight
        tmp = self.folder / f"population_{gen.index}.csv.tmp"
        frame.to_csv(tmp, index=False, float_format="%.17g")
        os.replace(tmp, self.folder / f"population_{gen.index}.csv")

    def load_generations(self, state: dict[str, Any]) -> list[Generation]:
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

    def state(self) -> dict[str, Any]:
        path = self.folder / "state.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def save_state(self, state: dict[str, Any]) -> None:
        path = self.folder / "state.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)


def abc_smc(
    names: Sequence[str],
    simulate: Callable[[list[tuple[np.ndarray, int]]], Iterator[tuple[int, float]]],
    settings: Settings,
    folder: Path,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    identity: dict[str, Any] | None = None,
) -> list[Generation]:
    """Run (or resume) ABC-SMC; returns the finished generations (the last is the posterior).

    ``simulate`` takes a list of (u, seed) pairs and yields (position in that list, distance)
    as simulations finish, in any order.
    """
    store = Store(folder, names)
    state = store.state()
    if identity is not None and state and state.get("identity") != identity:
        raise ValueError("the folder holds a different calibration (use --restart)")
    gens = store.load_generations(state) if state else []
    evaluated = store.evaluated()
    history = list(state.get("history", [])) if state else []
    simulations = len(evaluated)
    start = time.monotonic() - float(state.get("elapsed", 0.0) if state else 0.0)
    s = settings
    d = len(names)
    # a run stopped by its budget continues when asked again with a larger budget
    same = bool(state) and state.get("settings") == s.__dict__
    reason = state.get("stopped", "") if same else ""

    def persist(extra: dict[str, Any] | None = None) -> None:
        payload = {
            "identity": identity,
            "settings": s.__dict__,
            "generations": [
                {
                    "index": g.index,
                    "epsilon": g.epsilon,
                    "simulations": g.simulations,
                    "acceptance": g.acceptance,
                    "ess": g.ess,
                }
                for g in gens
            ],
            "history": history,
            "simulations": simulations,
            "elapsed": time.monotonic() - start,
        }
        payload.update(extra or {})
        store.save_state(payload)

    try:
        while not reason:
            g = len(gens)
            prev = gens[-1] if gens else None
            if prev is None:
                epsilon = math.inf
                kernel = None
            else:
                epsilon = float(np.quantile(prev.distance, s.quantile))
                kernel = Kernel(prev)
            accepted_u: list[np.ndarray] = []
            accepted_d: list[float] = []
            accepted_w: list[float] = []
            k = 0
            gen_sims = 0
            while len(accepted_u) < s.particles:
                batch = []
                for kk in range(k, k + s.batch):
                    rng = _rng(s.seed, g, kk)
                    u = rng.random(d) if kernel is None else kernel.propose(rng)
                    batch.append((kk, u, sim_seed(s.seed, g, kk)))
                todo = [(u, seed) for kk, u, seed in batch if (g, kk) not in evaluated]
                index = [kk for kk, _, _ in batch if (g, kk) not in evaluated]
                for pos, dist in simulate(todo):
                    kk = index[pos]
                    evaluated[(g, kk)] = dist
                    store.append(g, kk, dist, todo[pos][0], todo[pos][1])
                    simulations += 1
                for kk, u, _ in batch:
                    gen_sims += 1
                    dist = evaluated[(g, kk)]
                    if dist <= epsilon and len(accepted_u) < s.particles:
                        accepted_u.append(u)
                        accepted_d.append(dist)
                        accepted_w.append(1.0 if kernel is None else 1.0 / kernel.density(u))
                k += s.batch
                elapsed = time.monotonic() - start
                if on_progress:
                    on_progress(
                        Progress(
                            g,
                            epsilon,
                            len(accepted_u),
                            gen_sims,
                            simulations,
                            elapsed,
                            gens[-1] if gens else None,
                            history=history,
                        )
                    )
                over_time = elapsed > s.max_minutes * 60
                over_sims = simulations >= s.max_simulations
                if (over_time or over_sims) and len(accepted_u) < s.particles and gens:
                    reason = "budget spent during generation " + str(g)
                    break
                if gen_sims > 50 * s.particles and len(accepted_u) < s.particles // 2 and gens:
                    reason = f"acceptance collapsed in generation {g}"
                    break
            if reason:
                break
            weights = np.array(accepted_w)
            gen = Generation(
                index=g,
                epsilon=epsilon,
                u=np.array(accepted_u),
                distance=np.array(accepted_d),
                weight=weights / weights.sum(),  # normalised once, as it is saved
                simulations=gen_sims,
                acceptance=len(accepted_u) / gen_sims,
            )
            gens.append(gen)
            store.save_generation(gen)
            history.append(
                {
                    "generation": g,
                    "epsilon": None if math.isinf(epsilon) else epsilon,
                    "acceptance": gen.acceptance,
                    "ess": gen.ess,
                    "simulations": simulations,
                    "median_distance": float(np.median(gen.distance)),
                    "elapsed_s": round(time.monotonic() - start, 1),
                }
            )
            persist()
            if g + 1 >= s.max_generations:
                reason = "reached the last generation"
            elif simulations >= s.max_simulations:
                reason = "simulation budget spent"
            elif time.monotonic() - start > s.max_minutes * 60:
                reason = "time budget spent"
            elif g > 0 and gen.acceptance < s.min_acceptance:
                reason = f"acceptance rate {gen.acceptance:.3f} below {s.min_acceptance}"
    finally:
        store.close()
    persist({"stopped": reason})
    if on_progress and gens:
        last = gens[-1]
        on_progress(
            Progress(
                last.index,
                last.epsilon,
                len(last.u),
                last.simulations,
                simulations,
                time.monotonic() - start,
                last,
                done=True,
                reason=reason,
                history=history,
            )
        )
    return gens
