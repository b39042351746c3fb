"""PRIM, the Patient Rule Induction Method (Friedman and Fisher 1999), as scenario discovery
uses it (Bryant and Lempert 2010; EMA Workbench's ``Prim``): a box of parameter ranges that
holds many of the cases of interest (coverage) and few others (density).

Peeling starts from the box that holds every case and, step by step, takes off the slice of
``peel_alpha`` of the cases in the box along one side of one numeric parameter (or one value of
a categorical parameter) that raises the share of cases of interest the most per case removed
(EMA's default objective, which copes with categories), while the box holds at least
``mass_min`` of all cases. Pasting then widens the last box again wherever that raises its
density. Every box on the way is kept: the peeling trajectory is the trade-off between coverage
and density, and the user picks a box on it, by default the last one whose density reaches
``threshold``. Each restriction of a box carries its quasi-p value (Bryant and Lempert): the
chance of the box's density arising by luck in the box without that restriction.

A numeric limit is the outermost value of the cases kept, so an integer parameter's limits are
whole numbers; a slice is cut at the sdtoolkit quantile EMA uses, which always takes off at
least the lowest (or highest) value present, ties included.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from scipy.stats import binomtest

Phase = Literal["start", "peel", "paste"]


class Settings(NamedTuple):
    """How PRIM peels, pastes and picks a box."""

    peel_alpha: float = 0.05
    """Share of the box's cases one peel takes off."""
    paste_alpha: float = 0.05
    """Share of the cases beside a side of the box one paste adds."""
    mass_min: float = 0.05
    """Smallest share of all cases a box may hold."""
    threshold: float = 0.8
    """Density the default box must reach (the last box on the trajectory that does)."""


class Range(NamedTuple):
    """The limits of a numeric parameter in a box."""

    low: float
    high: float


class QuasiP(NamedTuple):
    """Quasi-p values of a restriction's lower and upper limit (NaN where that side is not
    narrowed; a categorical restriction has one value, in ``low``)."""

    low: float
    high: float


class Candidate(NamedTuple):
    """A box one peel or paste away: the rows it holds and its limits."""

    rows: np.ndarray
    limits: Limits


class Choice(NamedTuple):
    """The best candidate and its gain in density per case (``limits`` None: no candidate)."""

    rows: np.ndarray
    limits: Limits | None
    gain: float


@dataclass(frozen=True)
class Limits:
    """A box: a range per numeric parameter, a set of values per categorical one."""

    ranges: Mapping[str, Range]
    values: Mapping[str, frozenset[Any]]

    def with_range(self, name: str, low: float, high: float) -> Limits:
        return replace(self, ranges={**self.ranges, name: Range(low, high)})

    def with_values(self, name: str, values: frozenset[Any]) -> Limits:
        return replace(self, values={**self.values, name: values})

    def restricted(self, initial: Limits) -> list[str]:
        """The parameters this box narrows from ``initial``: numeric ones, then categorical."""
        ranges = [name for name, span in self.ranges.items() if span != initial.ranges[name]]
        values = [name for name, kept in self.values.items() if kept != initial.values[name]]
        return ranges + values


class Step(NamedTuple):
    """One box on the peeling trajectory and how it scores."""

    limits: Limits
    phase: Phase
    n: int
    """Cases in the box."""
    k: int
    """Cases of interest in the box."""
    coverage: float
    """Share of all cases of interest that the box holds."""
    density: float
    """Share of the box's cases that are of interest."""
    mass: float
    """Share of all cases that the box holds."""
    restricted: tuple[str, ...]
    quasi_p: Mapping[str, QuasiP]
    """Per restricted parameter: the quasi-p values of its limits."""


@dataclass(frozen=True)
class Cases:
    """The cases PRIM works on: parameters split by kind, and which are of interest."""

    numeric: Mapping[str, np.ndarray]
    categorical: Mapping[str, np.ndarray]
    interest: np.ndarray

    @classmethod
    def of(cls, x: pd.DataFrame, y: np.ndarray) -> Cases:
        """Numeric columns are ranges (booleans are categories); the rest are categories."""
        numeric, categorical = {}, {}
        for name in x.columns:
            column = x[name]
            kind = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
            if kind:
                numeric[str(name)] = column.to_numpy(dtype=float)
            else:
                categorical[str(name)] = column.to_numpy(dtype=object)
        return cls(numeric, categorical, np.asarray(y, dtype=bool))

    @property
    def n(self) -> int:
        return len(self.interest)

    def everything(self) -> Limits:
        """The box that holds every case."""
        ranges = {k: Range(float(v.min()), float(v.max())) for k, v in self.numeric.items()}
        values = {k: frozenset(v.tolist()) for k, v in self.categorical.items()}
        return Limits(ranges, values)

    def inside(self, limits: Limits, rows: np.ndarray) -> np.ndarray:
        """Which of ``rows`` lie in the box."""
        keep = np.ones(len(rows), dtype=bool)
        for name, (low, high) in limits.ranges.items():
            x = self.numeric[name][rows]
            keep &= (x >= low) & (x <= high)
        for name, values in limits.values.items():
            keep &= np.isin(self.categorical[name][rows], list(values))
        return keep


