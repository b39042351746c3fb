"""Mechanics that would break if the model were wrong."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from escalation import EscalationModel, ScenarioError, load_scenario, run, scenario_from_dict
from escalation.model.decisions import ContextMemory

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def attacks(result, actor=None, targets=None, start=None, end=None):
    ev = result.events
    ev = ev[ev["action"] == "attack"]
    if actor is not None:
        ev = ev[ev["actor"] == actor]
    if targets is not None:
        ev = ev[ev["target"].isin(targets)]
    if start is not None:
        ev = ev[(ev["date"] >= start) & (ev["date"] <= end)]
    return len(ev)


def test_small_scenario_is_active(small):
    sc = scenario_from_dict(small)
    res = run(sc, seed=3)
    assert attacks(res, "A") > 20 and attacks(res, "B") > 20


def test_militia_without_weapons_never_attacks(small):
    small["militias"]["B"]["stocks"] = {"rocket": 0, "ied": 0}
    small["militias"]["B"]["resupply_share"] = 0.0
    small["militias"]["B"]["resolve"] = 5.0  # as eager as can be: only the stocks stop it
    sc = scenario_from_dict(small)
    for seed in range(5):
        res = run(sc, seed=seed)
        assert attacks(res, "B") == 0
        assert attacks(res, "A") > 0


def test_attacks_use_up_stocks(small):
    small["iran"]["resupply"]["amounts"] = {}
    small["militias"]["A"]["stocks"] = {"rocket": 12, "ied": 0}
    small["militias"]["A"]["resolve"] = 5.0
    sc = scenario_from_dict(small)
    model = EscalationModel(sc, seed=1)
    model.run()
    fired = sum(r.size for r in model.log if r.actor == "A" and r.action == "attack")
    assert 0 < fired <= 12
    assert model.militias["A"].stocks["rocket"] == 12 - fired


def test_never_doctrine_never_retaliates(small):
    small["militias"]["A"]["resolve"] = 0.0  # many attacks, many casualties
    small["us"] = {"doctrine": {"trigger": "never"}}
    sc = scenario_from_dict(small)
    for seed in range(5):
        res = run(sc, seed=seed)
        assert res.summary["us_wounded"] > 0
        assert (res.events["action"] == "retaliate").sum() == 0
        assert res.summary["retaliations"] == 0


def test_every_attack_doctrine_does_retaliate(small):
    small["us"] = {
        "doctrine": {
            "trigger": "every_attack",
            "resolve": 10,
            "cooldown_days": 0,
            "strike_unattributed": 1.0,
        }
    }
    sc = scenario_from_dict(small)
    res = run(sc, seed=1)
    assert res.summary["retaliations"] > 10


def test_retaliation_builds_revenge_and_fear(small):
    small["us"] = {
        "doctrine": {
            "trigger": "every_attack",
            "resolve": 10,
            "delay_days": 0,
            "strike_unattributed": 1.0,
        }
    }
    model = EscalationModel(scenario_from_dict(small), seed=2)
    model.run_until(90)
    struck = {r.target for r in model.log if r.action == "retaliate"}
    assert struck
    for mid in struck:
        assert model.militias[mid].fear > 0 and model.militias[mid].revenge > 0


def test_a_revenge_event_raises_that_militias_attacks_on_us_targets_and_their_size(small):
    """A dated militia event that adds revenge (a slain leader's birthday): in the month after
    it, that militia attacks US targets more often and with more rockets a salvo; the months
    before are as without it, and so (with no rivalry to answer) is the other militia."""
    for mid in ("A", "B"):
        small["militias"][mid]["resolve"] = -4.5
        small["militias"][mid]["rivals"] = []
    small["militias"]["A"]["weights"] = {"size": 1.0}

    def ensemble(revenge: float | None) -> pd.DataFrame:
        events = {}
        if revenge is not None:
            events = {
                "birthday": {
                    "date": "2020-06-01",
                    "type": "militia",
                    "militia": "A",
                    "label": "birthday",
                    "revenge": revenge,
                }
            }
        sc = scenario_from_dict({**small, "events": events})
        return pd.concat([run(sc, s).events.assign(run=s) for s in range(12)])

    def window(ev, actor, start, end):
        ev = ev[(ev["action"] == "attack") & (ev["actor"] == actor)]
        return ev[(ev["date"] >= start) & (ev["date"] <= end)]

    without, renewed = ensemble(None), ensemble(3.0)
    month = ("2020-06-01", "2020-06-30")
    a0, a1 = window(without, "A", *month), window(renewed, "A", *month)
    assert len(a1) > 1.5 * len(a0) > 0
    assert a1["size"].mean() > a0["size"].mean()
    before = ("2020-01-01", "2020-05-31")
    assert window(renewed, "A", *before).equals(window(without, "A", *before))
    assert len(window(renewed, "B", *month)) < 1.5 * max(len(window(without, "B", *month)), 1)


def without_and_with_truce(small):
    """The small scenario, and the same with a truce from April to September 2020."""
    base = scenario_from_dict(small)
    truce = {"date": "2020-04-01", "type": "truce", "label": "truce", "ends": "2020-09-30"}
    return base, scenario_from_dict({**small, "events": {**small["events"], "truce": truce}})


def test_truce_lowers_compliant_militias_attacks(small):
    base, with_truce = without_and_with_truce(small)
    window = ("2020-04-01", "2020-09-30")
    covered = ["us_base"]
    before = after = 0
    for seed in range(12):
        before += attacks(run(base, seed), "A", covered, *window)
        after += attacks(run(with_truce, seed), "A", covered, *window)
    assert before > 30
    assert after < 0.3 * before


def test_truce_redirects_compliant_militia_to_uncovered_targets(small):
    base, with_truce = without_and_with_truce(small)
    window = ("2020-04-01", "2020-09-30")
    uncovered = ["us_convoy", "domestic"]
    before = sum(attacks(run(base, s), "A", uncovered, *window) for s in range(12))
    after = sum(attacks(run(with_truce, s), "A", uncovered, *window) for s in range(12))
    assert after > before


def test_facades_lower_attribution_to_the_real_group(small):
    for m in small["militias"].values():
        m["brands"] = [{"name": "Facade", "targets": ["us_base", "us_convoy"]}]
    with_facades = scenario_from_dict(small)
    without = scenario_from_dict(small, {"deniability.facades": False})
    claims_with = run(with_facades, 1).events["claim"]
    claims_without = run(without, 1).events["claim"]
    assert (claims_with == "facade").sum() > 0
    assert (claims_without == "facade").sum() == 0


def test_brand_appeal_draws_claims_to_that_brand_only(small):
    small["militias"]["A"]["brands"] = [{"name": "Umbrella", "targets": ["us_base"]}]
    small["militias"]["B"]["brands"] = [{"name": "Other", "targets": ["us_base"]}]

    def facade_share(appeal: float, brand: str) -> float:
        sc = scenario_from_dict(small, {"deniability.brand_appeal": {"Umbrella": appeal}})
        ev = pd.concat([run(sc, s).events for s in range(4)])
        ev = ev[(ev["action"] == "attack") & (ev["target"] == "us_base")]
        mine = ev[ev["actor"] == ("A" if brand == "Umbrella" else "B")]
        return float((mine["brand"] == brand).mean())

    assert facade_share(3.0, "Umbrella") > facade_share(0.0, "Umbrella") + 0.3
    # the other militia's brand is untouched by the umbrella's appeal (same draws: it differs
    # only through A's changed behaviour, so allow a small change)
    assert abs(facade_share(3.0, "Other") - facade_share(0.0, "Other")) < 0.1


def test_a_target_class_own_claim_cost_moves_only_its_own_claims(small):
    small["militias"]["A"]["resolve"] = 0.0  # many attacks of each kind
    small["targets"] = {"domestic": {"legitimacy": 3.0}}  # worth attacking, and claiming

    def own_claims(cost: float) -> pd.Series:
        sc = scenario_from_dict(small, {"targets.domestic.own_claim_cost": cost})
        ev = pd.concat([run(sc, s).events for s in range(4)])
        ev = ev[(ev["action"] == "attack") & (ev["actor"] == "A")]
        return ev.groupby(ev["target"] == "domestic")["claim"].apply(lambda c: (c == "own").sum())

    cheap, dear = own_claims(0.0), own_claims(10.0)
    assert cheap[True] > 5 and dear[True] == 0
    # elsewhere the militia still claims in its own name (it differs only through the draws)
    assert dear[False] > 0.5 * cheap[False] > 0


def test_wounded_weight_keeps_injuries_out_of_irans_war_fear(small):
    # an attack sure to wound exactly one and kill no one
    sure = {"lethality": 1e6, "accuracy": 1.0, "interceptable": 0.0, "kill_share": 0.0}
    sure["cluster"] = 1.0

    def fear_after_one_wounded(weight: float) -> float:
        sc = scenario_from_dict(
            small, {"iran.war_fear_wounded_weight": weight, "weapons.rocket": sure}
        )
        model = EscalationModel(sc, seed=1)
        model.iran.war_fear = 0.0
        model.resolve_attack("A", "us_base", "rocket", 5, "own", "A")
        assert model.log[-1].us_wounded == 1 and model.log[-1].us_killed == 0
        return model.iran.war_fear

    assert fear_after_one_wounded(1.0) > 0
    assert fear_after_one_wounded(0.0) == 0.0


def test_removed_event_changes_the_run():
    baseline = load_scenario(SCENARIOS / "baseline.yaml")
    without = load_scenario(SCENARIOS / "baseline.yaml", ["events.soleimani_strike=null"])
    assert "soleimani_strike" not in without.events
    a, b = run(baseline, 7), run(without, 7)
    assert not a.events.equals(b.events)

    def leadership_strikes(r):
        return ((r.events["action"] == "strike") & (r.events["claim"] == "leadership")).sum()

    assert (leadership_strikes(a), leadership_strikes(b)) == (1, 0)


def test_same_seed_same_run_different_seed_different_run(small):
    sc = scenario_from_dict(small)
    a, b, c = run(sc, 11), run(sc, 11), run(sc, 12)
    assert a.events.equals(b.events) and a.monthly.equals(b.monthly)
    assert not a.events.equals(c.events)


def test_step_days_longer_than_one_keeps_rates(small):
    daily = scenario_from_dict(small)
    weekly = scenario_from_dict(small, {"step_days": 7})
    n_daily = np.mean([attacks(run(daily, s)) for s in range(6)])
    n_weekly = np.mean([attacks(run(weekly, s)) for s in range(6)])
    assert 0.6 < n_weekly / n_daily < 1.6


def test_us_leaving_removes_us_targets(small):
    small["events"]["leave"] = {
        "date": "2020-06-01",
        "type": "us_posture",
        "label": "US leaves",
        "sites": 0,
        "troops": 0,
        "embassy": False,
        "mission": "none",
    }
    sc = scenario_from_dict(small)
    res = run(sc, 4)
    assert attacks(res, targets=["us_base", "us_convoy"], start="2020-06-01", end="2020-12-31") == 0
    assert attacks(res, targets=["us_base", "us_convoy"], start="2020-01-01", end="2020-05-31") > 0


def _troops_after(small: dict, event: dict) -> float:
    small["events"]["posture"] = {"date": "2020-06-01", "type": "us_posture", "label": "x", **event}
    small.setdefault("us", {}).setdefault("withdrawal", {})["advisory_troops"] = 0.3
    model = EscalationModel(scenario_from_dict(small), seed=1)
    while model.running and model.day < 200:
        model.step()
    return model.us.troops


def test_ending_the_combat_mission_leaves_the_advisory_footprint(small):
    """A posture event that ends the combat mission draws the troops down as the US agent does
    when it ends the mission itself; an explicit troop level overrides that footprint."""
    assert _troops_after(small, {"mission": "advisory"}) == pytest.approx(0.3)
    assert _troops_after(small, {"mission": "advisory", "troops": 0.8}) == pytest.approx(0.8)
    assert _troops_after(small, {"mission": "none"}) == 0.0


def _exact_odds_every_day(patch) -> None:
    """Make every militia compute its exact odds of attacking every day (no shortcut)."""
    from escalation.model.militia import Militia

    original = Militia.attack_odds_bound

    def exact_every_day(self):
        bound = original(self)
        return None if bound is None else float("inf")

    patch.setattr(Militia, "attack_odds_bound", exact_every_day)


def test_attack_odds_bound_never_changes_a_decision(monkeypatch):
    """Most days a militia decides from an upper bound on its odds of attacking; computing the
    exact odds every day must give the same runs."""
    for name in ("baseline.yaml", "no_truce_2020.yaml"):
        scenario = load_scenario(SCENARIOS / name)
        fast = [run(scenario, seed) for seed in (1, 2)]
        with monkeypatch.context() as patch:
            _exact_odds_every_day(patch)
            slow = [run(scenario, seed) for seed in (1, 2)]
        for a, b in zip(fast, slow, strict=True):
            assert a.events.equals(b.events)


def _attacks_per_day(sc, seeds, actor="A"):
    ev = pd.concat([run(sc, s).events.assign(seed=s) for s in seeds])
    ev = ev[(ev["action"] == "attack") & (ev["actor"] == actor)]
    return ev


def test_fronts_are_decided_apart(small):
    """One attack a day at most on each front: a saturated US front crowds out the domestic
    targets when they share it, and leaves them alone when they are a front of their own."""
    small["militias"]["A"]["resolve"] = 3.0  # attacks nearly every day
    small["militia_defaults"]["stocks"] = {"rocket": 1e5, "ied": 1e5}
    small["targets"] = {"domestic": {"legitimacy": -1.0}}  # the least attractive class
    one = scenario_from_dict(small)
    apart = scenario_from_dict(small, {"targets.domestic.front": "home"})
    a1, a2 = _attacks_per_day(one, range(3)), _attacks_per_day(apart, range(3))
    per_day_one = a1.groupby(["seed", "date"]).size()
    assert per_day_one.max() == 1
    per_front = a2.groupby(["seed", "date", a2["target"] == "domestic"]).size()
    assert per_front.max() == 1
    assert a2.groupby(["seed", "date"]).size().max() == 2
    # the domestic front, free of the US front's competition, is attacked far more often
    assert (a2["target"] == "domestic").sum() > 3 * max(1, (a1["target"] == "domestic").sum())
    # and the US front keeps its tempo
    us1, us2 = (a1["target"] != "domestic").sum(), (a2["target"] != "domestic").sum()
    assert us2 >= us1


def test_attack_odds_bound_holds_with_several_fronts(small, monkeypatch):
    """The shortcut decides from the odds that any front is attacked: the same runs as exact
    odds every day, with a quiet militia (most days skipped) and several fronts."""
    small["targets"] = {"domestic": {"front": "home"}, "us_convoy": {"front": "roads"}}
    scenario = scenario_from_dict(small)
    fast = [run(scenario, seed) for seed in (1, 2)]
    _exact_odds_every_day(monkeypatch)
    slow = [run(scenario, seed) for seed in (1, 2)]
    for a, b in zip(fast, slow, strict=True):
        assert len(a.events) > 20
        assert a.events.equals(b.events)


def _convoy_days(small: dict, opportunity: float, advisory: bool = False) -> float:
    """The share of days a militia bent on attacking convoys attacks one."""
    small["militias"]["A"]["resolve"] = 6.0  # would attack every day it could
    small["militias"]["A"]["repertoire"] = {"us_convoy": None}
    del small["militias"]["B"]
    small["militias"]["A"]["rivals"] = []
    small["militia_defaults"]["stocks"] = {"ied": 1e5}
    small["targets"] = {"us_convoy": {"opportunity": opportunity}}
    if advisory:
        small["events"]["drawdown"] = {
            "date": "2020-01-01", "type": "us_posture", "label": "x", "mission": "advisory"
        }  # fmt: skip
        small.setdefault("us", {}).setdefault("withdrawal", {})["advisory_troops"] = 0.4
    attacks = _attacks_per_day(scenario_from_dict(small), range(4))
    return len(attacks) / (4 * 366)


def test_the_opportunity_bounds_the_daily_rate_and_the_footprint_scales_it(small):
    """However strong the will, a militia attacks a class only on the days a target of it is
    within reach: at most the class's opportunity times its exposure (fewer convoys, fewer
    convoys to attack)."""
    full = _convoy_days(copy.deepcopy(small), 1.0)
    half = _convoy_days(copy.deepcopy(small), 0.5)
    drawn_down = _convoy_days(copy.deepcopy(small), 0.5, advisory=True)
    assert full > 0.97
    assert half == pytest.approx(0.5, abs=0.04)
    assert drawn_down == pytest.approx(0.2, abs=0.03)


@pytest.mark.parametrize("shared", [False, True])
def test_attack_odds_bound_holds_with_targets_out_of_reach(small, monkeypatch, shared):
    """The classes within reach are drawn every day whether or not the shortcut is taken, so
    exact odds every day give the same runs (for the network's shared draw too)."""
    small["targets"] = {
        "us_convoy": {"opportunity": 0.3, "shared": shared},
        "domestic": {"front": "home"},
    }
    scenario = scenario_from_dict(small)
    fast = [run(scenario, seed) for seed in (1, 2)]
    _exact_odds_every_day(monkeypatch)
    slow = [run(scenario, seed) for seed in (1, 2)]
    for a, b in zip(fast, slow, strict=True):
        assert (a.events["target"] == "us_convoy").sum() > 5
        assert a.events.equals(b.events)


def test_a_timeline_strike_lands_where_it_is_aimed_and_scales_with_severity(small):
    def strike(severity: float):
        small["events"] = {
            "big_strike": {
                "date": "2020-06-01", "label": "strike", "type": "us_strike",
                "theatre": "syria", "militia": "A", "severity": severity,
            }
        }  # fmt: skip
        return run(scenario_from_dict(small), 3, daily=True)

    one, five = strike(1.0), strike(5.0)
    logged = one.events.query("action == 'strike'")
    assert list(zip(logged["actor"], logged["target"], logged["theatre"], strict=True)) == [
        ("us", "A", "syria")
    ]
    day = (pd.Timestamp("2020-06-01") - pd.Timestamp("2020-01-01")).days
    fear = [r.daily.loc[day + 1, "A.fear"] - r.daily.loc[day - 1, "A.fear"] for r in (one, five)]
    assert fear[1] > fear[0] > 0


def test_a_timeline_strike_on_an_unknown_militia_names_the_key(small):
    small["events"] = {
        "s": {"date": "2020-06-01", "label": "s", "type": "us_strike", "militia": "Z"}
    }
    with pytest.raises(ScenarioError, match=r"events\.s\.militia"):
        scenario_from_dict(small)


def _network_convoy_days(small: dict, shared: bool) -> tuple[float, dict[str, int]]:
    """Two militias bent on attacking convoys at opportunity 0.5: the share of days with any
    convoy attack, the most on one day, and the attacks by militia."""
    for mid in ("A", "B"):
        small["militias"][mid]["resolve"] = 6.0
        small["militias"][mid]["repertoire"] = {"us_convoy": None}
        small["militias"][mid]["rivals"] = []
    small["militia_defaults"]["stocks"] = {"ied": 1e5}
    small["targets"] = {"us_convoy": {"opportunity": 0.5, "shared": shared}}
    result = run(scenario_from_dict(small), 3)
    ev = result.events.query("action == 'attack' and target == 'us_convoy'")
    per_day = ev.groupby("day").size()
    return len(per_day) / 366, int(per_day.max()), ev["actor"].value_counts().to_dict()


def test_a_shared_class_bounds_the_network_not_each_militia(small):
    """Convoys the militias compete for: the day's target goes to the first that attacks it, so
    the opportunity bounds the network's daily rate; unshared, each militia has its own."""
    days_shared, most_shared, by_militia = _network_convoy_days(copy.deepcopy(small), True)
    days_own, most_own, _ = _network_convoy_days(copy.deepcopy(small), False)
    assert most_shared == 1 and most_own == 2
    assert days_shared == pytest.approx(0.5, abs=0.06)
    assert days_own == pytest.approx(0.75, abs=0.06)  # either militia's convoy: 1 - 0.5^2
    # both attack, in the order the step shuffles them
    assert min(by_militia.values()) > 0.3 * max(by_militia.values())


def test_context_memory_follows_the_context_with_its_half_life():
    """With a half-life the remembered driver covers half the distance to its new value in
    that many days and takes the value once within SETTLED; with none it is the context."""
    context = {"tension": 0.0}
    at_once = ContextMemory(context, 0.0)
    assert at_once.view is context
    memory = ContextMemory(context, 10.0)
    assert memory.view == {"tension": 0.0}
    memory.follow(10)
    assert memory.version == 0  # nothing moved
    context["tension"] = 1.0
    assert memory.view["tension"] == 0.0  # the day of the change
    memory.follow(10)
    assert memory.view["tension"] == pytest.approx(0.5)
    memory.follow(10)
    assert memory.view["tension"] == pytest.approx(0.75)
    memory.follow(200)
    assert memory.view["tension"] == 1.0
    settled = memory.version
    memory.follow(10)
    assert memory.version == settled


def test_a_driver_of_its_own_half_life_lags_alone():
    """A half-life given for one driver applies to it alone: the others are read as they are
    on the day they change, even when the militia's own half-life is 0, and one set to 0
    is read at once under a lagged militia."""
    context = {"tension": 0.0, "dispute": 0.0}
    memory = ContextMemory(context, 0.0, {"dispute": 10.0})
    assert memory.view == context  # remembered from the first use
    context.update(tension=1.0, dispute=1.0)
    assert memory.view["tension"] == 1.0 and memory.view["dispute"] == 0.0
    memory.follow(10)
    assert memory.view["dispute"] == pytest.approx(0.5)
    assert memory.view["tension"] == 1.0
    quick = ContextMemory(context, 10.0, {"tension": 0.0})
    assert quick.view == context
    context.update(tension=2.0, dispute=2.0)
    assert quick.view["tension"] == 2.0 and quick.view["dispute"] == 1.0
    version = quick.version
    quick.follow(10)
    assert quick.view["dispute"] == pytest.approx(1.5) and quick.version == version + 1


def _us_motives(
    small: dict, half_life: float, days: list[int], by_driver: dict | None = None
) -> list[float]:
    """Militia A's motive against US forces on the given days (from the start of 2020) when a
    context event raises the tension from 1 to 5 on 1 June (day 152)."""
    small["militia_defaults"]["context_half_life_days"] = half_life
    small["militia_defaults"]["driver_half_life_days"] = by_driver or {}
    small["events"]["crisis"] = {
        "date": "2020-06-01",
        "type": "context",
        "label": "crisis",
        "set": {"tension": 5.0},
    }
    model = EscalationModel(scenario_from_dict(small), seed=1)
    out = []
    for day in days:
        while model.running and model.day < day:
            model.step()
        out.append(model.motive(model.militias["A"], "us"))
    return out


def test_a_context_half_life_spreads_an_events_effect_on_the_motives_over_weeks(small):
    """The motive is 1 + 0.5 x tension: 1.5 before the event and 3.5 after. At once it jumps on
    the event's day; with a 30-day half-life it has covered 1 - 0.5^(n / 30) of the way n days
    later (1 at the end of the event's day, as each motive is read after that day's step), and
    runs are the same as at once until the event."""
    days = [151, 152, 182, 360]
    assert _us_motives(small, 0.0, days) == pytest.approx([1.5, 3.5, 3.5, 3.5])
    lagged = _us_motives(small, 30.0, days)
    expected = [1.5] + [3.5 - 2.0 * 0.5 ** ((day - 151) / 30) for day in days[1:]]
    assert lagged == pytest.approx(expected)
    assert 2.45 < lagged[2] < 2.55
    sc = {
        h: scenario_from_dict(
            {
                **small,
                "militia_defaults": {**small["militia_defaults"], "context_half_life_days": h},
            }
        )
        for h in (0.0, 30.0)
    }
    before = [attacks(run(sc[h], 3), start="2020-01-01", end="2020-05-31") for h in sc]
    assert before[0] == before[1]


def test_a_drivers_half_life_in_a_scenario_lags_that_driver_alone(small):
    """The tension's own half-life lags the motive as the militia's would; set to 0 under a
    lagged militia, the motive moves on the event's day."""
    days = [151, 152, 182]
    lagged = _us_motives(copy.deepcopy(small), 30.0, days)
    assert _us_motives(copy.deepcopy(small), 0.0, days, {"tension": 30.0}) == pytest.approx(lagged)
    at_once = _us_motives(copy.deepcopy(small), 30.0, days, {"tension": 0.0})
    assert at_once == pytest.approx([1.5, 3.5, 3.5])


def test_a_truce_line_binds_only_what_the_truce_covers(small):
    """Iran's truce line pulls a compliant militia off the classes the truce covers; with the
    line bound to the truce's scope it leaves the convoys (not covered) alone, so the militia
    attacks them more under the truce than when the line binds every US class."""
    window = ("2020-04-01", "2020-09-30")
    truce = {"date": "2020-04-01", "type": "truce", "label": "truce", "ends": "2020-09-30"}
    small["events"]["truce"] = truce
    convoys = {}
    for scoped in (False, True):
        lines = {"truce": {"intensity": 0.0, "bias": -2.0, "effect": {"us": -2.5}}}
        lines["truce"]["truce_scope"] = scoped
        sc = scenario_from_dict({**small, "iran": {**small["iran"], "lines": lines}})
        convoys[scoped] = sum(attacks(run(sc, s), "A", ["us_convoy"], *window) for s in range(12))
        bases = sum(attacks(run(sc, s), "A", ["us_base"], *window) for s in range(4))
        assert bases < 10  # the truce holds on what it covers either way
    assert convoys[True] > 1.5 * convoys[False]


def test_a_motive_scaled_by_the_mission_follows_it(small):
    """A motive scaled by us_mission is the same as unscaled during the combat mission, half as
    large once the mission is advisory and nil once the US has left; Iran's need for leverage
    scales the same way."""
    small["militia_defaults"]["motives"]["us"]["scale"] = "us_mission"
    small["iran"]["leverage"] = {"base": 0.8, "context": {}, "scale": "us_mission"}
    for mission, level in (("advisory", 0.5), ("none", 0.0)):
        sc = copy.deepcopy(small)
        sc["events"]["posture"] = {
            "date": "2020-06-01",
            "type": "us_posture",
            "label": "x",
            "mission": mission,
        }
        model = EscalationModel(scenario_from_dict(sc), seed=1)
        before = model.motive(model.militias["A"], "us")
        assert before == pytest.approx(1.5)  # 1 + 0.5 x tension, at the full mission
        assert model.iran.leverage() == pytest.approx(0.8)
        while model.running and model.day < 200:
            model.step()
        assert model.motive(model.militias["A"], "us") == pytest.approx(1.5 * level)
        assert model.iran.leverage() == pytest.approx(0.8 * level)


def test_a_motive_scaled_by_an_unknown_driver_names_the_key(small):
    small["militia_defaults"]["motives"]["us"]["scale"] = "us_missions"
    with pytest.raises(ScenarioError, match=r"militia_defaults\.motives\.us\.scale"):
        scenario_from_dict(small)


def test_resupply_event_changes_only_the_weapons_it_names(small):
    small["events"] = {
        "drones": {
            "date": "2020-03-01",
            "type": "resupply",
            "label": "drones arrive",
            "source": "test",
            "amounts": {"drone": 3},
        }
    }
    model = EscalationModel(scenario_from_dict(small), seed=1)
    assert model.iran.resupply_amounts == {"rocket": 10, "ied": 10}
    model.run()
    assert model.iran.resupply_amounts == {"rocket": 10, "ied": 10, "drone": 3}
