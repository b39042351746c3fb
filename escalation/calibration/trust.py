"""Trust-region polish of the best parameter set on a local linear model of the targets.

The coordinate search (:func:`~.polish.refine`) moves one value at a time, so it misses
moves that pay only when several values change together. This stage moves all of them at once.
Around the current set it runs the model at many random perturbations, one run each, and fits by
ridge regression, for every fit target, how each value shifts

- the chance that a run falls below the target's range and the chance that it falls above
  (for a peak month: the chance of each month), and
- the centre of the run's statistic (log scale), which sees a target drift towards the edge of
  its range long before any run crosses it.

From these it predicts the chance that the median of an ensemble of ``runs`` runs (the most
frequent month, for a peak month) meets each target, counting the model's own uncertainty, and
takes the step inside a trust region (a ball in prior-quantile units) that most raises the
expected number of targets met. The ensemble is then run there: the step is kept only if its
expected hits (:func:`~.scoring.expected_hits`, by resampling its runs) beat the current
set's, judged on every run made at the current set so far (each step adds fresh ones, so a set
kept on lucky runs does not keep its luck); the region grows after a step that kept at least
half its predicted gain and halves after a rejected one. Every run joins the data of the next
local model while it stays near the current set. Every draw comes from the polish's stream
(per step: ``centre``, ``design``, ``perturbations`` and ``candidate``; ``resample`` for expected
hits), so a polish is repeatable, and its state is saved after every step: an interrupted
polish continues where it stopped.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import ndtr  # the standard normal cdf, without scipy.stats' overhead

from escalation.calibration.polish import Polished
from escalation.calibration.scoring import judge
from escalation.calibration.simulate import Simulator, simulate
from escalation.files import read_state, write_arrays, write_json
from escalation.progress import QUIET, Bars, Counting, end_early
from escalation.record.statistics import slack
from escalation.record.summary import RATIO_EPS, TargetSet
from escalation.seeds import Streams

#: Statistics that take whole-number values (their range edges sit half-way between integers).
INTEGER_STATISTICS = frozenset({"count", "zero", "monthly_max", "monthly_min", "longest_zero_run"})
#: Ratios beyond this are taken as this (an empty reference window gives infinity).
RATIO_CAP = 1e3
#: Quantiles of the centre's runs the drift of a statistic is judged on.
DRIFT_QUANTILES = 50


@dataclass(frozen=True)
class TrustSettings:
    """How the trust-region polish proceeds (units: prior quantiles, 0-1 per value)."""

    steps: int = 3  # candidate steps tried
    perturbations: int = 1500  # runs at perturbed points per step
    spread: float = 0.06  # each value is moved up or down by this in a perturbation
    radius: float = 0.15  # the first trust region (Euclidean)
    min_radius: float = 0.02  # stop once the region is smaller
    max_radius: float = 0.4
    ridge: float = 0.1  # the fitted effects are shrunk by 1 + ridge
    runs: int = 100  # the size of the ensemble whose median is judged


# --------------------------------------------------------------------------- the local model


def _transform(x: np.ndarray, statistic: str) -> np.ndarray:
    """The log scale the centre model works on (infinite ratios capped)."""
    x = np.where(np.isinf(x), RATIO_CAP, x)
    if statistic in ("ratio", "share"):
        return np.log(np.clip(x, 0.0, RATIO_CAP) + RATIO_EPS)
    return np.log1p(np.maximum(x, 0.0))


def _edge(bound: float, statistic: str) -> float:
    """A range edge on the centre model's scale."""
    if statistic in ("ratio", "share"):
        return float(np.log(min(max(bound, 0.0), RATIO_CAP) + RATIO_EPS))
    return float(np.log1p(max(bound, -0.5)))


