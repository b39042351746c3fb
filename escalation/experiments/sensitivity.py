"""Whether a sweep's Sobol indices say anything, and how large a design would make them.

SALib gives each index with the half-width of its 95% bootstrap interval. An index is
*informative* when that interval lies wholly above zero, i.e. its half-width is below the
estimate: a wider interval (or a negative estimate) cannot tell the parameter's share of the
variance from none. The half-widths shrink about as 1/sqrt(N) with the base sample size N of
Saltelli's design, so the interval would fall below the estimate at
N * (half-width / estimate)^2, rounded up to a power of two (the size a Sobol design wants) and
capped at :data:`N_NEEDED_CAP`; a negative or zero estimate gets the cap, since no size is
known to be enough for an index that may be zero.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import pandas as pd

#: The largest base sample size reported as needed (an index that needs more gets this).
N_NEEDED_CAP = 2**16

#: The indices a sensitivity table holds, each with its ``<index>_conf`` half-width.
INDICES = ("S1", "ST")


def n_needed(samples: int, estimate: float, half_width: float, cap: int = N_NEEDED_CAP) -> int:
    """The base sample size at which an index's 95% half-width would fall below its estimate,
    from ``samples`` (the design's N): N * (half-width / estimate)^2 rounded up to a power of
    two, at most ``cap`` (the cap for an estimate of zero or below, or a missing one)."""
    if not (math.isfinite(estimate) and math.isfinite(half_width)) or estimate <= 0:
        return cap
    need = samples * (half_width / estimate) ** 2
    if need <= 1:
        return 1
    return min(cap, 2 ** math.ceil(math.log2(need)))


def flag_informative(table: pd.DataFrame, samples: int, cap: int = N_NEEDED_CAP) -> pd.DataFrame:
    """The sensitivity table with, per index (S1, ST), ``<index>_informative`` (the half-width
    of its interval below the estimate) and ``<index>_n_needed`` (:func:`n_needed`)."""
    out = table.copy()
    for index in INDICES:
        est, conf = out[index].astype(float), out[f"{index}_conf"].astype(float)
        out[f"{index}_informative"] = (conf < est).to_numpy(dtype=bool)
        out[f"{index}_n_needed"] = [
            n_needed(samples, e, c, cap) for e, c in zip(est, conf, strict=True)
        ]
    return out


class Uninformative(NamedTuple):
    """How many of a sweep's indices of one kind are uninformative, and the base sample sizes
    that would make them informative (the median and the largest, the cap meaning 'at least')."""

    measure: str  # S1 or ST
    uninformative: int
    total: int
    samples: int  # the design's N
    median_needed: int
    most_needed: int
    capped: int  # indices that need the cap or more

    def message(self) -> str:
        """One sentence for the sweep's warning."""
        kind = "first-order" if self.measure == "S1" else "total"
        if not self.uninformative:
            return f"all {self.total} {kind} Sobol indices ({self.measure}) are informative"
        most = f"{self.most_needed:,}" + (" or more" if self.capped else "")
        if self.uninformative == 1:
            reach = most
        elif self.median_needed == self.most_needed and not self.capped:
            reach = f"{most} for all of them"
        else:
            reach = f"{self.median_needed:,} for half of them and {most} for all"
        text = (
            f"{self.uninformative} of {self.total} {kind} Sobol indices ({self.measure}) are "
            "uninformative: their 95% interval's half-width exceeds the estimate; the design's "
            f"base sample size (samples: {self.samples}) would have to reach {reach}"
        )
        if self.capped:
            text += f" ({self.capped} have an estimate near or below zero: perhaps no effect)"
        return text


def uninformative(
    table: pd.DataFrame, samples: int, cap: int = N_NEEDED_CAP
) -> list[Uninformative]:
    """Per index (S1, ST) of a table flagged by :func:`flag_informative`: the count of
    uninformative indices and the sample sizes they need."""
    out = []
    for index in INDICES:
        flags = table[f"{index}_informative"].astype(bool)
        needed = table.loc[~flags, f"{index}_n_needed"].astype(int)
        out.append(
            Uninformative(
                measure=index,
                uninformative=int((~flags).sum()),
                total=len(table),
                samples=samples,
                median_needed=_median_power(needed),
                most_needed=int(needed.max()) if len(needed) else samples,
                capped=int((needed >= cap).sum()),
            )
        )
    return out


def _median_power(needed: pd.Series) -> int:
    """The median of sizes that are powers of two, as one of them (the upper median)."""
    if needed.empty:
        return 0
    ordered = sorted(needed)
    return int(ordered[len(ordered) // 2])
