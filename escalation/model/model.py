"""The escalation model: Iran, militias, US forces and the Iraqi government, stepped in days.

The order of activation within a step is written out in :meth:`EscalationModel.step`.
The model records true events in an event log; observed series are derived from it afterwards
(``escalation.observe.series``), never inside the model.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mesa import DataCollector, Model

from escalation.model.decisions import FOREIGN, logistic
from escalation.model.events import apply_event
from escalation.model.iran import Iran
from escalation.model.iraqi_government import IraqiGovernment
from escalation.model.log import LogRecord
from escalation.model.militia import Militia
from escalation.model.us_forces import USForces
from escalation.scenario import schema as C
from escalation.scenario.loading import load_scenario, with_overrides


@dataclass
class Truce:
    """A truce with US forces: who declared it, what it covers, who broke it."""

    by: str
    scope: frozenset[str]
    start_day: int
    ends_day: int | None
    breakers: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)  # slots: the step reads the next entry's day
class TimelineEntry:
    """A timeline event and the day it falls on."""

    day: int
    eid: str
    event: C.Event


# ---- reporters: one named function per daily state column


def iran_line(m: EscalationModel) -> str:
    return m.iran.line


def iran_revenge(m: EscalationModel) -> float:
    return m.iran.revenge


def iran_war_fear(m: EscalationModel) -> float:
    return m.iran.war_fear


def us_sites(m: EscalationModel) -> int:
    return m.us.sites


def us_troops(m: EscalationModel) -> float:
    return m.us.troops


def us_mission(m: EscalationModel) -> str:
    return m.us.mission


def us_air_defence(m: EscalationModel) -> float:
    return m.us.air_defence


def truce_active(m: EscalationModel) -> bool:
    return m.truce is not None


def attacks(m: EscalationModel) -> int:
    return m.attacks


def attacks_on_us(m: EscalationModel) -> int:
    return m.attacks_on_us


def us_wounded(m: EscalationModel) -> int:
    return m.us.wounded


def us_killed(m: EscalationModel) -> int:
    return m.us.killed


def retaliations(m: EscalationModel) -> int:
    return m.us.strikes


def us_strikes(m: EscalationModel) -> int:
    return m.all_us_strikes


def sovereignty(m: EscalationModel) -> float:
    return m.iraq.sovereignty


def pressure_on_us(m: EscalationModel) -> float:
    return m.iraq.pressure_on_us


MODEL_REPORTERS = {
    f.__name__: f
    for f in (
        iran_line,
        iran_revenge,
        iran_war_fear,
        us_sites,
        us_troops,
        us_mission,
        us_air_defence,
        truce_active,
        sovereignty,
        pressure_on_us,
        attacks,
        attacks_on_us,
        us_wounded,
        us_killed,
        retaliations,
        us_strikes,
    )
}
"""The DataCollector's model reporters: the state of Iran, US forces and the government, and
the run's counts so far, named and counted as the run's outcomes are
(escalation.observe.outcomes): attacks, attacks on US targets, US wounded and killed, the
strikes the doctrine ordered (retaliations) and every US strike."""
MILITIA_REPORTERS = {
    "stocks": "stock_total",
    "revenge": "revenge",
    "fear": "fear",
    "grievance": "grievance",
    "compliance": "compliance",
    "observing_truce": "observing",
}


class EscalationModel(Model):
    """Proxy escalation in Iraq: one step is ``scenario.step_days`` days. ``running`` turns
    False after the step that reaches the scenario's end, so Mesa's ``run_model`` and
    ``batch_run`` stop there.

    Args:
        scenario: a validated scenario (``load_scenario``), or the path of a scenario file.
        seed: the run's seed; all randomness flows from it.
        collect: record the daily state with Mesa's DataCollector (off when only events and
            observed series are wanted: ensembles, sweeps, calibration).
        **values: scenario values by dotted key path, applied as ``--set`` applies them (so
            ``mesa.batch_run(EscalationModel, {"scenario": "scenarios/baseline.yaml",
            "us.doctrine.severity": [1, 2]})`` sweeps a scenario value).
    """

    def __init__(
        self,
        scenario: C.Scenario | str | Path,
        seed: int | None = None,
        collect: bool = True,
        **values: Any,
    ) -> None:
        super().__init__(rng=seed)
        scenario = _as_scenario(scenario, values)
        self.cfg = scenario
        self.start = scenario.start
        self.end = scenario.end
        self.step_days = scenario.step_days
        self.n_days = (scenario.end - scenario.start).days + 1
        self.n_steps = math.ceil(self.n_days / self.step_days)
        self.day = 0
        self.weapon_cfg = scenario.weapons
        self.weapons = tuple(scenario.weapons)
        self.min_size = {
            w: min(s.min for s in c.sizes.values()) for w, c in scenario.weapons.items()
        }
        self.targets = scenario.targets
        # one front (the default) keeps the single daily decision of every militia
        self.several_fronts = len({t.front for t in scenario.targets.values()}) > 1
        self._shared_classes = {tid: t for tid, t in scenario.targets.items() if t.shared}
        self.shared_reach: list[dict[str, bool]] = []
        self.context: dict[str, float] = {k: float(v) for k, v in scenario.context.items()}
        self.context_version = 0
        # per militia: the (context, memory) versions its motives were computed under, and
        # owner -> motive
        self._motives: dict[str, tuple[tuple[int, int], dict[str, float]]] = {}

        self.iran = Iran(self, scenario.iran)
        self.us = USForces(self, scenario.us)
        self.iraq = IraqiGovernment(self, scenario.iraq)
        self.militias: dict[str, Militia] = {
            mid: Militia(self, mid, mcfg) for mid, mcfg in scenario.militias.items()
        }
        self.context["us_mission"] = self.us.mission_level
        self.context["militias_in_government"] = float(self.iraq.government.militias_in_government)

        self.truce: Truce | None = None
        self.pending: set = set()
        self.log: list[LogRecord] = []
        self.attacks = 0  # so far, on any target
        self.attacks_on_us = 0
        self.all_us_strikes = 0  # ordered by the doctrine or scheduled by the timeline
        self.today_us_attacks: list[LogRecord] = []
        self.force_attacks_by_day = [0] * self.n_days  # on sites with US personnel
        self.foreign_attacks_by_day = [0] * self.n_days
        self.domestic_log: list[LogRecord] = []  # attacks on domestic targets
        self.timeline = [
            TimelineEntry(day=self.day_of(ev.date), eid=eid, event=ev)
            for eid, ev in scenario.sorted_events()
        ]
        self._next_event = 0

        self.collect = collect
        self.datacollector = DataCollector(
            model_reporters=MODEL_REPORTERS,
            agenttype_reporters={Militia: MILITIA_REPORTERS},
        )

    # ---- time

    def day_of(self, date: dt.date) -> int:
        """Days from the scenario's start to ``date``."""
        return (date - self.start).days

    @property
    def date(self) -> dt.date:
        return self.start + dt.timedelta(days=self.day)

    def run(self) -> None:
        """Run from the scenario's start to its end."""
        self.run_until(self.n_steps)

    # ---- the step

    def step(self) -> None:
        """One step: events, then Iran, the government, militias (shuffled), US forces."""
        self.day = (self.steps - 1) * self.step_days
        self.today_us_attacks = []
        self.apply_due_events()
        truce = self.truce
        if truce is not None and truce.ends_day is not None and self.day >= truce.ends_day:
            self.end_truce("scheduled end")
        self.iran.step()
        self.iraq.step()
        self.shared_reach = self.draw_shared_reach()
        self.agents_by_type[Militia].shuffle_do("step")
        self.us.step()
        self.end_of_step()
        if self.collect:
            self.datacollector.collect(self)
        if self.steps >= self.n_steps:
            self.running = False

    def draw_shared_reach(self) -> list[dict[str, bool]]:
        """Per day of the step, which shared target classes have a target within reach: one
        draw for the whole network, so the militias compete for it (``take_shared``)."""
        probs = {tid: self.exposure(t) * t.opportunity for tid, t in self._shared_classes.items()}
        if not probs:
            return []
        return [
            {tid: p >= 1.0 or (p > 0.0 and self.random.random() < p) for tid, p in probs.items()}
            for _ in range(self.step_days)
        ]

    def take_shared(self, day: int, tid: str) -> None:
        """An attack on a shared class takes that day's target from the other militias."""
        if self.shared_reach and tid in self.shared_reach[day]:
            self.shared_reach[day][tid] = False

    def apply_due_events(self) -> None:
        horizon = self.day + self.step_days
        while (
            self._next_event < len(self.timeline) and self.timeline[self._next_event].day < horizon
        ):
            entry = self.timeline[self._next_event]
            self._next_event += 1
            apply_event(self, entry.eid, entry.event)
            self.log_simple("timeline", "event", entry.eid, entry.event.label)

    def end_of_step(self) -> None:
        d = self.step_days
        for militia in self.militias.values():
            militia.decay(d)
        self.iran.decay(d)
        self.iraq.decay(d)

    # ---- shared quantities

    def context_changed(self) -> None:
        self.context_version += 1

    def motive(self, militia: Militia, owner: str) -> float:
        """A militia's motive to pressure ``owner`` under the context drivers it acts on
        (cached until the context, or the militia's memory of it, moves)."""
        version = (self.context_version, militia.seen.version)
        cached = self._motives.get(militia.mid)
        if cached is None or cached[0] != version:
            cached = self._motives[militia.mid] = (version, {})
        value = cached[1].get(owner)
        if value is not None:
            return value
        spec = militia.cfg.motives.get(owner)
        value = 0.0
        if spec is not None:
            value = spec.level(militia.seen.view)
        cached[1][owner] = value
        return value

    def exposure(self, t: C.TargetClass) -> float:
        """How available a target class is under the current US posture (0: absent)."""
        kind = t.exposure
        if kind == "always":
            return 1.0
        us = self.us
        if kind == "sites":
            return us.sites / us.initial_sites
        if kind == "troops":
            return us.troops / us.initial_troops
        if kind == "embassy":
            return 1.0 if us.embassy else 0.0
        return 1.0 if us.syria else 0.0

    def strongest_militia(self) -> str:
        return max(sorted(self.militias), key=lambda mid: self.militias[mid].stock_total)

    def recent_attacks_on_forces(self, window: int) -> int:
        lo = max(0, self.day - window + 1)
        return sum(self.force_attacks_by_day[lo : self.day + self.step_days])

    def recent_foreign_attacks(self, window: int) -> int:
        lo = max(0, self.day - window + 1)
        return sum(self.foreign_attacks_by_day[lo : self.day + self.step_days])

    def recent_domestic_by_militia(self, window: int) -> dict[str, int]:
        out: dict[str, int] = {}
        for attack in reversed(self.domestic_log):
            if attack.day <= self.day - window:
                break
            out[attack.actor] = out.get(attack.actor, 0) + 1
        return out

    # ---- actions and their consequences

    def resolve_attack(
        self,
        actor: str,
        tid: str,
        weapon: str,
        size: int,
        claim: str,
        brand: str,
        warned: float = 0.0,
    ) -> None:
        """Interception, impact and casualties of one attack; log it; update who noticed."""
        rnd = self.random.random
        t = self.targets[tid]
        w = self.weapon_cfg[weapon]
        span = min(self.step_days, self.n_days - self.day)
        day = self.day + (self.random.randrange(span) if span > 1 else 0)
        intercepted = 0
        if t.defended and t.owner == "us":
            p = self.us.air_defence * w.interceptable
            intercepted = sum(1 for _ in range(size) if rnd() < p)
        landed = size - intercepted
        landed_near = landed > 0 and rnd() < 1.0 - (1.0 - w.accuracy) ** landed
        wounded = killed = 0
        if landed_near and t.personnel > 0 and t.owner == "us":
            hazard = w.lethality * landed * t.personnel * (1.0 - self.us.force_protection)
            hazard *= 1.0 - warned
            if hazard > 0 and rnd() < 1.0 - math.exp(-hazard):
                casualties = 1 + poisson(rnd, w.cluster - 1.0)
                killed = sum(1 for _ in range(casualties) if rnd() < w.kill_share)
                wounded = casualties - killed
        other_killed = poisson(rnd, t.other_killed_rate) if t.other_killed_rate else 0
        # the most frequent record: tuple.__new__ builds it several times faster than
        # LogRecord(...) (the fields in the order of LOG_COLUMNS)
        record = tuple.__new__(
            LogRecord,
            (
                day,
                actor,
                "attack",
                tid,
                t.theatre,
                weapon,
                size,
                claim,
                brand,
                intercepted,
                landed_near,
                wounded,
                killed,
                other_killed,
                "",  # detail
            ),
        )
        self.log.append(record)
        self.attacks += 1
        if t.owner in FOREIGN:
            self.foreign_attacks_by_day[day] += 1
        if t.owner == "us":
            self.attacks_on_us += 1
            if t.personnel > 0:
                self.force_attacks_by_day[day] += 1
                for militia in self.militias.values():
                    militia.seen_attacks += 1.0
            self.today_us_attacks.append(record)
            self.us.period_attacks += 1
            if wounded or killed:
                self.us.wounded += wounded
                self.us.killed += killed
                self.us.period_casualties += wounded + killed
                ic = self.cfg.iran
                self.iran.war_fear += ic.war_fear_per_us_casualty * (
                    killed + ic.war_fear_wounded_weight * wounded
                )
        if tid == "domestic" or t.owner == "domestic":
            self.domestic_log.append(record)
        if self.truce is not None and tid in self.truce.scope and actor in self.militias:
            self.truce_violation(actor)

    def us_strike(
        self,
        militia: str | None,
        theatre: C.StrikeTheatre,
        severity: float,
        reason: str,
        action: str = "retaliate",
    ) -> None:
        """A US strike on a militia (or on Iran) and its consequences.

        ``action`` is "retaliate" for strikes the doctrine orders and "strike" for exogenous
        strikes from the timeline (such as a leadership strike).
        """
        effect = self.cfg.us.strike_effects[theatre]
        if action == "retaliate":
            self.us.strikes += 1
        self.all_us_strikes += 1
        for mid, m in self.militias.items():
            m.seen_strikes += severity
            if mid == militia:
                m.struck(effect, severity)
            else:
                m.revenge += effect.solidarity * severity
                m.fear += effect.fear_spillover * severity
        self.iraq.add_sovereignty_cost(effect.sovereignty * severity)
        self.iran.war_fear += effect.war_fear * severity
        self.iran.revenge += effect.iran_revenge * severity
        self.log.append(
            LogRecord(
                day=self.day,
                actor="us",
                action=action,
                target=militia or "iran",
                theatre=_strike_country(theatre),
                claim=theatre,
                detail=reason,
            )
        )
        if (
            self.truce is not None
            and theatre in ("iraq", "leadership")
            and self.random.random() < self.cfg.truce.ends_on_us_strike
        ):
            self.end_truce("US strike in Iraq")

    def declare_truce(self, by: str, scope: list[str] | None, ends_day: int | None) -> None:
        """Declare a truce; each militia accepts or refuses according to its compliance."""
        if self.truce is not None:
            self.end_truce("superseded")
        if scope is None:
            scope = [tid for tid, t in self.targets.items() if t.covered_by_truce]
        self.truce = Truce(by, frozenset(scope), self.day, ends_day)
        self.context_changed()  # militias review their targets
        rules = self.cfg.truce
        self.log_simple(by, "truce_declare", ",".join(sorted(scope)), "")
        for mid, m in self.militias.items():
            u = rules.acceptance + rules.compliance_weight * m.compliance
            m.observing = self.random.random() < logistic(u)
            self.log_simple(mid, "truce_accept" if m.observing else "truce_refuse", "", "")

    def truce_violation(self, mid: str) -> None:
        truce = self.truce
        assert truce is not None
        militia = self.militias[mid]
        if militia.observing:
            militia.observing = False
            truce.breakers.add(mid)
            self.log_simple(mid, "truce_break", "", "")
        for other in self.militias.values():
            if other.observing and mid in other.cfg.rivals:
                other.punish += 1.0
        refusing = sum(1 for m in self.militias.values() if not m.observing)
        if refusing / len(self.militias) >= self.cfg.truce.collapse_share:
            self.end_truce("collapsed")

    def end_truce(self, reason: str) -> None:
        if self.truce is None:
            return
        self.log_simple(self.truce.by, "truce_end", "", reason)
        self.truce = None
        self.context_changed()
        for m in self.militias.values():
            m.observing = False
        if self.iran.line == "truce":
            self.iran.hold_until = -1
            self.iran.next_review = self.day

    def log_simple(self, actor: str, action: str, target: str, detail: str) -> None:
        """Log an action without the details of an attack or a strike (decisions, truces,
        timeline events)."""
        self.log.append(
            LogRecord(day=self.day, actor=actor, action=action, target=target, detail=detail)
        )

    def log_false_claim(self, militia: Militia) -> None:
        """Log a facade claim of an attack that did not happen."""
        brand = militia.brands[0].name if militia.brands else militia.mid
        self.log.append(
            LogRecord(
                day=self.day,
                actor=militia.mid,
                action="false_claim",
                target="",
                claim="facade",
                brand=brand,
            )
        )


def _strike_country(theatre: str) -> str:
    return {"iraq": "iraq", "leadership": "iraq", "syria": "syria", "iran": "iran"}[theatre]


def poisson(rnd, lam: float) -> int:
    """A Poisson draw from the model's generator (inversion; lam is small here)."""
    if lam <= 0:
        return 0
    if lam > 30:
        # normal approximation for the rare large mean (a big direct missile strike)
        u1, u2 = max(rnd(), 1e-12), rnd()
        z = math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)
        return max(0, round(lam + z * math.sqrt(lam)))
    k, p = 0, math.exp(-lam)
    s, u = p, rnd()
    while u > s:
        k += 1
        p *= lam / k
        s += p
    return k


def _as_scenario(scenario: C.Scenario | str | Path, values: dict[str, Any]) -> C.Scenario:
    """A scenario from a validated one or a file, with ``values`` (dotted key paths) applied."""
    if isinstance(scenario, str | Path):
        return load_scenario(scenario, values)
    return with_overrides(scenario, values) if values else scenario