def _outside(ts: TargetSet, i: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether each run's statistic lies below, and above, target ``i``'s range (as
    :func:`~.target_satisfied` judges it; undefined values are neither)."""
    v = ts.targets[i].value
    x = np.where(np.isinf(x), 1e9, x)  # as the ensemble centre takes them
    nan = np.isnan(x)
    with np.errstate(invalid="ignore"):
        if v.low_strict:
            below = x <= v.low
        elif np.isfinite(v.low):
            below = x < v.low - slack(v.low)
        else:
            below = np.zeros(len(x), dtype=bool)
        if v.high_strict:
            above = x >= v.high
        elif np.isfinite(v.high):
            above = x > v.high + slack(v.high)
        else:
            above = np.zeros(len(x), dtype=bool)
    return (below & ~nan).astype(float), (above & ~nan).astype(float)


class LocalModel:
    """Linear models, around a centre, of what each fit target's chance of being met depends on.

    ``centre`` holds runs at the centre (rows: runs, columns: targets); ``design`` the offsets
    (prior-quantile units) of further runs whose statistics are ``stats``."""

    def __init__(
        self,
        ts: TargetSet,
        centre: np.ndarray,
        design: np.ndarray,
        stats: np.ndarray,
        *,
        runs: int,
        ridge: float = 0.1,
    ) -> None:
        self.ts = ts
        self.runs = runs
        n_c, n = len(centre), design.shape[1]
        x = np.vstack([np.zeros((n_c, n)), design])
        xc = np.hstack([np.ones((len(x), 1)), x])
        gram = xc.T @ xc
        # shrink each effect by 1 + ridge (a value never moved has no effect)
        gram += np.diag(np.r_[0.0, np.maximum(ridge * np.diag(gram)[1:], 1e-9)])
        inv = np.linalg.inv(gram)
        self._slope_cov = inv[1:, 1:]
        every = np.vstack([centre, stats])
        self._fit_chances(centre, every, xc, inv)
        self._fit_drift(every, n_c, xc, inv)
        self._drift0_at: dict[float, np.ndarray] = {}

    def _fit_chances(
        self, centre: np.ndarray, every: np.ndarray, xc: np.ndarray, inv: np.ndarray
    ) -> None:
        """The chances a run falls below / above each range, or lands on each month: their
        value at the centre, their gradients and the noise around them."""
        ts, n_c = self.ts, len(centre)
        cols: list[np.ndarray] = []
        self._median: list[tuple[int, int, int]] = []  # target, below column, above column
        self._peaks: list[tuple[int, int, np.ndarray]] = []  # target, month column, rivals
        for i, t in enumerate(ts.targets):
            x_i = every[:, i]
            if t.statistic == "peak_month":
                want = ts.peak_index[i]
                months = np.unique(np.r_[centre[:, i], want])
                first = len(cols)
                cols += [(x_i == m).astype(float) for m in months]
                share = np.array([np.mean(centre[:, i] == m) for m in months])
                k_want = first + int(np.flatnonzero(months == want)[0])
                rivals = [first + j for j, m in enumerate(months) if m != want and share[j] > 0.01]
                self._peaks.append((i, k_want, np.array(rivals, dtype=int)))
            else:
                below, above = _outside(ts, i, x_i)
                self._median.append((i, len(cols), len(cols) + 1))
                cols += [below, above]
        y = np.array(cols).T
        coef = inv @ (xc.T @ y)
        self._gain = coef[1:]
        self._noise = ((y - xc @ coef) ** 2).mean(axis=0)
        self._q0 = y[:n_c].mean(axis=0)
        self._q0_var = self._q0 * (1 - self._q0) / n_c
        self._med = np.array(self._median, dtype=int).reshape(-1, 3)

    def _fit_drift(self, every: np.ndarray, n_c: int, xc: np.ndarray, inv: np.ndarray) -> None:
        """The centres of the median targets' statistics (log scale), their shift with each
        value and the range edges, for the drift towards an edge."""
        lo, hi, ys = [], [], []
        for i in self._med[:, 0]:
            t = self.ts.targets[i]
            v, st = t.value, t.statistic
            half = 0.5 if st in INTEGER_STATISTICS else 0.0
            lo.append(
                _edge(v.low + (half if v.low_strict else -half), st)
                if np.isfinite(v.low)
                else -np.inf
            )
            hi.append(
                _edge(v.high + (-half if v.high_strict else half), st)
                if np.isfinite(v.high)
                else np.inf
            )
            ys.append(_transform(every[:, i], st))
        n = xc.shape[1] - 1
        ys_arr = np.array(ys).T if ys else np.zeros((len(every), 0))
        valid = ~np.isnan(ys_arr)
        with warnings.catch_warnings():  # a statistic undefined in every run is filled with 0
            warnings.simplefilter("ignore", RuntimeWarning)
            fill = np.nanmedian(np.where(valid, ys_arr, np.nan), axis=0) if ys else np.zeros(0)
        fill = np.where(np.isnan(fill), 0.0, fill)
        ys_arr = np.where(valid, ys_arr, fill)
        self._shift = (inv @ (xc.T @ ys_arr))[1:] if ys else np.zeros((n, 0))
        # the centre's runs, summarised per target by evenly spaced quantiles (the search
        # evaluates this model many thousand times)
        centre_y = np.where(valid[:n_c], ys_arr[:n_c], np.nan)
        m = min(n_c, DRIFT_QUANTILES)
        with warnings.catch_warnings():  # a statistic undefined in every run: no drift
            warnings.simplefilter("ignore", RuntimeWarning)
            y0 = np.nanquantile(centre_y, (np.arange(m) + 0.5) / m, axis=0)
            sd = np.nanstd(centre_y, axis=0)
            q75, q25 = np.nanpercentile(centre_y, [75, 25], axis=0) if ys else (sd, sd)
        known = ~np.isnan(y0).any(axis=0)
        self._y0 = np.where(known, y0, 0.0)
        self._shift[:, ~known] = 0.0
        sd, iqr = np.nan_to_num(sd), np.nan_to_num(q75 - q25)
        spread = np.minimum(sd, np.where(iqr > 0, iqr / 1.34, sd))  # Silverman's rule
        self._bw = np.maximum(0.9 * spread * n_c**-0.2, 0.02)
        self._lo, self._hi = np.array(lo), np.array(hi)

    def _drift0(self, blur: float) -> np.ndarray:
        if blur not in self._drift0_at:
            self._drift0_at[blur] = self._drift_chances(np.zeros((1, self._shift.shape[0])), blur)[
                0
            ]
        return self._drift0_at[blur]

    def _drift_chances(self, moves: np.ndarray, blur: float = 1.0) -> np.ndarray:
        """Chances of meeting each median target (moves x targets) if the centre runs'
        statistics shift as the centre model says (smoothed)."""
        y = self._y0[None, :, :] + (moves @ self._shift)[:, None, :]  # moves x quantiles x targets
        bw = self._bw * blur
        below = ndtr((self._lo - y) / bw).mean(axis=1)
        above = ndtr((y - self._hi) / bw).mean(axis=1)
        s = 0.5 * blur / np.sqrt(self.runs)
        return np.maximum(ndtr((0.5 - above) / s) + ndtr((0.5 - below) / s) - 1, 0)

    def chances(self, delta: np.ndarray, blur: float = 1.0) -> np.ndarray:
        """Per target: the predicted chance that an ensemble's median meets it after ``delta``
        (``blur`` > 1 widens every spread, so a target far from its range still pulls); for a
        2-d ``delta`` (one move a row), one row of chances a move."""
        moves = np.atleast_2d(delta)
        q = np.clip(self._q0 + moves @ self._gain, 0.0, 1.0)  # moves x columns
        spread = np.einsum("bi,ij,bj->b", moves, self._slope_cov, moves)
        var = (self._q0_var + self._noise * spread[:, None]) * blur**2
        out = np.zeros((len(moves), len(self.ts.targets)))
        med = self._med
        if len(med):
            i, kb, ka = med[:, 0], med[:, 1], med[:, 2]
            r = self.runs
            sb = np.sqrt(0.25 * blur**2 / r + var[:, kb])
            sa = np.sqrt(0.25 * blur**2 / r + var[:, ka])
            p = ndtr((0.5 - q[:, ka]) / sa) + ndtr((0.5 - q[:, kb]) / sb) - 1.0
            # what the drift of the statistic's centre takes away (its gains are left to the
            # chances above, which see runs cross the edge)
            p = p + np.minimum(0.0, self._drift_chances(moves, blur) - self._drift0(blur))
            out[:, i] = np.clip(p, 0.0, 1.0)
        for j, k, rivals in self._peaks:
            pt, pm = q[:, [k]], q[:, rivals]
            s = np.sqrt(
                blur**2 * np.maximum(pt + pm - (pt - pm) ** 2, 1e-6) / self.runs
                + var[:, [k]]
                + var[:, rivals]
            )
            out[:, j] = np.prod(ndtr((pt - pm) / s), axis=1)
        return out if np.ndim(delta) == 2 else out[0]

    def expected_hits(self, delta: np.ndarray, blur: float = 1.0) -> float:
        """The predicted number of targets met after ``delta``."""
        return float(self.chances(delta, blur).sum())

    def _value_and_gradient(self, d: np.ndarray, blur: float) -> tuple[float, np.ndarray]:
        """Minus the expected hits at ``d`` and its gradient (forward differences, in one
        batch of moves)."""
        h = 1e-5
        hits = self.chances(np.vstack([d, d + np.eye(len(d)) * h]), blur).sum(axis=1)
        return -float(hits[0]), -(hits[1:] - hits[0]) / h

    #: Spreads widened by these factors in turn: a target far from its range, whose chance is
    #: flat at zero, still pulls the first search; each later one starts where the last ended.
    BLURS = (8.0, 4.0, 2.0, 1.0)

    def step(self, radius: float, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
        """The move inside the ball of ``radius`` and the box [lower, upper] that most raises the
        predicted expected hits (zero if none does)."""
        n = len(lower)
        bounds = list(zip(lower, upper, strict=True))
        ball = {"type": "ineq", "fun": lambda d: radius**2 - d @ d, "jac": lambda d: -2 * d}
        best, best_value = np.zeros(n), self.expected_hits(np.zeros(n))
        d = np.zeros(n)
        for blur in self.BLURS:
            res = optimize.minimize(
                self._value_and_gradient,
                d,
                args=(blur,),
                jac=True,
                method="SLSQP",
                bounds=bounds,
                constraints=[ball],
                options={"maxiter": 200},
            )
            d = np.clip(res.x, lower, upper)
            norm = float(np.linalg.norm(d))
            if norm > radius:
                d *= radius / norm
            value = self.expected_hits(d)
            if value > best_value:
                best, best_value = d.copy(), value
        return best


# --------------------------------------------------------------------------- the polish


@dataclass(slots=True)
class _Polish:
    """Where a trust-region polish stands: the current set, the region, the log, and the runs
    at the current set (``centre``) and near it (``pool_u``, ``pool``)."""

    u: np.ndarray
    radius: float
    step: int
    log: list[dict[str, Any]]
    centre: np.ndarray
    pool_u: np.ndarray
    pool: np.ndarray
    earlier: float = 0.0  # seconds spent by earlier calls

    @classmethod
    def new(cls, u: np.ndarray, radius: float, n_targets: int) -> _Polish:
        """A polish about to take its first step from ``u``."""
        empty = np.zeros((0, n_targets))
        return cls(u, radius, 0, [], empty, np.zeros((0, len(u))), empty.copy())

    @classmethod
    def load(cls, saved: dict[str, Any], runs_file: Path) -> _Polish:
        """A polish as its state file and runs file hold it."""
        with np.load(runs_file) as data:
            centre, pool_u, pool = data["centre"], data["pool_u"], data["pool"]
        u = np.array(saved["u"], dtype=float)
        radius, step, log = float(saved["radius"]), int(saved["step"]), list(saved["log"])
        return cls(u, radius, step, log, centre, pool_u, pool, float(saved["elapsed"]))

    def save(self, state: Path, identity: dict[str, Any], t0: float) -> None:
        """Write the runs, then the state (``t0``: when this call began)."""
        write_arrays(_runs_file(state), centre=self.centre, pool_u=self.pool_u, pool=self.pool)
        body = {
            "identity": identity,
            "u": self.u.tolist(),
            "radius": self.radius,
            "step": self.step,
            "log": self.log,
            "elapsed": self.earlier + time.monotonic() - t0,  # seconds, over every call
        }
        write_json(state, body)


def _run_at(
    sim: Simulator, executor: Any, points: list[np.ndarray], seeds: list[int]
) -> np.ndarray:
    """Statistics of one run at each point (prior quantiles), each with its seed."""
    return simulate(sim, [sim.values(u) for u in points], seeds, executor).stats


def _take_step(
    p: _Polish, sim: Simulator, executor: Any, settings: TrustSettings, streams: Streams
) -> None:
    """Step ``p.step``: fresh runs at the current set, runs at perturbations around it, the
    local model's best move inside the region, and runs there, kept if they judge better."""
    k, n, ts, runs = p.step, len(p.u), sim.targets, settings.runs
    # fresh runs at the current set join its earlier ones: a set kept on lucky runs is
    # judged again, on more runs, before the next step must beat it
    fresh = _run_at(sim, executor, [p.u] * runs, streams.child("centre").child(k).seeds(runs))
    p.centre = np.vstack([p.centre, fresh])
    resample = streams.child("resample")
    best = judge(ts, p.centre, resample, runs=runs)
    design = (
        streams.child("design").child(k).rng().choice([-1.0, 1.0], size=(settings.perturbations, n))
    )
    points = np.clip(p.u + design * settings.spread, 0.0, 1.0)
    seeds = streams.child("perturbations").child(k).seeds(settings.perturbations)
    pool_u = np.vstack([p.pool_u, points])
    pool = np.vstack([p.pool, _run_at(sim, executor, list(points), seeds)])
    near = np.abs(pool_u - p.u).max(axis=1) <= 2.5 * settings.spread
    p.pool_u, p.pool = pool_u[near], pool[near]
    model = LocalModel(ts, p.centre, p.pool_u - p.u, p.pool, runs=runs, ridge=settings.ridge)
    delta = model.step(p.radius, -p.u, 1.0 - p.u)
    predicted = model.expected_hits(delta) - model.expected_hits(np.zeros(n))
    entry = {"step": k, "radius": round(p.radius, 6), "centre_runs": len(p.centre)}
    entry |= {"centre_hits": best[0], "centre_distance": best[1]}
    if not np.any(delta):  # the model sees no better point in the region
        p.radius /= 2
        p.log.append(entry | _candidate(0.0, None, False, 0.0))
        return
    cand_u = p.u + delta
    cand = _run_at(sim, executor, [cand_u] * runs, streams.child("candidate").child(k).seeds(runs))
    score = judge(ts, cand, resample, runs=runs)
    accepted = score.beats(best)
    if accepted:
        # the old set's runs stay in the pool, as a point the step left behind
        p.pool_u = np.vstack([p.pool_u, np.repeat(p.u[None, :], len(p.centre), axis=0)])
        p.pool = np.vstack([p.pool, p.centre])
        p.u, p.centre = cand_u, cand
        if score[0] - best[0] >= 0.5 * predicted:
            p.radius = min(settings.max_radius, p.radius * 1.5)
    else:
        p.pool_u = np.vstack([p.pool_u, np.repeat(cand_u[None, :], len(cand), axis=0)])
        p.pool = np.vstack([p.pool, cand])
        p.radius /= 2
    p.log.append(entry | _candidate(predicted, score, accepted, float(np.linalg.norm(delta))))


def trust_polish(
    sim: Simulator,
    start: Sequence[float],
    executor: Any,
    settings: TrustSettings,
    streams: Streams,
    *,
    state: Path | None = None,
    bars: Bars = QUIET,
) -> Polished:
    """Polish ``start`` (values of ``sim``'s fitted names) by trust-region steps on local
    linear models (see the module docstring). With ``state`` (a JSON file, its runs beside it
    in a .npz file) it saves itself after every step, and a later call with the same start and
    settings and streams continues where it stopped, with more steps if asked; ``bars`` shows
    its runs. Returns the values and a log of every step."""
    ts = sim.targets
    identity = {
        "names": list(sim.names),
        "start": [float(v) for v in start],
        "settings": {k: v for k, v in asdict(settings).items() if k != "steps"},
        "streams": repr(streams),
        "targets": [t.id for t in ts.targets],
    }
    saved = _read_state(state, identity)
    t0 = time.monotonic()
    if saved is not None:
        assert state is not None
        p = _Polish.load(saved, _runs_file(state))
    else:
        u = np.array([q.to_unit(v) for q, v in zip(sim.priors, start, strict=True)], dtype=float)
        p = _Polish.new(u, settings.radius, len(ts.targets))
    per_step, first = 2 * settings.runs + settings.perturbations, p.step
    label = "polishing the best set jointly (trust region)"
    with bars.bar(label, max(0, settings.steps - first) * per_step) as bar:
        counted = Counting(executor, bar.update)
        while p.step < settings.steps and p.radius >= settings.min_radius:
            p.step += 1
            bar.set_postfix(step=f"{p.step}/{settings.steps}", radius=f"{p.radius:.3g}")
            _take_step(p, sim, counted, settings, streams)
            bar.n = (p.step - first) * per_step  # a step the model sees no gain in runs less
            bar.refresh()
            if state is not None:
                p.save(state, identity, t0)
        end_early(bar)  # the region shrank below its floor before the last step
    if state is not None:
        p.save(state, identity, t0)
    return Polished(sim.values(p.u), pd.DataFrame(p.log))


def _runs_file(state: Path) -> Path:
    return state.with_suffix(".npz")


def _candidate(
    predicted: float, score: tuple[float, float] | None, accepted: bool, moved: float
) -> dict[str, Any]:
    """The step's part of a log row: the gain the local model predicted, the candidate's
    expected hits and distance, whether it was kept, and how far it moved."""
    return {
        "predicted_gain": round(predicted, 4),
        "candidate_hits": None if score is None else score[0],
        "candidate_distance": None if score is None else score[1],
        "accepted": accepted,
        "moved": round(moved, 6),
    }


def _read_state(path: Path | None, identity: dict[str, Any]) -> dict[str, Any] | None:
    """A saved polish with this identity (and its runs), or None."""
    if path is None or not _runs_file(path).exists():
        return None
    return read_state(path, identity)
