"""Scoring an ensemble against targets: its centre (median, or most frequent month), the
expected hits that rank parameter sets, and the per-target, per-incident and per-phase tables
and scores of the report (hit counts of the median, and the mean censored CRPS of the whole
ensemble, :mod:`escalation.calibration.proper`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from escalation.calibration.loading import Calibration
from escalation.calibration.phases import PhaseChange, phase_targets
from escalation.calibration.proper import mean_crps
from escalation.record.summary import TargetSet, rms
from escalation.record.types import Target
from escalation.seeds import Streams

#: Counts the sources give as exact figures are one realisation of a random process: the
#: sampling-error criterion accepts a median within 1.645 standard errors (Poisson: sqrt(N)) of
#: such a count, i.e. inside its 90% sampling interval.
SAMPLING_Z = 1.645


def within_sampling_error(t: Target, median: float) -> bool:
    """For an exact count (or monthly count): is the median inside the count's 90% Poisson
    sampling interval? Other targets: False (they are judged by their range alone)."""
    v = t.value
    exact = v.form == "point" and not v.approximate and not v.tolerance
    if not exact or v.point is None or t.statistic not in ("count", "monthly_max", "monthly_min"):
        return False
    n = float(v.point)
    half = SAMPLING_Z * math.sqrt(max(n, 1.0))
    return n - half <= median <= n + half


@dataclass
class Scores:
    """How well an ensemble meets a set of targets: by its median (hits, distance), its 90%
    interval, and its whole distribution (``crps``: the mean scaled censored CRPS, lower is
    better)."""

    targets: int
    hits: int
    in_interval: int
    distance: float
    hits_sampling: int = 0
    crps: float = math.nan

    @property
    def hit_rate(self) -> float:
        return self.hits / self.targets if self.targets else math.nan

    def as_dict(self) -> dict[str, float]:
        return {
            "targets": self.targets,
            "hits": self.hits,
            "hit_rate": round(self.hit_rate, 4),
            "hits_within_sampling_error": self.hits_sampling,
            "observed_in_90pct_interval": self.in_interval,
            "rms_distance_of_medians": round(self.distance, 4),
            "crps": round(self.crps, 4),
        }


def ensemble_centre(ts: TargetSet, stats: np.ndarray) -> np.ndarray:
    """Per target: the median across runs (the most frequent month for peak months).

    A statistic undefined in a run (a ratio over an empty window: NaN) has no value there. The
    median is taken over the runs where it is defined, unless it is undefined in at least half
    the runs: then the ensemble has no typical value for it, and its centre is NaN (a miss), so
    a ratio target is not met by the few runs that happen to define it.

    ``stats`` is (runs, targets), or (ensembles, runs, targets) for several ensembles at once."""
    clean = np.where(np.isinf(stats), 1e9, stats)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        centre = np.nanmedian(clean, axis=-2)
    centre[np.isnan(stats).mean(axis=-2) >= 0.5] = np.nan
    for i, t in enumerate(ts.targets):
        if t.statistic == "peak_month":
            months = stats[..., i].reshape(-1, stats.shape[-2])
            modes = [_mode(m) for m in months]
            centre[..., i] = np.reshape(modes, centre.shape[:-1])
    return centre


def _mode(values: np.ndarray) -> float:
    vals, counts = np.unique(values, return_counts=True)
    return vals[np.argmax(counts)]


ENSEMBLE_RUNS = 100  # the size of the ensemble whose median ranks parameter sets
BOOTSTRAP_DRAWS = 200


def expected_hits(
    targets: TargetSet,
    stats: np.ndarray,
    resample: Streams,
    *,
    runs: int = ENSEMBLE_RUNS,
    draws: int = BOOTSTRAP_DRAWS,
) -> float:
    """The expected number of fit targets an ensemble of ``runs`` runs meets with its median,
    estimated by resampling the rows of ``stats`` (one row per run) with draws from
    ``resample``: the same stream for every ensemble a stage compares, so equal inputs give
    equal estimates and unequal ones are judged on the same resamples.

    Counting the hits of the median of the runs at hand rewards a median that lands in a narrow
    range by the luck of those seeds; the expectation over resampled ensembles instead grows as
    the distribution's middle moves towards each observed range, which is what a fresh
    ensemble's score depends on."""
    if len(stats) == 0:
        return 0.0
    idx = resample.rng().integers(0, len(stats), size=(draws, runs))
    centres = ensemble_centre(targets, stats[idx])  # (draws, targets)
    total = 0
    for i in range(len(targets.targets)):
        vals, inverse = np.unique(centres[:, i], return_inverse=True)
        ok = np.array([targets.satisfied_one(i, v) for v in vals], dtype=bool)
        total += int(ok[inverse].sum())
    return total / draws


