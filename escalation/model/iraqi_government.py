"""The Iraqi government: sovereignty costs of US strikes, pressure on the US presence, truce
mediation and crackdowns on militias behind domestic attacks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mesa import Agent

from escalation.model.decisions import decay, logistic
from escalation.scenario import schema as C

if TYPE_CHECKING:
    from escalation.model.model import EscalationModel


class IraqiGovernment(Agent):
    """Sovereignty costs, pressure on the US presence, truce mediation and crackdowns."""

    def __init__(self, model: EscalationModel, cfg: C.IraqiGovernment) -> None:
        super().__init__(model)
        self.cfg = cfg
        self.government: C.Government = cfg.government
        self.sovereignty = 0.0
        self.pressure_on_us = cfg.pressure_on_us
        self.next_review = cfg.review_days
        self.crackdowns = 0

    def step(self) -> None:
        m = self.model
        if m.day < self.next_review:
            return
        self.next_review = m.day + self.cfg.review_days
        self.consider_mediation()
        self.consider_crackdown()

    def add_sovereignty_cost(self, cost: float) -> None:
        self.sovereignty += cost
        self.pressure_on_us += self.cfg.pressure_per_sovereignty * cost

    def consider_mediation(self) -> None:
        m = self.model
        if m.truce is not None:
            return
        u = self.government.mediation + self.cfg.violence_weight * m.recent_foreign_attacks(30)
        if m.random.random() < logistic(u / self.cfg.temperature):
            m.declare_truce("government", scope=None, ends_day=m.day + self.cfg.truce_days)

    def consider_crackdown(self) -> None:
        m = self.model
        domestic = m.recent_domestic_by_militia(30)
        if not domestic:
            return
        g = self.government
        u = (
            g.crackdown
            + self.cfg.domestic_weight * sum(domestic.values())
            - self.cfg.alignment_weight * g.alignment
        )
        if m.random.random() < logistic(u / self.cfg.temperature):
            target = max(sorted(domestic), key=domestic.get)
            militia = m.militias[target]
            for w in militia.stocks:
                militia.stocks[w] *= 1.0 - self.cfg.crackdown_stock_loss
            militia.stocks_version += 1
            militia.grievance += self.cfg.crackdown_grievance
            self.crackdowns += 1
            m.log_simple(
                "iraq", "crackdown", target, f"{domestic[target]} domestic attacks in 30 days"
            )

    def decay(self, days: int) -> None:
        self.sovereignty *= decay(self.cfg.sovereignty_half_life_days, days)
        self.pressure_on_us *= decay(self.cfg.pressure_half_life_days, days)
