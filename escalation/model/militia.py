"""Iran-backed militias: whether, what, with which weapon and under which name to attack.

Every choice is a logit over options whose utilities are weighted terms from the scenario
(``scenario.schema``): the weights live in YAML, the terms here. All randomness comes from the
model's generator (``model.random``), so a run is replayable from its seed.

The records a militia decides with (attack options, target entries, claim values, option
groups) are defined in ``militia_options.py``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from mesa import Agent

from escalation.model.decisions import (
    FOREIGN,
    ContextMemory,
    choose,
    decay,
    draw_reach,
    logistic,
    logit_choice,
    within_reach,
)
from escalation.model.militia_options import (
    CLAIM_KINDS,
    AttackOption,
    Brand,
    ClaimValues,
    DecayFactors,
    FrontOdds,
    OptionGroup,
    TargetEntry,
    attack_options,
)
from escalation.scenario import schema as C

if TYPE_CHECKING:
    from escalation.model.model import EscalationModel, Truce


def _exp_up(x: float) -> float:
    """exp(x) rounded up into floating-point range (for upper bounds: never an underestimate)."""
    return math.inf if x > 600.0 else math.exp(max(x, -600.0))


class Militia(Agent):
    """An Iran-backed militia: weapon stocks, resolve, compliance, rivalry, revenge, brands."""

    def __init__(self, model: EscalationModel, mid: str, cfg: C.Militia) -> None:
        super().__init__(model)
        self.mid = mid
        self.cfg = cfg
        self.w = cfg.weights
        self.stocks: dict[str, float] = {w: float(cfg.stocks.get(w, 0.0)) for w in model.weapons}
        self.compliance = cfg.compliance
        self.resolve = cfg.resolve
        self.political_stake = cfg.political_stake
        self.affinity = dict(cfg.affinity)
        self.revenge = 0.0
        self.fear = 0.0  # learned from strikes, on top of cfg.fear_prior
        # the doctrine as observed: severity of US strikes and attacks on US forces remembered
        self.seen_strikes = 0.0
        self.seen_attacks = 0.0
        self.grievance = 0.0
        self.seen = ContextMemory(  # the drivers acted on
            model.context, cfg.context_half_life_days, cfg.driver_half_life_days
        )
        self.activity = 0.0  # memory of own attacks on foreign forces (rivals outbid it)
        self.activity_level = 0.0  # log(1 + its monthly rate), kept with the memory
        self._rivals: list[Militia] | None = None  # rival agents, looked up on first use
        self.punish = 0.0  # memory of rivals' truce violations
        self.observing = False  # observing the active truce
        self.withdrawn: set[str] = set()
        self.repertoire = {
            tid: model.day_of(d) if d is not None else -1 for tid, d in cfg.repertoire.items()
        }
        self.attack_options = {
            tid: attack_options(
                tid, model.targets[tid], self.w.cost, model.min_size, model.weapon_cfg
            )
            for tid in self.repertoire
        }
        self.brands = [
            Brand(
                name=b.name,
                targets=frozenset(b.targets),
                active_from=model.day_of(b.active_from) if b.active_from else -1,
            )
            for b in cfg.brands
        ]
        self.next_review = cfg.review_days
        self.reviewed_context = 0
        self.affinity_version = 0
        self.stocks_version = 0
        self.withdrawn_version = 0
        # the option groups of attack_odds_bound and what they were computed from
        self._groups: list[OptionGroup] = []
        self._g_entries: list[TargetEntry] | None = None
        self._g_truce: Truce | None = None
        self._g_stocks = -1
        self._g_withdrawn = -1
        self._thresholds: dict[str, int] = {}  # weapon: the smallest attack any option needs
        self._armed: tuple[bool, ...] = ()
        self._decay: dict[int, DecayFactors] = {}
        self._static: list[TargetEntry] = []
        self._static_key: tuple | None = None
        self._static_until = -1
        self.reach: dict[str, float] = {}  # classes within reach less than every day: the chance
        self.claims: dict[str, ClaimValues] = {}  # per target class, refreshed by options()
        self.attacks = 0

    # ---- the daily decision

    def step(self) -> None:
        m = self.model
        if m.day >= self.next_review or self.reviewed_context != m.context_version:
            self.review_targets()
            self.next_review = m.day + self.cfg.review_days
            self.reviewed_context = m.context_version
        if (
            self.cfg.false_claim_rate > 0
            and m.random.random() < self.cfg.false_claim_rate * m.step_days
        ):
            m.log_false_claim(self)
        bound = self.attack_odds_bound()
        if bound is None:  # nothing to attack with, or nothing to attack
            return
        # drawn before the shortcut below, so that taking it never changes the random stream
        reach = (
            [draw_reach(m.random.random, self.reach) for _ in range(m.step_days)]
            if self.reach
            else None
        )
        # Most days the draw clears even an upper bound on the odds of attacking: no need for
        # the exact utilities (the decision, and the random stream, are the same either way).
        clear = bound / (1.0 + bound) * (1.0 + 1e-9) + 1e-12
        if m.step_days == 1:
            r = m.random.random()
            if r >= clear:
                return
            draws = [r]
        else:
            draws = [m.random.random() for _ in range(m.step_days)]
            if min(draws) >= clear:
                return
        if m.shared_reach:  # the network's draw, as the militias before this one left it
            shared = m.shared_reach
            reach = [shared[k] | (reach[k] if reach else {}) for k in range(m.step_days)]
        options, weights = self.options()
        if reach is not None:  # each draw meets that day's classes within reach
            targets = [o.target for o in options]
            days = [
                (r, within_reach(targets, weights, o)) for r, o in zip(draws, reach, strict=True)
            ]
        else:
            days = [(r, weights) for r in draws]
        if not m.several_fronts:
            for k, (r, day_weights) in enumerate(days):
                total = sum(day_weights)
                if r < total / (1.0 + total):
                    option = options[choose(m.random.random, day_weights)]
                    self.attack(option.target, option.weapon, self.claims[option.target])
                    m.take_shared(k, option.target)
            return
        self._attack_on_fronts(options, days)

    def _attack_on_fronts(
        self, options: list[AttackOption], days: list[tuple[float, list[float]]]
    ) -> None:
        """Each front attacked with its own odds (its options' summed weights); a draw below
        the chance that any front is attacked picks, among the outcomes with at least one
        attack, which fronts are (by rejection: exact and cheap, as attack days are few)."""
        m = self.model
        fronts: FrontOdds | None = None
        last: list[float] | None = None
        for day, (r, weights) in enumerate(days):
            if weights is not last:
                fronts, last = FrontOdds.of(options, weights), weights
            if fronts is None or r >= 1.0 - fronts.quiet:
                continue
            while True:
                hit = [
                    k
                    for k, total in enumerate(fronts.totals)
                    if m.random.random() < total / (1.0 + total)
                ]
                if hit:
                    break
            for k in hit:
                option = options[fronts.members[k][choose(m.random.random, fronts.weights[k])]]
                self.attack(option.target, option.weapon, self.claims[option.target])
                m.take_shared(day, option.target)

    def attack_odds_bound(self) -> float | None:
        """An upper bound on the odds that the militia attacks today (None if it has no
        options): the summed logit weights of its options, or, with several fronts, the product
        over fronts of one plus each front's sum, less one. Options are grouped by which daily
        terms reach them (revenge and grievance for US targets, rivalry for foreign ones, the
        truce's terms); within a group the event-driven part is summed once, so a day costs a
        few exponentials. The claim choice's inclusive value is bounded by its value without
        fear, and the cap on each weight is dropped."""
        m = self.model
        truce = m.truce
        entries = self._static_entries()
        if (
            entries is not self._g_entries
            or self.stocks_version != self._g_stocks
            or self.withdrawn_version != self._g_withdrawn
            or truce is not self._g_truce
        ):
            self._update_groups(entries, truce)
        groups = self._groups
        if not groups:
            return None
        w = self.w
        cfg = self.cfg
        observing = truce is not None and self.observing
        us_term = w.revenge * self.revenge + w.grievance * self.grievance
        rivalry_term = None
        bound = 0.0
        tau = cfg.temperature
        idle = cfg.idle
        exp = math.exp
        by_front: dict[str, float] | None = {} if m.several_fronts else None
        for group in groups:
            d = us_term if group.to_us else 0.0
            if group.foreign:
                if rivalry_term is None:
                    rivalry_term = w.rivalry * self.rivalry()
                d += rivalry_term
            if observing:
                d += -w.truce if group.covered else w.redirect
                if group.rival_revenue:
                    d += w.punish * math.log1p(self.monthly_rate(self.punish))
            elif group.covered:
                d += w.defiance
            x = (d - idle) / tau
            b = group.weight * (exp(x) if x < 600.0 else math.inf)  # rounded up: never under
            bound += b
            if by_front is not None:
                by_front[group.front] = by_front.get(group.front, 0.0) + b
        if by_front is not None and len(by_front) > 1:  # odds that any front is attacked
            odds = 1.0
            for b in by_front.values():
                odds *= 1.0 + b
            return odds - 1.0
        return bound

    def _update_groups(self, entries: list[TargetEntry], truce: Truce | None) -> None:
        """Regroup the options if what they depend on changed. The stocks matter only through
        which weapons are on hand in the smallest size an option needs, which most attacks
        leave as it was."""
        if entries is not self._g_entries:
            self._thresholds = {o.weapon: o.min_size for e in entries for o in e.options}
        stocks = self.stocks
        armed = tuple(stocks.get(w, 0.0) >= mn for w, mn in self._thresholds.items())
        if (
            entries is not self._g_entries
            or armed != self._armed
            or self.withdrawn_version != self._g_withdrawn
            or truce is not self._g_truce
        ):
            self._groups = self._option_groups(entries, truce)
        self._g_entries, self._g_truce, self._armed = entries, truce, armed
        self._g_stocks, self._g_withdrawn = self.stocks_version, self.withdrawn_version

    def _option_groups(self, entries: list[TargetEntry], truce: Truce | None) -> list[OptionGroup]:
        """The options on hand, grouped by the daily terms that reach them."""
        stocks = self.stocks
        tau = self.cfg.temperature
        groups: dict[tuple, OptionGroup] = {}
        for e in entries:
            if e.target in self.withdrawn:
                continue
            n = sum(1 for o in e.options if stocks.get(o.weapon, 0.0) >= o.min_size)
            if not n:
                continue
            covered = truce is not None and e.target in truce.scope
            t = e.spec
            key = (e.to_us, e.foreign, covered, t.rival_revenue, t.front)
            group = groups.get(key)
            if group is None:
                group = groups[key] = OptionGroup(
                    to_us=e.to_us,
                    foreign=e.foreign,
                    covered=covered,
                    rival_revenue=t.rival_revenue,
                    front=t.front,
                )
            group.weight += n * _exp_up((e.utility + e.claim_value_max) / tau)
        return list(groups.values())

    def _static_entries(self) -> list[TargetEntry]:
        """Per adopted target class, the parts of its utility that change only with events
        (context, posture, Iran's line, disposition, tactics); recomputed when any changes."""
        m = self.model
        us = m.us
        key = (
            m.context_version,
            self.seen.version,
            us.sites,
            us.troops,
            us.embassy,
            us.syria,
            m.iran.line,
            m.iran.halting,
            self.resolve,
            self.compliance,
            self.political_stake,
            self.affinity_version,
            m.truce,
        )
        day = m.day
        if key == self._static_key and day < self._static_until:
            return self._static
        w = self.w
        den = m.cfg.deniability
        # Iran's order to halt binds a militia as far as it complies
        halt_cost = m.cfg.iran.halt.obedience * self.compliance if m.iran.halting else 0.0
        affinity = self.affinity
        entries = []
        reach: dict[str, float] = {}
        until = 1 << 30
        for tid, adopted in self.repertoire.items():
            if adopted > day:
                until = min(until, adopted)
                continue
            t = m.targets[tid]
            exposure = m.exposure(t)
            if exposure <= 0.0:
                continue
            if exposure * t.opportunity < 1.0 and not t.shared:
                reach[tid] = exposure * t.opportunity
            owner = t.owner
            u = (
                self.resolve
                + w.pressure
                * t.pressure
                * affinity.get(tid, 1.0)
                * self.tactic(tid)
                * m.motive(self, owner)
                + w.legitimacy * t.legitimacy
                + w.compliance * self.compliance * m.iran.line_pull(tid, t)
                - (halt_cost if owner == "us" else 0.0)
                - w.political * self.political_stake * t.visibility
            )
            brand = self.brand_for(tid) if den.facades else None
            own_claim, facade_claim, iv_max = self._claim_values(t, brand)
            entries.append(
                TargetEntry(
                    target=tid,
                    spec=t,
                    to_us=owner == "us",
                    foreign=owner in FOREIGN,
                    utility=u,
                    options=self.attack_options[tid],
                    brand=brand,
                    own_claim=own_claim,
                    facade_claim=facade_claim,
                    claim_value_max=iv_max,
                )
            )
        for launched in self.brands:
            if launched.active_from > day:
                until = min(until, launched.active_from)
        self._static, self._static_key, self._static_until = entries, key, until
        self.reach = reach
        return entries

    def _claim_values(self, t: C.TargetClass, brand: str | None) -> tuple[float, float, float]:
        """The static parts of the claim choice for a target class: the value of claiming in
        the militia's own name and under the brand, and an upper bound on the choice's
        inclusive value (its value without the fear of a response)."""
        w = self.w
        den = self.model.cfg.deniability
        value = w.claim * t.legitimacy
        own_claim = value - den.own_claim_cost - t.own_claim_cost
        facade_claim = (
            value * den.facade_credit
            - den.facade_claim_cost
            + w.facade
            + den.brand_appeal.get(brand, 0.0)
        )
        n_claims = 3 if brand is not None else 2
        iv_max = max(own_claim, 0.0, facade_claim if brand is not None else 0.0)
        return own_claim, facade_claim, iv_max + den.claim_temperature * math.log(n_claims)

    def tactic(self, tid: str) -> float:
        """How the context drivers shift this militia's preference for a target class."""
        weights = self.cfg.tactics.get(tid)
        if not weights:
            return 1.0
        ctx = self.seen.view
        return max(0.0, 1.0 + sum(w * ctx[k] for k, w in weights.items()))

    def options(self, include_withdrawn: bool = False) -> tuple[list[AttackOption], list[float]]:
        """Available attack options and their logit weights relative to staying idle; the
        claim values of the target classes they reach are left in ``self.claims``."""
        m = self.model
        w = self.w
        cfg = self.cfg
        fear = cfg.fear_prior + self.fear
        truce = m.truce
        observing = truce is not None and self.observing
        rivalry = self.rivalry()
        tau = cfg.temperature
        idle = cfg.idle
        withdrawn = () if include_withdrawn else self.withdrawn
        stocks = self.stocks
        attribution = m.cfg.us.attribution
        a_own, a_facade, a_unclaimed = attribution.own, attribution.facade, attribution.unclaimed
        claim_tau = m.cfg.deniability.claim_temperature
        fear_w = w.fear * fear + w.deterrence * self.credibility()
        exp, log = math.exp, math.log
        options: list[AttackOption] = []
        weights: list[float] = []
        claims = self.claims
        for entry in self._static_entries():
            tid = entry.target
            if tid in withdrawn:
                continue
            t = entry.spec
            u = entry.utility
            if entry.to_us:
                u += w.revenge * self.revenge + w.grievance * self.grievance
            if entry.foreign:
                u += w.rivalry * rivalry
            if observing:
                u += -w.truce if tid in truce.scope else w.redirect
                if t.rival_revenue:
                    u += w.punish * math.log1p(self.monthly_rate(self.punish))
            elif truce is not None and tid in truce.scope:
                u += w.defiance
            # claim choice (own name, unclaimed, facade): its inclusive value joins the utility
            risk = fear_w * t.retaliation_risk
            own = entry.own_claim - risk * a_own
            unclaimed = -risk * a_unclaimed
            brand = entry.brand
            if brand is not None:
                facade = entry.facade_claim - risk * a_facade
                top = max(own, unclaimed, facade)
                total = exp((own - top) / claim_tau) + exp((unclaimed - top) / claim_tau)
                total += exp((facade - top) / claim_tau)
            else:
                facade = None
                top = max(own, unclaimed)
                total = exp((own - top) / claim_tau) + exp((unclaimed - top) / claim_tau)
            u += top + claim_tau * log(total)
            cv = claims.get(tid)
            if cv is None:
                claims[tid] = ClaimValues(own, unclaimed, facade, brand)
            else:
                cv.own = own
                cv.unclaimed = unclaimed
                cv.facade = facade
                cv.brand = brand
            for option in entry.options:
                if stocks.get(option.weapon, 0.0) < option.min_size:
                    continue
                options.append(option)
                weights.append(exp(min((u - option.cost - idle) / tau, 50.0)))
        return options, weights

    def credibility(self) -> float:
        """The US response the militia expects per attack on US forces, from what it has seen:
        remembered strike severity over remembered attacks, shrunk towards its prior."""
        c = self.cfg
        k = c.credibility_weight
        return (c.credibility_prior * k + self.seen_strikes) / (k + self.seen_attacks)

    def brand_for(self, tid: str) -> str | None:
        """The facade brand in use for a target class: the most recently launched one."""
        best, best_day = None, -2
        for brand in self.brands:
            if tid in brand.targets and best_day < brand.active_from <= self.model.day:
                best, best_day = brand.name, brand.active_from
        return best

    def monthly_rate(self, memory: float) -> float:
        """An exponentially decaying count of events as a rate per 30 days."""
        return memory * math.log(2) / self.cfg.rivalry_half_life_days * 30.0

    def rivalry(self) -> float:
        """How far rivals' recent attacks on foreign forces exceed one's own (log of monthly
        rates, so outbidding saturates)."""
        rivals = self._rivals
        if rivals is None:
            ms = self.model.militias
            rivals = self._rivals = [ms[r] for r in self.cfg.rivals]
        top = 0.0
        for r in rivals:
            if r.activity_level > top:
                top = r.activity_level
        return max(0.0, top - self.activity_level)

    def attack(self, tid: str, weapon: str, claim_values: ClaimValues) -> None:
        """Carry out one attack: size, claim, then the model resolves it."""
        m = self.model
        t = m.targets[tid]
        wcfg = m.weapon_cfg[weapon]
        fear = self.cfg.fear_prior + self.fear + self.w.deterrence * self.credibility()
        drive = self.w.size * (
            self.revenge + self.compliance * m.iran.line_pull(tid, t) - fear * t.retaliation_risk
        )
        sizes = list(wcfg.sizes.values())
        s = sizes[logit_choice(m.random.random, [sc.prior + sc.level * drive for sc in sizes], 1.0)]
        stock = int(self.stocks[weapon])
        lo, hi = s.min, min(s.max, stock)
        if hi < lo:
            lo = hi = max(min(stock, s.min), 1)
        size = m.random.randint(lo, hi)
        values = [claim_values.own, claim_values.unclaimed]
        if claim_values.facade is not None:  # a brand covers the class
            values.append(claim_values.facade)
        names = (self.mid, "", claim_values.brand)  # the name each kind of claim is made under
        tau = m.cfg.deniability.claim_temperature
        top = max(values)
        k = choose(m.random.random, [math.exp((v - top) / tau) for v in values])
        self.stocks[weapon] = max(0.0, self.stocks[weapon] - size)
        self.stocks_version += 1
        self.attacks += 1
        if t.owner in FOREIGN:
            self.activity += 1.0
            self.activity_level = math.log1p(self.monthly_rate(self.activity))
        m.resolve_attack(self.mid, tid, weapon, size, CLAIM_KINDS[k], names[k])

    # ---- withdrawing from and returning to target classes

    def review_targets(self) -> None:
        """Drop target classes no longer worth attacking; take dropped ones up again."""
        m = self.model
        best: dict[str, float] = {}
        options, weights = self.options(include_withdrawn=True)
        for option, wt in zip(options, weights, strict=True):
            margin = math.log(wt) * self.cfg.temperature if wt > 0 else -math.inf
            best[option.target] = max(best.get(option.target, -math.inf), margin)
        for tid, margin in best.items():
            if tid not in self.withdrawn:
                p = logistic(self.cfg.review_sharpness * (self.cfg.withdraw_margin - margin))
                if m.random.random() < p:
                    self.withdrawn.add(tid)
                    self.withdrawn_version += 1
                    m.log_simple(self.mid, "withdraw", tid, f"margin {margin:.2f}")
            else:
                p = logistic(self.cfg.review_sharpness * (margin - self.cfg.reengage_margin))
                if m.random.random() < p:
                    self.withdrawn.discard(tid)
                    self.withdrawn_version += 1
                    m.log_simple(self.mid, "reengage", tid, f"margin {margin:.2f}")

    # ---- consequences of others' actions

    def struck(self, effect: C.StrikeEffect, severity: float) -> None:
        for w in self.stocks:
            self.stocks[w] *= 1.0 - min(1.0, effect.stock_loss * severity)
        self.stocks_version += 1
        self.revenge += effect.revenge * severity
        self.fear += effect.fear * severity

    def decay(self, days: int) -> None:
        factors = self._decay.get(days)
        if factors is None:
            c = self.cfg
            factors = self._decay[days] = DecayFactors(
                revenge=decay(c.revenge_half_life_days, days),
                fear=decay(c.fear_half_life_days, days),
                grievance=decay(c.grievance_half_life_days, days),
                rivalry=decay(c.rivalry_half_life_days, days),
            )
        self.revenge *= factors.revenge
        self.fear *= factors.fear
        self.seen_strikes *= factors.fear
        self.seen_attacks *= factors.fear
        self.grievance *= factors.grievance
        self.activity *= factors.rivalry
        self.activity_level = math.log1p(self.monthly_rate(self.activity))
        self.punish *= factors.rivalry
        self.seen.follow(days)

    def resupply(self, amounts: dict[str, float], factor: float) -> None:
        cap = self.cfg.capacity
        for w, n in amounts.items():
            new = self.stocks.get(w, 0.0) + n * factor * self.cfg.resupply_share
            self.stocks[w] = min(new, cap[w]) if w in cap else new
        self.stocks_version += 1

    @property
    def stock_total(self) -> float:
        return sum(self.stocks.values())
