"""Deterrence: what a US strike does to the militias.

A strike adds revenge (it provokes) and raises the response the militias expect per attack
(credibility: it deters); which wins depends on the campaign's tempo, and Iran's fear of a direct
war can order a halt that compliant militias obey. These tests run a two-militia campaign against
US bases and compare runs with and without a strike on the same seeds.
"""

from __future__ import annotations

import copy
import statistics
from typing import Any

import pytest

from escalation.experiments.runner import run
from escalation.model.log import LogRecord
from escalation.model.model import EscalationModel
from escalation.scenario.loading import scenario_from_dict, with_overrides

STRIKE_DAY = 60  # 1 March 2020
SEEDS = range(40)

CAMPAIGN: dict[str, Any] = {
    "name": "campaign",
    "start": "2020-01-01",
    "end": "2020-05-31",
    "context": {"tension": 1.0},
    "iran": {"resupply": {"interval_days": 30, "amounts": {"rocket": 60}}},
    "militia_defaults": {
        "motives": {"us": {"base": 1.0, "context": {"tension": 1.0}}},
        "stocks": {"rocket": 300},
    },
    "militias": {
        "A": {"name": "Alpha", "compliance": 0.9, "repertoire": {"us_base": None}},
        "B": {"name": "Bravo", "compliance": 0.8, "repertoire": {"us_base": None}},
    },
    # the US holds its posture whatever its casualties (leaving would also end the attacks)
    "us": {"doctrine": {"trigger": "never"}, "withdrawal": {"commitment": 50.0}},
    "events": {},
}
QUIET, SURGE = -4.5, -3.0  # the militias' resolve: about 4 and 15 attacks a month

#: every term through which a strike can deter: the expected response, the fear of strikes,
#: Iran's fear of war (its halt order and its choice of line), and the stocks a strike destroys
DETERRENCE_OFF = {
    "militia_defaults.weights.deterrence": 0.0,
    "militia_defaults.weights.fear": 0.0,
    "iran.halt.enabled": False,
    "iran.weights.war_fear": 0.0,
    **{f"us.strike_effects.{t}.stock_loss": 0.0 for t in ("iraq", "syria", "leadership", "iran")},
}


def campaign(resolve: float, **overrides: Any):
    data = copy.deepcopy(CAMPAIGN)
    for militia in data["militias"].values():
        militia["resolve"] = resolve
    scenario = scenario_from_dict(data)
    return with_overrides(scenario, overrides) if overrides else scenario


def with_strike(scenario, severity: float, theatre: str = "iraq"):
    strike = {
        "date": "2020-03-01",
        "type": "us_strike",
        "label": "strike",
        "theatre": theatre,
        "militia": "A",
        "severity": severity,
    }
    return with_overrides(scenario, {"events.strike": strike})


def base_attack_days(scenario, seed: int) -> list[int]:
    ev = run(scenario, seed).events
    return ev.loc[(ev["action"] == "attack") & (ev["target"] == "us_base"), "day"].tolist()


def effect_of_strike(scenario, severity: float) -> tuple[float, float]:
    """Mean and standard error of the paired difference in attacks in the 30 days after the
    strike, with the strike against without it (same seeds)."""
    struck = with_strike(scenario, severity)
    diffs = []
    for seed in SEEDS:
        after = [
            sum(STRIKE_DAY <= d < STRIKE_DAY + 30 for d in base_attack_days(s, seed))
            for s in (struck, scenario)
        ]
        diffs.append(after[0] - after[1])
    return statistics.mean(diffs), statistics.stdev(diffs) / len(diffs) ** 0.5


@pytest.mark.parametrize("resolve", [QUIET, SURGE])
@pytest.mark.parametrize("severity", [0.5, 2.0])
def test_with_deterrence_switched_off_strikes_only_provoke(resolve, severity):
    mean, se = effect_of_strike(campaign(resolve, **DETERRENCE_OFF), severity)
    assert mean - 2 * se > 0, (mean, se)