@dataclass(frozen=True)
class PrimBox:
    """The peeling trajectory of one PRIM search and the box chosen on it."""

    trajectory: tuple[Step, ...]
    chosen: int
    initial: Limits
    settings: Settings

    @property
    def box(self) -> Step:
        """The chosen box."""
        return self.trajectory[self.chosen]

    @property
    def reaches_threshold(self) -> bool:
        return self.box.density >= self.settings.threshold

    def select(self, step: int) -> PrimBox:
        """The same trajectory with box ``step`` chosen."""
        if not 0 <= step < len(self.trajectory):
            raise IndexError(f"the trajectory has boxes 0 to {len(self.trajectory) - 1}")
        return replace(self, chosen=step)


def sdtoolkit_quantile(data: np.ndarray, q: float) -> float:
    """The quantile EMA Workbench peels at (after sdtoolkit): midway between the values on
    either side of the ``q`` position, walking past ties so a cut separates distinct values."""
    data = np.sort(data)
    i = (len(data) - 1) * q
    lo, hi = math.floor(i), math.ceil(i)
    if q > 0.5:
        while data[lo] == data[hi] and lo > 0:
            lo -= 1
    else:
        while data[lo] == data[hi] and hi < len(data) - 1:
            hi += 1
    return float((data[lo] + data[hi]) / 2)


def _objective(y: np.ndarray, old: np.ndarray, new: np.ndarray) -> float:
    """Gain in density per case removed or added (EMA's 'lenient1')."""
    if len(new) == len(old):
        return 0.0
    mean_new = y[new].mean() if len(new) else 0.0
    return float((mean_new - y[old].mean()) / abs(len(old) - len(new)))


def _peels(cases: Cases, rows: np.ndarray, limits: Limits, alpha: float) -> Iterator[Candidate]:
    """Every box one peel away."""
    for name, column in cases.numeric.items():
        x = column[rows]
        low, high = limits.ranges[name]
        for side in ("upper", "lower"):
            cut = sdtoolkit_quantile(x, 1 - alpha if side == "upper" else alpha)
            keep = x <= cut if side == "upper" else x >= cut
            if keep.all() or not keep.any():
                continue
            kept = x[keep]
            new = (low, float(kept.max())) if side == "upper" else (float(kept.min()), high)
            yield Candidate(rows[keep], limits.with_range(name, *new))
    for name, column in cases.categorical.items():
        present = limits.values[name]
        if len(present) < 2:
            continue
        x = column[rows]
        for value in sorted(present, key=str):
            keep = x != value
            if not keep.all():
                yield Candidate(rows[keep], limits.with_values(name, present - {value}))


def _pastes(
    cases: Cases, remaining: np.ndarray, limits: Limits, initial: Limits, alpha: float
) -> Iterator[Candidate]:
    """Every box one paste away along a restricted parameter."""
    for name in limits.restricted(initial):
        if name in cases.categorical:
            for value in sorted(initial.values[name] - limits.values[name], key=str):
                wider = limits.with_values(name, limits.values[name] | {value})
                yield Candidate(remaining[cases.inside(wider, remaining)], wider)
        else:
            for lower in (True, False):
                yield _paste_side(cases, remaining, limits, initial, name, lower, alpha)


def _paste_side(
    cases: Cases,
    remaining: np.ndarray,
    limits: Limits,
    initial: Limits,
    name: str,
    lower: bool,
    alpha: float,
) -> Candidate:
    """One side of a numeric parameter moved out to the ``alpha`` quantile of the cases
    beyond it (between it and the data's edge) that the box's other limits hold, as EMA
    pastes."""
    (low, high), (floor, ceiling) = limits.ranges[name], initial.ranges[name]
    x = cases.numeric[name][remaining]
    beyond = (x < low) if lower else (x > high)
    slab = limits.with_range(name, floor, ceiling)
    x = x[beyond & cases.inside(slab, remaining)]
    if lower:
        edge = sdtoolkit_quantile(x, 1 - alpha) if len(x) else floor
        wider = limits.with_range(name, edge, high)
    else:
        edge = sdtoolkit_quantile(x, alpha) if len(x) else ceiling
        wider = limits.with_range(name, low, edge)
    inside = remaining[cases.inside(wider, remaining)]
    kept = cases.numeric[name][inside]
    tight = (float(kept.min()), high) if lower else (low, float(kept.max()))
    return Candidate(inside, limits.with_range(name, *tight))


