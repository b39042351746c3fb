"""Iran: sets the militia network's line, resupplies it, fears a direct war, can strike directly.

The line (escalate, sustain, restrain, truce) is reviewed by logit over its drive: leverage and
revenge against the fear of war.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mesa import Agent

from escalation.model.decisions import decay, logistic, logit_choice
from escalation.scenario import schema as C

if TYPE_CHECKING:
    from escalation.model.model import EscalationModel


class Iran(Agent):
    """Iran: sets the network's line, resupplies, fears a direct war, can strike directly."""

    def __init__(self, model: EscalationModel, cfg: C.Iran) -> None:
        super().__init__(model)
        self.cfg = cfg
        self.line: C.Line = cfg.line
        self.line_spec = cfg.lines[cfg.line]
        self.revenge = 0.0
        self.war_fear = 0.0
        self.peak_war_fear = 0.0
        self.hold_until = -1
        self.next_review = cfg.review_days
        self.resupply_amounts = dict(cfg.resupply.amounts)
        self.next_resupply = cfg.resupply.interval_days
        self.missiles = cfg.direct_action.missiles
        self.direct_strikes = 0
        self.next_halt = 0  # one halt order per hold period
        self.halting = False  # the truce line was taken to halt attacks on US forces

    def step(self) -> None:
        m = self.model
        halt = self.cfg.halt
        if (
            halt.enabled
            and self.war_fear >= halt.war_fear
            and self.line != "truce"
            and m.day >= self.next_halt
        ):
            self.order_halt()
        if m.day >= self.next_review and m.day >= self.hold_until:
            self.review_line()
            self.next_review = m.day + self.cfg.review_days
        if m.day >= self.next_resupply:
            self.resupply()
            self.next_resupply = m.day + self.cfg.resupply.interval_days
        self.consider_direct_action()

    def leverage(self) -> float:
        return self.cfg.leverage.level(self.model.context)

    def review_line(self) -> None:
        """Choose the line (escalate, sustain, restrain, truce) by logit."""
        w = self.cfg.weights
        drive = w.leverage * self.leverage() + w.revenge * self.revenge - w.war_fear * self.war_fear
        names = list(self.cfg.lines)
        utils = []
        for name in names:
            i = self.cfg.lines[name].intensity
            inertia = w.inertia if name == self.line else 0.0
            utils.append(self.cfg.lines[name].bias + drive * i - w.effort * i * i + inertia)
        choice = names[logit_choice(self.model.random.random, utils, self.cfg.temperature)]
        self.set_line(choice, reason="review")

    def set_line(self, line: C.Line, reason: str, hold_days: int = 0) -> None:
        m = self.model
        if hold_days:
            self.hold_until = m.day + hold_days
        if line == self.line:
            return
        old = self.line
        self.line = line
        self.halting = False
        self.line_spec = self.cfg.lines[line]
        m.log_simple("iran", "line", line, f"{old} -> {line} ({reason})")
        if reason == "review":
            if line == "truce" and m.truce is None:
                m.declare_truce("iran", scope=None, ends_day=None)
            elif old == "truce" and m.truce is not None and m.truce.by == "iran":
                m.end_truce("iran changed line")

    def order_halt(self) -> None:
        """Fearing a direct war, order the network to stop attacking US forces: the truce line,
        held for a while, and a truce each militia accepts according to its compliance."""
        m = self.model
        self.next_halt = m.day + self.cfg.halt.hold_days
        self.set_line(
            "truce", reason=f"halt: war fear {self.war_fear:.1f}", hold_days=self.cfg.halt.hold_days
        )
        self.halting = True
        m.context_changed()  # militias weigh the order at once
        if m.truce is None:
            us_targets = [tid for tid, t in m.targets.items() if t.owner == "us"]
            m.declare_truce("iran", scope=us_targets, ends_day=None)

    def line_pull(self, tid: str, t: C.TargetClass) -> float:
        """What the current line adds to a militia's utility of attacking target class ``tid``
        (before its compliance): the line's effect on the class's owner, which a line bound to
        the truce's scope limits to the classes the truce covers."""
        spec = self.line_spec
        if spec.truce_scope:
            truce = self.model.truce
            if not (tid in truce.scope if truce is not None else t.covered_by_truce):
                return 0.0
        return spec.effect.get(t.owner, 0.0)

    def resupply(self) -> None:
        factor = self.line_spec.resupply
        for militia in self.model.militias.values():
            militia.resupply(self.resupply_amounts, factor)

    def consider_direct_action(self) -> None:
        da = self.cfg.direct_action
        if not da.enabled or self.missiles < da.size:
            return
        m = self.model
        w = self.cfg.weights
        x = w.revenge * self.revenge - w.war_fear * self.war_fear - da.threshold
        if x < -10:
            return
        if m.random.random() < da.rate * logistic(x / self.cfg.temperature) * m.step_days:
            self.missiles -= da.size
            self.direct_strikes += 1
            self.revenge *= 1.0 - da.satisfaction
            m.resolve_attack(
                "iran", da.target, "missile", da.size, "own", "Iran", warned=da.warning
            )

    def decay(self, days: int) -> None:
        self.peak_war_fear = max(self.peak_war_fear, self.war_fear)
        self.revenge *= decay(self.cfg.revenge_half_life_days, days)
        self.war_fear *= decay(self.cfg.war_fear_half_life_days, days)