@pytest.mark.parametrize("severity", [0.5, 2.0])
def test_a_strike_deters_a_slow_campaign_and_provokes_a_surge(severity):
    """The same strike is a strong signal when attacks are few (the response per attack the
    militias have seen jumps) and noise in a surge, where its revenge wins."""
    quiet, quiet_se = effect_of_strike(campaign(QUIET), severity)
    surge, surge_se = effect_of_strike(campaign(SURGE), severity)
    assert quiet + 2 * quiet_se < 0, (quiet, quiet_se)
    assert surge - 2 * surge_se > 0, (surge, surge_se)


def campaign_ended(scenario, seed: int) -> bool | None:
    """Whether attacks on US bases in days 15-28 after the first US strike are at most a tenth
    of those in the 14 days before it (None: no strike in the run)."""
    ev = run(scenario, seed).events
    strikes = ev.loc[(ev["actor"] == "us") & ev["action"].isin(["retaliate", "strike"]), "day"]
    if strikes.empty:
        return None
    d0 = int(strikes.iloc[0])
    days = ev.loc[(ev["action"] == "attack") & (ev["target"] == "us_base"), "day"]
    before = int(((days >= d0 - 14) & (days < d0)).sum())
    late = int(((days > d0 + 14) & (days <= d0 + 28)).sum())
    return late <= 0.1 * max(before, 1)


def share_ended(scenario) -> float:
    outcomes = [campaign_ended(scenario, seed) for seed in SEEDS]
    struck = [o for o in outcomes if o is not None]
    assert len(struck) >= len(outcomes) // 2, "too few runs with a strike to judge"
    return sum(struck) / len(struck)


#: US deaths answered the next day, and harder per death, on Iran itself: the ladder of 004
LADDER = {
    "us.doctrine.trigger": "killed",
    "us.doctrine.resolve": 6.0,
    "us.doctrine.severity": 1.0,
    "us.doctrine.severity_per_killed": 3.0,
    "us.doctrine.killed_theatre": "iran",
    "us.doctrine.delay_days": 1,
    "weapons.rocket.lethality": 0.3,
}


def test_deaths_answered_hard_end_a_campaign_within_two_weeks_when_iran_fears_war():
    assert share_ended(campaign(SURGE, **LADDER)) > 0.5


def test_irans_halt_alone_ends_it():
    """With the militias' own deterrence terms off, Iran's order still stops them."""
    halt_only = {**DETERRENCE_OFF, "iran.halt.enabled": True}
    assert share_ended(campaign(SURGE, **LADDER, **halt_only)) > 0.5


def test_with_every_deterrence_term_off_the_same_strikes_do_not_end_it():
    assert share_ended(campaign(SURGE, **LADDER, **DETERRENCE_OFF)) < 0.2


def test_a_small_strike_after_a_non_lethal_attack_does_not_end_a_campaign():
    small = {
        "us.doctrine.trigger": "every_attack",
        "us.doctrine.resolve": 6.0,
        "us.doctrine.severity": 0.3,
        "us.doctrine.theatre": "syria",
        "us.doctrine.cooldown_days": 365,
        "weapons.rocket.lethality": 0.0,  # no attack wounds or kills
    }
    assert share_ended(campaign(SURGE, **small)) < 0.2


def test_the_ladder_raises_severity_per_death_and_moves_the_theatre():
    model = EscalationModel(campaign(SURGE, **LADDER), seed=3)
    model.random.random = lambda: 0.0  # every draw: retaliate, and the attack is attributed
    killing = LogRecord(
        day=0, actor="A", action="attack", target="us_base", claim="own", us_killed=2
    )
    wounding = LogRecord(
        day=0, actor="B", action="attack", target="us_base", claim="own", us_wounded=3
    )
    model.us.consider_retaliation([wounding, killing])
    (strike,) = model.pending
    assert (strike.severity, strike.theatre, strike.militia) == (1.0 + 2 * 3.0, "iran", "A")


def test_credibility_is_strikes_seen_per_attack_seen():
    sc = campaign(QUIET, **{"militia_defaults.credibility_weight": 4.0})
    model = EscalationModel(sc, seed=1)
    militia = model.militias["A"]
    assert militia.credibility() == 0.0  # no strike seen yet
    for _ in range(6):
        model.resolve_attack("B", "us_base", "rocket", 1, "own", "B")
    model.us_strike("B", "iraq", 2.0, "test", action="strike")
    assert militia.credibility() == pytest.approx(2.0 / (4.0 + 6.0))