def _best(
    cases: Cases, rows: np.ndarray, candidates: Iterator[Candidate], initial: Limits
) -> Choice:
    """The candidate with the highest objective, the fewer restrictions first on a tie, the
    earlier on a further tie (as EMA sorts them)."""
    best, key = Choice(rows, None, 0.0), None
    for candidate in candidates:
        gain = _objective(cases.interest, rows, candidate.rows)
        score = (gain, -len(candidate.limits.restricted(initial)))
        if key is None or score > key:
            best, key = Choice(candidate.rows, candidate.limits, gain), score
    return best


def _step(cases: Cases, rows: np.ndarray, limits: Limits, initial: Limits, phase: Phase) -> Step:
    k = int(cases.interest[rows].sum())
    restricted = tuple(limits.restricted(initial))
    return Step(
        limits=limits,
        phase=phase,
        n=len(rows),
        k=k,
        coverage=k / max(int(cases.interest.sum()), 1),
        density=k / len(rows) if len(rows) else math.nan,
        mass=len(rows) / cases.n,
        restricted=restricted,
        quasi_p=_quasi_p(cases, rows, limits, initial, restricted),
    )


def _quasi_p(
    cases: Cases, rows: np.ndarray, limits: Limits, initial: Limits, restricted: tuple[str, ...]
) -> dict[str, QuasiP]:
    """Per restricted limit: the one-sided binomial chance of the box's cases of interest,
    at the density of the box without that limit (Bryant and Lempert 2010)."""
    everyone = np.arange(cases.n)
    k = int(cases.interest[rows].sum())

    def p_without(looser: Limits) -> float:
        inside = cases.interest[everyone[cases.inside(looser, everyone)]]
        return float(binomtest(k, len(rows), inside.mean(), alternative="greater").pvalue)

    out: dict[str, QuasiP] = {}
    for name in restricted:
        if name in limits.values:
            out[name] = QuasiP(p_without(limits.with_values(name, initial.values[name])), math.nan)
            continue
        (low, high), (floor, ceiling) = limits.ranges[name], initial.ranges[name]
        out[name] = QuasiP(
            p_without(limits.with_range(name, floor, high)) if low != floor else math.nan,
            p_without(limits.with_range(name, low, ceiling)) if high != ceiling else math.nan,
        )
    return out


def find_box(x: pd.DataFrame, y: np.ndarray, settings: Settings | None = None) -> PrimBox:
    """Peel and paste one PRIM box over the cases ``x`` (one row per case, one column per
    parameter) whose interest is ``y`` (booleans); the box chosen is the last whose density
    reaches ``settings.threshold``, or the densest if none does."""
    settings = settings or Settings()
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"expected as many cases as interests, and some: {len(x)} and {len(y)}")
    cases = Cases.of(x, y)
    initial = cases.everything()
    rows = np.arange(cases.n)
    trajectory = [_step(cases, rows, initial, initial, "start")]
    limits = initial
    while True:  # peel
        choice = _best(cases, rows, _peels(cases, rows, limits, settings.peel_alpha), initial)
        if choice.limits is None or choice.gain <= 0:
            break
        if len(choice.rows) / cases.n < settings.mass_min:
            break
        rows, limits = choice.rows, choice.limits
        trajectory.append(_step(cases, rows, limits, initial, "peel"))
    everyone = np.arange(cases.n)
    while True:  # paste
        pastes = _pastes(cases, everyone, limits, initial, settings.paste_alpha)
        choice = _best(cases, rows, pastes, initial)
        if choice.limits is None or choice.gain <= 0 or len(choice.rows) <= len(rows):
            break
        rows, limits = choice.rows, choice.limits
        trajectory.append(_step(cases, rows, limits, initial, "paste"))
    return PrimBox(
        tuple(trajectory), _default_box(trajectory, settings.threshold), initial, settings
    )


def _default_box(trajectory: list[Step], threshold: float) -> int:
    """The last box whose density reaches ``threshold``; else the densest (the last of equals)."""
    reached = [i for i, step in enumerate(trajectory) if step.density >= threshold]
    if reached:
        return reached[-1]
    densities = [step.density for step in trajectory]
    return max(range(len(trajectory)), key=lambda i: (densities[i], i))
