"""Targets in tension: pairs the posterior predictive runs meet apart but rarely together.

A target the ensemble seldom meets may be out of the model's reach, or it may be reachable only
at the cost of another. Each posterior predictive run draws its own values, so two targets that
need opposite values (or opposite outcomes of the same value) are met in different runs: the
share of runs meeting both falls below the product of the shares meeting each. The ratio of the
two (1 for targets met independently, 0 for targets never met in the same run) points a
modeller at the mechanism that ties them, which a fit that trades one against the other cannot.
Few runs meet a rare pair together by chance alone, so a pair is reported only if Fisher's exact
test (one-sided: fewer joint runs than independence) rejects independence at ``ALPHA``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats as sps

from escalation.record.summary import TargetSet

#: a pair is judged only when each target is met by at least this share of the runs and by at
#: most ``MOST``: a target met in nearly every run, or in nearly none, says nothing of the other
LEAST = 0.05
MOST = 0.97

#: pairs met together at most this share of what independence would give are reported
RATIO = 0.5

#: and only if Fisher's exact test puts them below independence at this level (about 3,000
#: pairs are tested for 80 targets, so a few pass by chance at 1%)
ALPHA = 0.01

COLUMNS = ["target_a", "target_b", "met_a", "met_b", "met_both", "ratio", "p"]


def tension_table(
    ts: TargetSet,
    stats: np.ndarray,
    least: float = LEAST,
    most: float = MOST,
    ratio: float = RATIO,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Pairs of ``ts``'s targets met together in at most ``ratio`` times the share of runs
    that independence gives, with Fisher's one-sided p-value below ``alpha``, among targets
    each met by ``least`` to ``most`` of the runs (``stats``: runs x targets), the strongest
    tension first. Columns: the two target ids, the share of runs meeting each and both, the
    ratio of the last to the product of the first two, and the p-value."""
    hits = np.array([ts.satisfied(s) for s in stats], dtype=bool).reshape(len(stats), -1)
    rate = hits.mean(axis=0) if len(stats) else np.zeros(len(ts.targets))
    judged = [i for i in range(len(ts.targets)) if least <= rate[i] <= most]
    rows = []
    runs = len(hits)
    met = hits.sum(axis=0)
    for i, j in itertools.combinations(judged, 2):
        joint = int(np.sum(hits[:, i] & hits[:, j]))
        both = joint / runs
        r = both / (rate[i] * rate[j])
        if r > ratio:
            continue
        a_only, b_only = int(met[i]) - joint, int(met[j]) - joint
        counts = [[joint, a_only], [b_only, runs - joint - a_only - b_only]]
        p = float(sps.fisher_exact(counts, alternative="less").pvalue)
        if p < alpha:
            rows.append(
                {
                    "target_a": ts.targets[i].id,
                    "target_b": ts.targets[j].id,
                    "met_a": round(float(rate[i]), 4),
                    "met_b": round(float(rate[j]), 4),
                    "met_both": round(both, 4),
                    "ratio": round(r, 4),
                    "p": float(f"{p:.3g}"),
                }
            )
    table = pd.DataFrame(rows, columns=COLUMNS)
    return table.sort_values(["ratio", "met_both"], kind="stable").reset_index(drop=True)


def tension_lines(table: pd.DataFrame | None, runs: int, top: int = 12) -> list[str]:
    """The report's section on the pairs in tension (the first ``top`` of them), or nothing
    when the fit did not measure them."""
    if table is None:
        return []
    lines = [
        "## Targets met apart but rarely together",
        "",
        f"Pairs of targets each met by {LEAST:.0%} to {MOST:.0%} of the {runs} posterior "
        f"predictive runs that are met in the same run at most {RATIO:.0%} as often as if they "
        "were independent (ratio 0: never together; Fisher's exact test, one-sided, p < "
        f"{ALPHA}). A pair in tension is one the fit trades against each other; meeting both "
        "needs a mechanism that ties them.",
        "",
    ]
    if table.empty:
        return [*lines, "None.", ""]
    lines += [
        "| target | target | met (share of runs) | met together | ratio | p |",
        "|---|---|---|---|---|---|",
    ]
    for r in table.head(top).itertuples():
        lines.append(
            f"| {r.target_a} | {r.target_b} | {r.met_a:.2f} and {r.met_b:.2f} "
            f"| {r.met_both:.3f} | {r.ratio:.2f} | {r.p:.2g} |"
        )
    more = len(table) - top
    if more > 0:
        lines.append(f"\n{more} more pairs in `tension.csv`.")
    return [*lines, ""]