class Judgement(NamedTuple):
    """How an ensemble is ranked: expected hits, ties broken by the distance of its median."""

    hits: float
    distance: float

    def beats(self, other: Judgement) -> bool:
        """More expected hits, or as many and a smaller distance."""
        return (self.hits, -self.distance) > (other.hits, -other.distance)


def judge(
    targets: TargetSet, stats: np.ndarray, resample: Streams, *, runs: int = ENSEMBLE_RUNS
) -> Judgement:
    """Expected hits of an ensemble of ``runs`` runs (resampled from ``resample``) and the
    distance of the median of ``stats``."""
    centre = ensemble_centre(targets, stats)
    hits = expected_hits(targets, stats, resample, runs=runs)
    return Judgement(hits, rms(targets.distances(centre)))


class Band(NamedTuple):
    """Per target: the ensemble's centre and its 5% and 95% quantiles."""

    centre: np.ndarray
    low: np.ndarray
    high: np.ndarray


def centre_and_band(ts: TargetSet, stats: np.ndarray) -> Band:
    """Per target: median across runs (most frequent month for peak months), 5% and 95%."""
    clean = np.where(np.isinf(stats), 1e9, stats)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low = np.nanquantile(clean, 0.05, axis=0)
        high = np.nanquantile(clean, 0.95, axis=0)
    return Band(ensemble_centre(ts, stats), low, high)


def _interval_holds(t: Target, lo: float, hi: float) -> bool:
    """Whether the observed value or range overlaps the simulated 5-95% interval."""
    v = t.value
    if t.statistic == "peak_month":
        return True  # judged by the month itself
    return not (v.high < lo or v.low > hi)


def score(ts: TargetSet, stats: np.ndarray, subset: Sequence[str] | None = None) -> Scores:
    """Hits (median inside the observed range), overlaps of the 90% interval, RMS distance, and
    the mean censored CRPS."""
    centre, low, high = centre_and_band(ts, stats)
    keep = [i for i, t in enumerate(ts.targets) if subset is None or t.id in set(subset)]
    if not keep:
        return Scores(0, 0, 0, math.nan)
    sat = ts.satisfied(centre)
    dist = ts.distances(centre)
    inside = [
        _interval_holds(ts.targets[i], low[i], high[i])
        if ts.targets[i].statistic != "peak_month"
        else bool(sat[i])
        for i in keep
    ]
    sampling = sum(bool(sat[i]) or within_sampling_error(ts.targets[i], centre[i]) for i in keep)
    return Scores(
        len(keep),
        int(sat[keep].sum()),
        int(sum(inside)),
        rms(dist[keep]),
        sampling,
        mean_crps(ts, stats, subset),
    )


def target_table(ts: TargetSet, stats: np.ndarray, role: dict[str, str]) -> pd.DataFrame:
    """One row per target: observed, simulated median and 90% interval, hit or miss."""
    centre, low, high = centre_and_band(ts, stats)
    sat = ts.satisfied(centre)
    dist = ts.distances(centre)
    rows = []
    for i, t in enumerate(ts.targets):
        if t.statistic == "peak_month":
            shown = ts.value_of(i, centre[i])
            lo_s = hi_s = ""
        else:
            shown = _fmt(centre[i])
            lo_s, hi_s = _fmt(low[i]), _fmt(high[i])
        rows.append(
            {
                "id": t.id,
                "role": role.get(t.id, ""),
                "series": t.series,
                "window": str(t.window),
                "statistic": t.statistic,
                "observed": t.value.describe(),
                "median": shown,
                "p05": lo_s,
                "p95": hi_s,
                "hit": bool(sat[i]),
                "within_sampling_error": bool(sat[i]) or within_sampling_error(t, centre[i]),
                "observed_in_interval": bool(sat[i])
                if t.statistic == "peak_month"
                else _interval_holds(t, low[i], high[i]),
                "distance": round(float(dist[i]), 3),
                "source": f"{t.sources[0].file}: {t.sources[0].passages[0][:90]}",
            }
        )
    return pd.DataFrame(rows)


def episode_table(ts: TargetSet, stats: np.ndarray) -> pd.DataFrame:
    """Dated incidents: the share of runs in which each happened as the source says."""
    rows = []
    for i, t in enumerate(ts.targets):
        ok = np.array([ts.satisfied_one(i, x) for x in stats[:, i]])
        rows.append(
            {
                "id": t.id,
                "series": t.series,
                "window": str(t.window),
                "observed": t.value.describe(),
                "share_of_runs": round(float(ok.mean()), 3),
                "source": f"{t.sources[0].file}: {t.sources[0].passages[0][:90]}",
            }
        )
    return pd.DataFrame(rows)


