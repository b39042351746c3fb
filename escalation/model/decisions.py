"""What every actor decides with: logits, weighted draws and decaying memories.

All draws take the model's generator (``model.random.random``), so a run is replayable from
its seed.
"""

from __future__ import annotations

import math
from collections import ChainMap
from collections.abc import Callable, Mapping

FOREIGN = frozenset({"us", "turkey"})
"""Owners of target classes whose attack counts as one on foreign forces."""


def logistic(x: float) -> float:
    """1 / (1 + e^-x), safe for large |x|."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def decay(half_life_days: float, days: int) -> float:
    """Factor a quantity keeps after ``days`` with the given half-life."""
    return 0.5 ** (days / half_life_days)


def choose(rng_random: Callable[[], float], weights: list[float]) -> int:
    """Index drawn with probability proportional to ``weights`` (all >= 0, sum > 0)."""
    r = rng_random() * sum(weights)
    acc = 0.0
    for i, w in enumerate(weights):
        acc += w
        if r < acc:
            return i
    return len(weights) - 1


def logit_choice(
    rng_random: Callable[[], float], utilities: list[float], temperature: float
) -> int:
    """Index drawn from a multinomial logit over ``utilities``."""
    top = max(utilities)
    return choose(rng_random, [math.exp((u - top) / temperature) for u in utilities])


def draw_reach(rng_random: Callable[[], float], reach: dict[str, float]) -> dict[str, bool]:
    """Which target classes are within reach today: each class in ``reach`` with its
    probability, drawn in its order."""
    return {tid: rng_random() < p for tid, p in reach.items()}


def within_reach(
    targets: list[str], weights: list[float], open_today: dict[str, bool]
) -> list[float]:
    """The option weights with those of classes out of reach today set to 0 (``targets``
    names each option's class; classes ``open_today`` does not name are within reach)."""
    return [
        w if open_today.get(tid, True) else 0.0 for tid, w in zip(targets, weights, strict=True)
    ]


class ContextMemory:
    """The context drivers as one actor acts on them: each follows its current value with a
    half-life, so a campaign builds up and winds down over weeks after an event rather than
    on its day. A driver may have a half-life of its own (``by_driver``); with every half-life
    0 the memory is the model's context itself (``view``)."""

    SETTLED = 1e-3
    """A remembered driver this close to its current value takes that value."""

    def __init__(
        self,
        context: dict[str, float],
        half_life_days: float,
        by_driver: dict[str, float] | None = None,
    ) -> None:
        self.context = context
        self.half_life_days = half_life_days
        self.by_driver = dict(by_driver or {})
        self.lagged = half_life_days > 0.0 or any(h > 0.0 for h in self.by_driver.values())
        self.values: dict[str, float] | None = None  # taken from the context on first use
        self._view: Mapping[str, float] = context
        self.version = 0  # bumped whenever a remembered driver moves

    def half_life(self, driver: str) -> float:
        """The half-life with which the memory follows ``driver`` (0: not remembered)."""
        return self.by_driver.get(driver, self.half_life_days)

    @property
    def view(self) -> Mapping[str, float]:
        """The drivers to act on today: the remembered ones, and the rest as they are."""
        if not self.lagged:
            return self.context
        self._remembered()
        return self._view

    def _remembered(self) -> dict[str, float]:
        """The remembered drivers, taken from the context on first use."""
        if self.values is None:
            self.values = {k: v for k, v in self.context.items() if self.half_life(k) > 0.0}
            self._view = ChainMap(self.values, self.context)
        return self.values

    def follow(self, days: int) -> None:
        """Move every remembered driver towards its current value over ``days``."""
        if not self.lagged:
            return
        values = self._remembered()
        moved = False
        for key, now in self.context.items():
            half_life = self.half_life(key)
            if half_life <= 0.0:
                continue
            seen = values.setdefault(key, now)
            if seen == now:
                continue
            seen = now + (seen - now) * decay(half_life, days)
            values[key] = now if abs(seen - now) < self.SETTLED else seen
            moved = True
        if moved:
            self.version += 1
