"""Local-linear regression adjustment of an ABC population (Beaumont, Zhang and Balding 2002).

Particles accepted within a tolerance come from runs whose statistics missed the record by up to
that tolerance; the adjustment regresses the parameters on the statistics among them and moves
each particle by what its miss explains. The record is an interval per target, not a point, so
the regressors are each particle's signed gaps to the intervals
(:func:`~escalation.calibration.forest.signed_gaps`, 0 inside): a particle whose run met every
target stays where it is, one that missed is moved along the fitted slope to the nearest end of
the interval it missed, and nothing pretends the record was the interval's centre. Parameters are
regressed on the logit of their prior quantile, so the adjusted ones stay inside the prior's
support; weights are Epanechnikov in the particle's distance.
"""

from __future__ import annotations

import numpy as np

from escalation.calibration.abc import Generation, expit, logit
from escalation.calibration.forest import Posterior


def regression_adjust(gen: Generation, gaps: np.ndarray) -> Posterior:
    """``gen``'s particles adjusted to the record by a weighted local-linear regression of their
    logit prior quantiles on their signed gaps (particles x targets). Gaps that are undefined
    for some particle, or never nonzero, are left out of the regression; with none left (every
    particle met every target), or no more weighted particles than coefficients (the fit would
    pass through every particle), the population is returned as it is."""
    usable = np.all(np.isfinite(gaps), axis=0) & (np.ptp(np.nan_to_num(gaps), axis=0) > 0)
    delta = float(gen.distance.max())
    if not usable.any() or delta <= 0:
        return Posterior.of_generation(gen)
    kernel = np.clip(1.0 - (gen.distance / (delta * (1 + 1e-9))) ** 2, 0.0, None)
    if np.sum(kernel > 0) <= usable.sum() + 1:
        return Posterior.of_generation(gen)
    x = gaps[:, usable]
    design = np.hstack([np.ones((len(x), 1)), x])
    root = np.sqrt(kernel)[:, None]
    y = logit(gen.u)
    beta, *_ = np.linalg.lstsq(design * root, y * root, rcond=None)
    adjusted = y - x @ beta[1:]
    u = expit(adjusted)
    w = kernel / kernel.sum()
    return Posterior(u, np.tile(w, (u.shape[1], 1)), gen.epsilon, int(np.sum(kernel > 0)))
