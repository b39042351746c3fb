"""The calibration file: the scenario, the values to fit with their priors, and the budget.

A :class:`CalibrationSpec` is validated once, when the file is read
(:func:`escalation.calibration.loading.load_calibration`); a :class:`Prior` maps each fitted
value to the unit interval and back, so the fit works in prior quantiles.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator
from scipy import stats as sps

from escalation.scenario import schema as C

BUDGETS: dict[str, dict[str, float]] = {
    # particles and simulations of ABC for the main fit (a named budget stops on its simulations,
    # so the same seed gives the same fit on any machine; its minutes only guard against a
    # runaway, and a fit they stop says so); sweeps and common seeds of the coordinate search
    # that polishes the best parameter set; steps and perturbed runs per step of the
    # trust-region polish that follows it (escalation.calibration.trust)
    "quick": {
        "particles": 60,
        "simulations": 1200,
        "minutes": 30.0,
        "refine_sweeps": 1,
        "refine_seeds": 8,
        "trust_steps": 0,
        "trust_perturbations": 200,
    },
    "default": {
        "particles": 150,
        "simulations": 5200,
        "minutes": 60.0,
        "refine_sweeps": 1,
        "refine_seeds": 12,
        "trust_steps": 1,
        "trust_perturbations": 800,
    },
    "thorough": {
        "particles": 400,
        "simulations": 24000,
        "minutes": 240.0,
        "refine_sweeps": 1,
        "refine_seeds": 40,
        "trust_steps": 2,
        "trust_perturbations": 3000,
    },
}


#: Every random draw of a calibration comes from a named stream under its master seed
#: (``escalation.seeds.Streams(spec.seed)``); a stage's draws never depend on another's.
STREAMS: dict[str, str] = {
    "abc": "ABC-SMC: each generation's proposals (move), their run seeds (run), resampling",
    "candidates": "the common runs of the candidates for the best set, and their resampling",
    "refine": "the coordinate search: its common runs, each sweep's order, resampling",
    "trust": "the trust-region polish, per step: runs at the centre, the perturbations and "
    "the candidate, the perturbation design; resampling",
    "report": "the runs of every scored ensemble (calibrated, posterior predictive, null models)",
    "posterior": "the posterior draws of the posterior predictive ensemble",
    "nulls": "the phase-blind null model's fit (phase_blind: abc, candidates, refine, trust)",
    "hawkes": "the Hawkes null model's fit: the seeds of the common runs of its coordinate search",
    "strikes": "the runs with and without each timeline strike, at the best set",
    "will": "the runs at the best set whose militias' odds of attacking are sampled",
    "screen": "Morris screening of the fitted values (escalation screen): its design, run "
    "seeds and bootstrap",
}
#: Names the scheme in the resume identity, so a fit begun under another is not continued.
SEED_SCHEME = "named streams"


class Prior(C.Frozen):
    """The prior of one fitted value."""

    prior: Literal["uniform", "loguniform", "normal"] = Field(
        "uniform", description="Distribution of the prior."
    )
    low: float | None = Field(
        None, description="Lower bound (uniform, loguniform; truncates normal)."
    )
    high: float | None = Field(
        None, description="Upper bound (uniform, loguniform; truncates normal)."
    )
    mean: float | None = Field(None, description="Mean (normal).")
    sd: Annotated[float, Field(gt=0)] | None = Field(
        None, description="Standard deviation (normal)."
    )
    type: Literal["float", "int"] = Field("float", description="Number type.")
    also: list[str] = Field(
        default_factory=list,
        description="Other key paths (scenario paths, or series.<id>.<field>) that take the "
        "same value: one fitted value for a quantity the model uses in several places.",
    )

    @model_validator(mode="after")
    def _complete(self) -> Prior:
        if self.prior in ("uniform", "loguniform"):
            if self.low is None or self.high is None:
                raise ValueError(f"a {self.prior} prior needs low and high")
            if not self.low < self.high:
                raise ValueError(f"low ({self.low}) must be below high ({self.high})")
            if self.prior == "loguniform" and self.low <= 0:
                raise ValueError("a loguniform prior needs low > 0")
        else:
            if self.mean is None or self.sd is None:
                raise ValueError("a normal prior needs mean and sd")
            if self.low is not None and self.high is not None and not self.low < self.high:
                raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self

    def _bounds(self) -> tuple[float, float]:
        """Low and high of a uniform or loguniform prior (the validator requires both)."""
        if self.low is None or self.high is None:
            raise ValueError(f"a {self.prior} prior needs low and high")
        return self.low, self.high

    def _normal(self) -> tuple[float, float, float, float]:
        """Mean and sd of a normal prior, and its truncation in sds from the mean."""
        if self.mean is None or self.sd is None:
            raise ValueError("a normal prior needs mean and sd")
        a = -math.inf if self.low is None else (self.low - self.mean) / self.sd
        b = math.inf if self.high is None else (self.high - self.mean) / self.sd
        return self.mean, self.sd, a, b

    def from_unit(self, u: float) -> float:
        """The value at quantile ``u`` of the prior."""
        u = min(max(u, 0.0), 1.0)
        if self.prior == "uniform":
            low, high = self._bounds()
            x = low + u * (high - low)
        elif self.prior == "loguniform":
            low, high = self._bounds()
            x = math.exp(math.log(low) + u * math.log(high / low))
        else:
            mean, sd, a, b = self._normal()
            lo, hi = sps.norm.cdf(a), sps.norm.cdf(b)
            q = min(max(lo + u * (hi - lo), 1e-12), 1 - 1e-12)
            x = mean + sd * sps.norm.ppf(q)
        return float(round(x)) if self.type == "int" else float(x)

    def to_unit(self, x: float) -> float:
        """The prior quantile of ``x``."""
        if self.prior == "uniform":
            low, high = self._bounds()
            return (x - low) / (high - low)
        if self.prior == "loguniform":
            low, high = self._bounds()
            return math.log(x / low) / math.log(high / low)
        mean, sd, a, b = self._normal()
        lo, hi = sps.norm.cdf(a), sps.norm.cdf(b)
        return (sps.norm.cdf((x - mean) / sd) - lo) / (hi - lo)


class CalibrationSpec(C.Frozen):
    """A calibration file."""

    name: str = Field(description="Name (the output folder under calibrations/fitted/).")
    description: str = Field("", description="What is fitted and why.")
    scenario: str = Field(description="Scenario file, relative to the calibration file.")
    set: dict[str, Any] = Field(default_factory=dict, description="Fixed overrides.")
    parameters: dict[str, Prior] = Field(
        description="Key path -> prior. Scenario key paths, or series.<id>.<field> for the "
        "observation parameters of the record's series (e.g. a source's coverage)."
    )
    fit_until: dt.date | None = Field(
        None, description="Fit only targets whose windows end by this date; score the rest."
    )
    score_until: dt.date | None = Field(
        None,
        description="With fit_until: score out of sample only the targets ending by this date "
        "(a rolling origin's horizon); later ones are neither fitted nor held out.",
    )
    fit_phases: bool = Field(
        True,
        description="Also fit the direction of every expected phase change of the record (the "
        "report scores them either way).",
    )
    quantile: Annotated[float, Field(gt=0, lt=1)] = Field(
        0.5, description="Each generation's tolerance: this quantile of the last one's distances."
    )
    generations: Annotated[int, Field(ge=1)] = Field(15, description="Most generations.")
    min_acceptance: Annotated[float, Field(ge=0, lt=1)] = Field(
        0.02, description="Stop when a generation's acceptance rate falls below this."
    )
    seed: Annotated[int, Field(ge=0)] = Field(0, description="Master seed.")
    report_replicates: Annotated[int, Field(ge=10)] = Field(
        100, description="Runs of the calibrated ensemble the report scores."
    )
    candidates: Annotated[int, Field(ge=1)] = Field(
        8, description="Best posterior particles re-run to choose the best parameter set."
    )
    candidate_replicates: Annotated[int, Field(ge=3)] = Field(
        16, description="Runs per candidate when choosing the best parameter set."
    )
    misses: dict[str, str] = Field(
        default_factory=dict,
        description="Why the model misses a target, by the record's target id, written after "
        "reading a fit. The report gives each miss its reason, names the misses that have none "
        "and lists the reasons kept for targets the fit now meets, so none goes stale unseen.",
    )
    null_budget_share: Annotated[float, Field(ge=0, le=1)] = Field(
        0.25,
        description="Budget of the phase-blind null model's fit, as a share of the main fit's "
        "(0 skips it).",
    )

    @model_validator(mode="after")
    def _some(self) -> CalibrationSpec:
        if not self.parameters:
            raise ValueError("at least one parameter is needed")
        if self.score_until is not None and (
            self.fit_until is None or self.score_until <= self.fit_until
        ):
            raise ValueError(
                f"score_until {self.score_until} needs a fit_until before it (got {self.fit_until})"
            )
        owner: dict[str, str] = {}  # each tied path: the fitted name that sets it
        for name, prior in self.parameters.items():
            for path in prior.also:
                if path in self.parameters or path in owner:
                    setter = (
                        "a fitted value itself"
                        if path in self.parameters
                        else (f"tied to {owner[path]!r} too")
                    )
                    raise ValueError(
                        f"parameters.{name}.also: {path!r} is {setter}; expected a key path "
                        "that no other fitted value sets"
                    )
                owner[path] = name
        return self


def budget_values(budget: str | Mapping[str, float]) -> Mapping[str, float]:
    """A named budget's figures, or the mapping given."""
    return BUDGETS[budget] if isinstance(budget, str) else budget