def phase_table(changes: Sequence[PhaseChange], stats: np.ndarray, offset: int) -> pd.DataFrame:
    """Per expected change: the simulated change of the mean daily rate, median and 90%."""
    rows = []
    for j, (phase, series, direction, t_in, t_vs) in enumerate(changes):
        a = stats[:, offset + 2 * j] / t_in.window.days
        b = stats[:, offset + 2 * j + 1] / t_vs.window.days
        with np.errstate(divide="ignore", invalid="ignore"):
            change = np.where(b > 0, a / b - 1.0, np.where(a > 0, np.inf, 0.0))
        med = float(np.median(a)), float(np.median(b))
        rate_change = (med[0] / med[1] - 1.0) if med[1] > 0 else (math.inf if med[0] > 0 else 0.0)
        if direction == "zero":
            ok = med[0] == 0.0
            share = float(np.mean(a == 0))
        elif direction == "increase":
            ok = med[0] > med[1]
            share = float(np.mean(a > b))
        else:
            ok = med[0] < med[1]
            share = float(np.mean(a < b))
        finite = change[np.isfinite(change)]
        rows.append(
            {
                "phase": phase.label,
                "phase_id": phase.id,
                "series": series,
                "observed": direction,
                "simulated_change": _pct(rate_change),
                "p05": _pct(np.quantile(finite, 0.05)) if finite.size else "",
                "p95": _pct(np.quantile(finite, 0.95)) if finite.size else "",
                "share_of_runs_in_direction": round(share, 3),
                "reproduced": bool(ok),
            }
        )
    return pd.DataFrame(rows, columns=PHASE_COLUMNS)


#: the columns of the phase table (also when a run's period holds no phase change)
PHASE_COLUMNS = [
    "phase",
    "phase_id",
    "series",
    "observed",
    "simulated_change",
    "p05",
    "p95",
    "share_of_runs_in_direction",
    "reproduced",
]


def _pct(x: float) -> str:
    if math.isinf(x):
        return "from zero"
    return f"{x * 100:+.0f}%"


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "inf" if x > 0 else "n/a"
    if abs(x) >= 100 or float(x).is_integer():
        return f"{x:.0f}"
    return f"{x:.3g}"


# --------------------------------------------------------------------------- the report's targets


@dataclass
class ReportSet:
    """Everything one ensemble is scored on: tempo targets, episodes, phase-change counts (in
    this order in ``ts``)."""

    ts: TargetSet
    n_tempo: int
    n_episodes: int
    changes: list[PhaseChange]

    @property
    def tempo(self) -> TargetSet:
        """The tempo targets alone."""
        return slice_targets(self.ts, 0, self.n_tempo)

    @property
    def incidents(self) -> TargetSet:
        """The dated incidents (episodes) alone."""
        return slice_targets(self.ts, self.n_tempo, self.n_tempo + self.n_episodes)


def report_set(cal: Calibration) -> ReportSet:
    """The targets the report scores: every tempo target (fitted or held out), the dated
    incidents, and both counts of every phase change inside the scenario's dates."""
    start, end = cal.scenario.start, cal.scenario.end
    changes = [
        c
        for c in phase_targets(cal.record)
        if c.count_in.within(start, end) and c.count_versus.within(start, end)
    ]
    counts = [t for c in changes for t in (c.count_in, c.count_versus)]
    targets = [*cal.score_targets, *cal.episodes, *counts]
    ts = TargetSet(targets, cal.series_names, start, cal.n_days)
    return ReportSet(ts, len(cal.score_targets), len(cal.episodes), changes)


def slice_targets(src: TargetSet, a: int, b: int) -> TargetSet:
    """A view of targets a..b of a compiled set (no recompilation)."""
    dst = TargetSet.__new__(TargetSet)
    dst.targets = src.targets[a:b]
    dst.compiled = src.compiled[a:b]
    dst.month_labels = src.month_labels[a:b]
    dst.low, dst.high, dst.peak_index = src.low[a:b], src.high[a:b], src.peak_index[a:b]
    dst.start, dst.n_days = src.start, src.n_days
    return dst


class Roles(NamedTuple):
    """Target ids by role: every tempo target, those fitted, those held out."""

    tempo: list[str]
    fit: list[str]
    holdout: list[str]

    @classmethod
    def of(cls, cal: Calibration) -> Roles:
        """The roles of a calibration's targets."""
        return cls(
            [t.id for t in cal.score_targets],
            [t.id for t in cal.fit_targets],
            [t.id for t in cal.holdout_targets],
        )

    def labels(self) -> dict[str, str]:
        """Target id -> its role as the target table shows it."""
        return {i: "fit" for i in self.fit} | {i: "out of sample" for i in self.holdout}


def model_scores(ts: TargetSet, stats: np.ndarray, roles: Roles) -> dict[str, Any]:
    """A model's scores on every tempo target and, for an out-of-sample fit, on the fitted and
    the held-out ones."""
    out = {"all_tempo_targets": score(ts, stats, roles.tempo).as_dict()}
    if roles.holdout:
        out["fit_targets"] = score(ts, stats, roles.fit).as_dict()
        out["out_of_sample_targets"] = score(ts, stats, roles.holdout).as_dict()
    return out
