"""The calibration report: targets hit or missed, phase changes, scores against null models."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from escalation.record.summary import TargetSet, rms
from escalation.record.types import ZERO, Phase, Record, Source, Target, Value, Window


def phase_targets(record: Record) -> list[tuple[Phase, str, str, Target, Target]]:
    """For every expected phase change: (phase, series, direction, count in the phase, count in
    the phase it is compared with), as count targets the evaluator can compute."""
    by_id = {p.id: p for p in record.phases}
    mains = list(record.main_phases)
    out = []
    for phase in record.phases:
        for change in phase.expected_change:
            if change.versus is not None:
                versus = by_id[change.versus]
            elif phase.level == "sub" and phase.within:
                versus = by_id[phase.within]
            else:
                idx = mains.index(phase)
                if idx == 0:
                    continue
                versus = mains[idx - 1]

            source = (Source(change.source.file, change.source.passages),)
            pair = [
                Target(
                    id=f"phase:{phase.id}:{change.series}:{tag}",
                    series=change.series,
                    window=Window(p.start, p.end),
                    statistic="count",
                    value=Value(form="lower", low=0.0),
                    sources=source,
                    definition="",
                )
                for p, tag in ((phase, "in"), (versus, "versus"))
            ]
            out.append((phase, change.series, change.direction, pair[0], pair[1]))
    return out


def phase_fit_targets(record: Record) -> list[Target]:
    """Every expected phase change as a target the fit can score run by run: the count in the
    phase over the count in the phase it is compared with, against the ratio of their lengths
    (a higher daily rate for an increase, a lower one for a decrease), or no events at all."""
    out = []
    for phase, series, direction, t_in, t_vs in phase_targets(record):
        days = t_in.window.days / t_vs.window.days
        if direction == "zero":
            stat, reference, value = "zero", None, ZERO
        else:
            stat, reference = "ratio", t_vs.window
            if direction == "increase":
                value = Value(form="lower", low=days, low_strict=True)
            else:
                value = Value(form="upper", high=days, high_strict=True)
        out.append(
            Target(
                id=f"phase:{phase.id}:{series}",
                series=series,
                window=t_in.window,
                statistic=stat,
                value=value,
                sources=t_in.sources,
                definition=f"{phase.label}: {direction} of the daily rate of {series}",
                reference=reference,
            )
        )
    return out


#: Counts the sources give as exact figures are one realisation of a random process: the
#: sampling-error criterion accepts a median within 1.645 standard errors (Poisson: sqrt(N)) of
#: such a count, i.e. inside its 90% sampling interval.
SAMPLING_Z = 1.645


def within_sampling_error(t: Target, median: float) -> bool:
    """For an exact count (or monthly count): is the median inside the count's 90% Poisson
    sampling interval? Other targets: False (they are judged by their range alone)."""
    v = t.value
    exact = v.form == "point" and not v.approximate and not v.tolerance
    if not exact or t.statistic not in ("count", "monthly_max", "monthly_min"):
        return False
    n = float(v.point)
    half = SAMPLING_Z * math.sqrt(max(n, 1.0))
    return n - half <= median <= n + half


@dataclass
class Scores:
    """How well an ensemble meets a set of targets."""

    targets: int
    hits: int
    in_interval: int
    distance: float
    hits_sampling: int = 0

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
        }


def ensemble_centre(ts: TargetSet, stats: np.ndarray) -> np.ndarray:
    """Per target: the median across runs (the most frequent month for peak months).

    ``stats`` is (runs, targets), or (ensembles, runs, targets) for several ensembles at once."""
    clean = np.where(np.isinf(stats), 1e9, stats)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        # a statistic undefined in every run (a ratio over an empty window) stays NaN: a miss
        warnings.simplefilter("ignore", RuntimeWarning)
        centre = np.nanmedian(clean, axis=-2)
    for i, t in enumerate(ts.targets):
        if t.statistic == "peak_month":
            months = stats[..., i].reshape(-1, stats.shape[-2])
            modes = [_mode(m) for m in months]
            centre[..., i] = np.reshape(modes, centre.shape[:-1])
    return centre


def _mode(values: np.ndarray) -> float:
    vals, counts = np.unique(values, return_counts=True)
    return vals[np.argmax(counts)]


def centre_and_band(ts: TargetSet, stats: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per target: median across runs (most frequent month for peak months), 5% and 95%."""
    clean = np.where(np.isinf(stats), 1e9, stats)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low = np.nanquantile(clean, 0.05, axis=0)
        high = np.nanquantile(clean, 0.95, axis=0)
    return ensemble_centre(ts, stats), low, high


def _interval_holds(t: Target, lo: float, hi: float) -> bool:
    """Whether the observed value or range overlaps the simulated 5-95% interval."""
    v = t.value
    if t.statistic == "peak_month":
        return True  # judged by the month itself
    return not (v.high < lo or v.low > hi)


def score(ts: TargetSet, stats: np.ndarray, subset: Sequence[str] | None = None) -> Scores:
    """Hits (median inside the observed range), overlaps of the 90% interval, RMS distance."""
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
    return Scores(len(keep), int(sat[keep].sum()), int(sum(inside)), rms(dist[keep]), sampling)


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


def phase_table(
    changes: Sequence[tuple[Phase, str, str, Target, Target]], stats: np.ndarray, offset: int
) -> pd.DataFrame:
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
    return pd.DataFrame(rows)


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


def markdown_table(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> str:
    """A DataFrame as a Markdown table (no extra dependency)."""
    frame = frame[list(columns)] if columns else frame
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = [
        "| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)
    ]
    return "\n".join([head, rule, *body])


def _cell(v) -> str:
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "**no**"
    return str(v).replace("|", "/").replace("\n", " ")
