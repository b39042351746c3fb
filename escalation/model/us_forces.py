"""US forces: the deterrence doctrine (whether, whom and where to strike back), delayed strikes,
and the posture reviews that consolidate, draw down or leave.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from mesa import Agent

from escalation.model.decisions import logistic, logit_choice
from escalation.scenario import schema as C

if TYPE_CHECKING:
    from escalation.model.log import LogRecord
    from escalation.model.model import EscalationModel


class USForces(Agent):
    """US forces: posture, deterrence doctrine, casualties and withdrawal choices."""

    def __init__(self, model: EscalationModel, cfg: C.US) -> None:
        super().__init__(model)
        self.cfg = cfg
        p = cfg.posture
        self.doctrine: C.Doctrine = cfg.doctrine
        self.sites = p.sites
        self.initial_sites = max(p.sites, 1)
        self.troops = p.troops
        self.initial_troops = max(p.troops, 1.0)
        self.air_defence = p.air_defence
        self.force_protection = p.force_protection
        self.embassy = p.embassy
        self.syria = p.syria
        self.mission: str = p.mission
        self.wounded = 0
        self.killed = 0
        self.strikes = 0
        self.cooldown_until = -1
        self.next_review = cfg.withdrawal.review_days
        self.period_casualties = 0
        self.period_attacks = 0

    @property
    def mission_level(self) -> float:
        return {"combat": 1.0, "advisory": 0.5, "none": 0.0}[self.mission]

    def step(self) -> None:
        m = self.model
        self.consider_retaliation(m.today_us_attacks)
        if m.day >= self.next_review:
            self.review_posture()
            self.next_review = m.day + self.cfg.withdrawal.review_days

    # ---- deterrence

    def triggered(self, attacks: list[LogRecord]) -> list[LogRecord]:
        """Attacks that meet the doctrine's trigger (most severe first)."""
        d = self.doctrine
        if d.trigger == "never" or not attacks:
            return []
        if d.trigger == "every_attack":
            hits = list(attacks)
        elif d.trigger == "casualties":
            hits = [a for a in attacks if a.us_wounded + a.us_killed >= d.wounded_threshold]
        elif d.trigger == "killed":
            hits = [a for a in attacks if a.us_killed >= 1]
        else:  # attacks on US forces in a window (and, for casualties_or_attacks, casualties)
            burst = self.model.recent_attacks_on_forces(d.window_days) >= d.attack_threshold
            hits = list(attacks) if burst else []
            if not burst and d.trigger == "casualties_or_attacks":
                hits = [a for a in attacks if a.us_wounded + a.us_killed >= d.wounded_threshold]
        return sorted(hits, key=lambda a: -(a.us_wounded + a.us_killed))

    def consider_retaliation(self, attacks: list[LogRecord]) -> None:
        """Decide whether, whom and where to strike after today's attacks on US targets."""
        m = self.model
        if m.day < self.cooldown_until:
            return
        for attack in self.triggered(attacks):
            tid = attack.target
            d = self.doctrine
            if attack.actor == "iran":
                if m.random.random() < d.respond_to_iran:
                    self.order_strike(None, "iran", f"after Iranian strike on {tid}")
                    return
                continue
            in_iraq = d.theatre in ("iraq", "leadership")
            theatre_cost = d.sovereignty_weight * m.iraq.sovereignty if in_iraq else 0.0
            u = (
                d.resolve
                + d.casualty_weight * (attack.us_wounded + attack.us_killed)
                - theatre_cost
                - d.escalation_weight * m.iran.war_fear
            )
            if m.random.random() >= logistic(u / self.cfg.temperature):
                continue
            attribution = getattr(self.cfg.attribution, attack.claim)
            if m.random.random() < attribution:
                culprit = attack.actor
            elif m.random.random() < d.strike_unattributed:
                culprit = d.prime_suspect or m.strongest_militia()
            else:
                continue
            severity, theatre = d.severity, d.theatre
            if attack.us_killed:  # the ladder: deaths call for a harder strike, perhaps elsewhere
                severity += d.severity_per_killed * attack.us_killed
                theatre = d.killed_theatre or theatre
            self.order_strike(culprit, theatre, f"after attack on {tid}", severity)
            return

    def order_strike(
        self,
        militia: str | None,
        theatre: C.StrikeTheatre,
        reason: str,
        severity: float | None = None,
    ) -> None:
        """Order a strike (of the doctrine's severity unless given); it lands after the
        doctrine's delay (a scheduled Mesa event)."""
        m = self.model
        d = self.doctrine
        self.cooldown_until = m.day + d.cooldown_days
        strike = PendingStrike(
            m, militia, theatre, d.severity if severity is None else severity, reason
        )
        delay_steps = math.ceil(d.delay_days / m.step_days)
        if delay_steps == 0:
            strike()
        else:
            m.pending.add(strike)  # the event list holds only a weak reference
            m.schedule_event(strike, after=delay_steps)

    # ---- withdrawal

    def review_posture(self) -> None:
        """Hold, consolidate, draw down, end the combat mission or leave."""
        m = self.model
        w = self.cfg.withdrawal
        push = (
            w.casualty_weight * self.period_casualties
            + w.attack_weight * self.period_attacks
            + w.pressure_weight * m.iraq.pressure_on_us
        )
        self.period_casualties = self.period_attacks = 0
        options: list[C.WithdrawalOption] = []
        if self.sites > w.min_sites:
            options.append("consolidate")
        if self.troops > w.advisory_troops:
            options.append("drawdown")
        if self.mission == "combat":
            options.append("end_mission")
        if self.sites > 0 or self.troops > 0:
            options.append("leave")
        names = ["hold", *options]
        utils = [w.commitment] + [w.option_bias[n] + push for n in options]
        choice = names[logit_choice(m.random.random, utils, w.temperature)]
        if choice != "hold":
            self.withdraw(choice, reason="review")

    def withdraw(self, option: str, reason: str) -> None:
        m = self.model
        w = self.cfg.withdrawal
        if option == "consolidate":
            self.sites = max(self.sites - 1, 0)
            self.force_protection = min(1.0, self.force_protection + w.consolidate_protection)
        elif option == "drawdown":
            self.troops = max(w.advisory_troops, self.troops * (1 - w.drawdown_share))
        elif option == "end_mission":
            self.adopt_mission("advisory")
        elif option == "leave":
            self.sites = 0
            self.adopt_mission("none")
        m.log_simple("us", "withdraw", option, reason)

    def adopt_mission(self, mission: str) -> None:
        """Change the mission and the footprint that goes with it: an advisory mission keeps
        at most the advisory troops, no mission none (a combat mission changes nothing)."""
        if mission == "advisory":
            self.troops = min(self.troops, self.cfg.withdrawal.advisory_troops)
        elif mission == "none":
            self.troops = 0.0
        self.set_mission(mission)

    def set_mission(self, mission: str) -> None:
        self.mission = mission
        self.model.context["us_mission"] = self.mission_level
        self.model.context_changed()


class PendingStrike:
    """A US strike ordered now that lands later."""

    def __init__(
        self,
        model: EscalationModel,
        militia: str | None,
        theatre: C.StrikeTheatre,
        severity: float,
        reason: str,
    ) -> None:
        self.model = model
        self.militia = militia
        self.theatre = theatre
        self.severity = severity
        self.reason = reason

    def __call__(self) -> None:
        self.model.pending.discard(self)
        self.model.us_strike(self.militia, self.theatre, self.severity, self.reason)
