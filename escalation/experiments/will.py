"""How freely the militias attack: their daily odds of attacking a target class when one is
within reach, by half-year.

A militia attacks a target class on a day one is within its reach (a US site it can hit, a
convoy passing a route its cells cover) with odds w / (1 + w), w being the summed logit weights
of its options on that class (:func:`attack_odds`). Where those odds are near 1 the militia
attacks whenever it can: its tempo is then set by how often targets come within reach (the US
footprint, the convoys' opportunity), and whatever changes its will -- a strike's deterrent, a
truce, Iran's line -- moves the tempo little until the odds come down. This table says where a
scenario's militias are in that state, which the tempo alone cannot show: a deterrence sweep
over a period where they are will find strikes that barely deter.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import NamedTuple

import pandas as pd

from escalation.experiments.executors import Executor, Shared, make_executor
from escalation.model.militia import Militia
from escalation.model.model import EscalationModel
from escalation.scenario import schema as C
from escalation.seeds import spawn_seeds

#: odds at or above which a militia counts as attacking whenever a target is within reach
SATURATED = 0.9
COLUMNS = [
    "militia", "target", "period", "dropped_share", "unarmed_share", "odds", "saturated_share",
    "reach", "attacks", "runs",
]  # fmt: skip


class WillSample(NamedTuple):
    """One militia's odds on one target class on one sampled day of one run: 0 when it has
    dropped the class or has no weapon for it in stock."""

    period: str
    militia: str
    target: str
    dropped: bool
    armed: bool
    odds: float
    reach: float


class _Task(NamedTuple):
    scenario: Shared[C.Scenario]
    seed: int
    every_days: int


class _RunWill(NamedTuple):
    samples: list[WillSample]
    attacks: dict[tuple[str, str, str], int]  # (period, militia, target) -> attacks


def attack_odds(militia: Militia) -> dict[str, float]:
    """The militia's odds today of attacking each target class on a day one is within reach:
    the summed logit weights w of its options on the class, as w / (1 + w) (its chance of
    attacking the class were it the only one in reach). Classes it has dropped or has no
    weapon for in stock are left out."""
    options, weights = militia.options()
    summed: dict[str, float] = {}
    for option, weight in zip(options, weights, strict=True):
        summed[option.target] = summed.get(option.target, 0.0) + weight
    return {tid: w / (1.0 + w) for tid, w in summed.items()}


def half_year(start: dt.date, day: int) -> str:
    """The half-year a run day falls in, as ``2020 H1``."""
    date = start + dt.timedelta(days=day)
    return f"{date.year} H{1 if date.month <= 6 else 2}"


def _one_run(task: _Task) -> _RunWill:
    """Step one run, sampling every militia's odds on each class it could attack."""
    scenario = task.scenario.get()
    model = EscalationModel(scenario, seed=task.seed, collect=False)
    samples: list[WillSample] = []
    next_sample = 0
    while model.running:
        model.step()
        if model.day < next_sample:
            continue
        next_sample = model.day + task.every_days
        period = half_year(model.start, model.day)
        for mid, militia in model.militias.items():
            odds = attack_odds(militia)
            for tid, adopted in militia.repertoire.items():
                t = model.targets[tid]
                exposure = model.exposure(t)
                if adopted > model.day or exposure <= 0.0:
                    continue  # not yet in its repertoire, or no such target left
                reach = min(1.0, exposure * t.opportunity)
                dropped = tid in militia.withdrawn
                armed = any(
                    militia.stocks.get(o.weapon, 0.0) >= o.min_size
                    for o in militia.attack_options[tid]
                )
                samples.append(
                    WillSample(period, mid, tid, dropped, armed, odds.get(tid, 0.0), reach)
                )
    attacks: dict[tuple[str, str, str], int] = defaultdict(int)
    for record in model.log:
        if record.action == "attack" and record.actor in model.militias:
            attacks[(half_year(model.start, record.day), record.actor, record.target)] += 1
    return _RunWill(samples, dict(attacks))


def will_table(
    scenario: C.Scenario,
    replicates: int = 20,
    seed: int = 0,
    *,
    every_days: int = 5,
    executor: Executor | None = None,
) -> pd.DataFrame:
    """Per militia, target class and half-year, over days sampled every ``every_days`` in
    ``replicates`` runs: the shares of days it has dropped the class and has no weapon for it in
    stock; on the other days, its mean odds of attacking the class when one is within reach
    and the share of them with odds of at least ``SATURATED`` (nan if there were none); the mean
    daily chance that one is within reach (for a shared class, before another militia takes
    it); and the attacks a run makes on it (mean). A class is left out for a half-year in which
    the militia made no attack on it, had odds under 1% and was neither kept from it by
    dropping it nor by empty stocks most days; ``runs`` is ``replicates``."""
    seeds = spawn_seeds(seed, replicates)
    own = executor is None
    pool = make_executor(1) if executor is None else executor
    shared = Shared(scenario)
    try:
        runs: list[_RunWill] = [_RunWill([], {})] * len(seeds)
        for i, out in pool.imap(_one_run, [_Task(shared, s, every_days) for s in seeds]):
            runs[i] = out  # in seed order, whatever order they finish in
    finally:
        if own:
            pool.close()
    return _summarise(runs)


def _summarise(runs: list[_RunWill]) -> pd.DataFrame:
    """The table of :func:`will_table` from its runs' samples and attack counts."""
    keys = ["period", "militia", "target"]
    samples = pd.DataFrame([s for out in runs for s in out.samples], columns=WillSample._fields)
    made: Counter[tuple[str, str, str]] = Counter()
    for out in runs:
        made.update(out.attacks)
    if samples.empty and not made:
        return pd.DataFrame(columns=COLUMNS)
    by_key = samples.groupby(keys)
    odds = samples[samples["armed"] & ~samples["dropped"]].groupby(keys)["odds"]
    index = by_key.size().index
    if made:
        index = index.union(pd.MultiIndex.from_tuples(list(made), names=keys))
    table = pd.DataFrame(
        {
            "dropped_share": by_key["dropped"].mean(),
            "unarmed_share": 1.0 - by_key["armed"].mean(),
            "odds": odds.mean(),  # nan: never able to attack the class
            "saturated_share": odds.agg(lambda x: (x >= SATURATED).mean()),
            "reach": by_key["reach"].mean(),
        }
    ).reindex(index)
    table["attacks"] = [made[key] / len(runs) for key in table.index]  # a run's mean
    kept = (
        (table["odds"] >= 0.01)
        | (table["attacks"] >= 0.5)
        | (table["dropped_share"] >= 0.5)
        | (table["unarmed_share"] >= 0.5)
    )  # a class it neither attacks nor wants to, nor is kept from, is left out
    table = table[kept].round(3).assign(attacks=lambda t: t["attacks"].round(1), runs=len(runs))
    return table.reset_index()[COLUMNS]
