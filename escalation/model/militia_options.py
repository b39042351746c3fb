"""The records a militia decides with: its attack options, the slowly changing part of each
target class's utility, today's claim values, the option groups of the daily shortcut
(:meth:`~escalation.model.militia.Militia.attack_odds_bound`), its facade brands and the decay of
its memories per step.

They are read on every step, so they are slotted dataclasses rather than named tuples: reading
a field by name is then as fast as unpacking a plain tuple. The claim values are updated in
place rather than built anew for every target class on every decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from escalation.scenario import schema as C

CLAIM_KINDS = ("own", "unclaimed", "facade")
"""How an attack can be claimed, in the order of the claim choice's options."""


@dataclass(slots=True)
class ClaimValues:
    """The utilities of claiming an attack on one target class in one's own name, of leaving
    it unclaimed, and of claiming it under the facade ``brand`` (both None when no brand covers
    the class), as of the militia's latest look at its options
    (:meth:`~escalation.model.militia.Militia.options`, which updates them in place)."""

    own: float
    unclaimed: float
    facade: float | None
    brand: str | None


@dataclass(frozen=True, slots=True)
class AttackOption:
    """Attacking one target class with one weapon: the smallest attack the weapon allows (a
    militia with fewer in stock cannot choose it) and what using the weapon costs in utility."""

    target: str
    front: str
    weapon: str
    min_size: int
    cost: float


def attack_options(
    tid: str, t: C.TargetClass, cost: float, min_size: dict[str, int], weapons: dict[str, C.Weapon]
) -> tuple[AttackOption, ...]:
    """A militia's options on target class ``tid``: one per weapon the class can be attacked
    with, costing the militia's weight on cost times the weapon's own."""
    return tuple(
        AttackOption(
            target=tid,
            front=t.front,
            weapon=weapon,
            min_size=min_size[weapon],
            cost=cost * weapons[weapon].cost,
        )
        for weapon in t.weapons
    )


@dataclass(slots=True)  # not frozen: rebuilt during the run, and frozen ones build slower
class TargetEntry:
    """An adopted target class and the parts of its attack utility that change only with
    events (context, posture, Iran's line, the militia's disposition and tactics)."""

    target: str
    spec: C.TargetClass
    to_us: bool
    foreign: bool
    utility: float
    options: tuple[AttackOption, ...]
    brand: str | None
    """The facade brand in use for the class, if any."""
    own_claim: float
    """Value of claiming in one's own name, before the fear of retaliation."""
    facade_claim: float
    """Value of claiming under ``brand``, before the fear of retaliation."""
    claim_value_max: float
    """The claim choice's inclusive value without fear: an upper bound on it."""


@dataclass(slots=True)
class OptionGroup:
    """Options the same daily terms reach, and the sum over them of exp(event-driven utility
    / temperature)."""

    to_us: bool
    foreign: bool
    covered: bool
    """Covered by the active truce."""
    rival_revenue: bool
    front: str
    weight: float = 0.0


class Brand(NamedTuple):
    """A facade name: the target classes it claims and its first day (-1: from the start)."""

    name: str
    targets: frozenset[str]
    active_from: int


@dataclass(frozen=True, slots=True)
class DecayFactors:
    """What the memories keep after one step (rivalry's half-life also rules ``punish``)."""

    revenge: float
    fear: float
    grievance: float
    rivalry: float


@dataclass(slots=True)
class FrontOdds:
    """A day's options by front: per front, its options' indices and weights, their sum, and
    the chance that no front is attacked (the product over fronts of 1 / (1 + sum))."""

    members: list[list[int]]
    weights: list[list[float]]
    totals: list[float]
    quiet: float

    @classmethod
    def of(cls, options: list[AttackOption], weights: list[float]) -> FrontOdds:
        position: dict[str, int] = {}  # front: its place in the lists
        members: list[list[int]] = []
        front_weights: list[list[float]] = []
        for i, option in enumerate(options):
            k = position.get(option.front)
            if k is None:
                position[option.front] = len(members)
                members.append([i])
                front_weights.append([weights[i]])
            else:
                members[k].append(i)
                front_weights[k].append(weights[i])
        totals = [sum(wts) for wts in front_weights]
        quiet = 1.0
        for total in totals:
            quiet /= 1.0 + total
        return cls(members, front_weights, totals, quiet)
