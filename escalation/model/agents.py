"""The four kinds of actor and their per-step decisions.

Every choice is a logit over options whose utilities are weighted terms from the scenario
(``scenario.schema``): the weights live in YAML, the terms here. All randomness comes from the
model's generator (``model.random``), so a run is replayable from its seed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from mesa import Agent

from escalation.scenario import schema as C

if TYPE_CHECKING:
    from escalation.model.model import EscalationModel

FOREIGN = frozenset({"us", "turkey"})


def _exp_up(x: float) -> float:
    """exp(x) rounded up into floating-point range (for upper bounds: never an underestimate)."""
    return math.inf if x > 600.0 else math.exp(max(x, -600.0))


def logistic(x: float) -> float:
    """1 / (1 + e^-x), safe for large |x|."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def decay(half_life_days: float, days: int) -> float:
    """Factor a quantity keeps after ``days`` with the given half-life."""
    return 0.5 ** (days / half_life_days)


def choose(rng_random, weights: list[float]) -> int:
    """Index drawn with probability proportional to ``weights`` (all >= 0, sum > 0)."""
    r = rng_random() * sum(weights)
    acc = 0.0
    for i, w in enumerate(weights):
        acc += w
        if r < acc:
            return i
    return len(weights) - 1


def logit_choice(rng_random, utilities: list[float], temperature: float) -> int:
    """Index drawn from a multinomial logit over ``utilities``."""
    top = max(utilities)
    return choose(rng_random, [math.exp((u - top) / temperature) for u in utilities])


# --------------------------------------------------------------------------- militias


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
        self.grievance = 0.0
        self.activity = 0.0  # memory of own attacks on foreign forces (rivals outbid it)
        self.activity_level = 0.0  # log(1 + its monthly rate), kept with the memory
        self._rivals: list[Militia] | None = None  # rival agents, looked up on first use
        self.punish = 0.0  # memory of rivals' truce violations
        self.observing = False  # observing the active truce
        self.withdrawn: set[str] = set()
        self.repertoire = {
            tid: model.day_of(d) if d is not None else -1 for tid, d in cfg.repertoire.items()
        }
        self.brands = [
            (b.name, frozenset(b.targets), model.day_of(b.active_from) if b.active_from else -1)
            for b in cfg.brands
        ]
        self.next_review = cfg.review_days
        self.reviewed_context = 0
        self.affinity_version = 0
        self.stocks_version = 0
        self.withdrawn_version = 0
        # the option groups of attack_odds_bound and what they were computed from
        self._groups: list[tuple[tuple, float]] = []
        self._g_entries: list[tuple] | None = None
        self._g_truce: object = None
        self._g_stocks = -1
        self._g_withdrawn = -1
        self._thresholds: tuple[tuple[str, int], ...] = ()
        self._armed: tuple[bool, ...] = ()
        self._decay: dict[int, tuple[float, float, float, float]] = {}
        self._static: list[tuple] = []
        self._static_key: tuple | None = None
        self._static_until = -1
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
        options, weights = self.options()
        if not m.several_fronts:
            total = sum(weights)
            p_attack = total / (1.0 + total)
            n = sum(1 for r in draws if r < p_attack)
            for _ in range(n):
                tid, weapon, claims = options[choose(m.random.random, weights)]
                self.attack(tid, weapon, claims)
            return
        self._attack_on_fronts(options, weights, draws)

    def _attack_on_fronts(self, options: list[tuple], weights: list[float], draws: list) -> None:
        """Each front attacked with its own odds (its options' summed weights); a draw below
        the chance that any front is attacked picks, among the outcomes with at least one
        attack, which fronts are (by rejection: exact and cheap, as attack days are few)."""
        m = self.model
        targets = m.targets
        fronts: dict[str, tuple[list[int], list[float]]] = {}
        for i, (option, wt) in enumerate(zip(options, weights, strict=True)):
            idx, wts = fronts.setdefault(targets[option[0]].front, ([], []))
            idx.append(i)
            wts.append(wt)
        odds = [(idx, wts, sum(wts)) for idx, wts in fronts.values()]
        quiet = 1.0
        for _, _, total in odds:
            quiet /= 1.0 + total
        for r in draws:
            if r >= 1.0 - quiet:
                continue
            while True:
                hit = [f for f in odds if m.random.random() < f[2] / (1.0 + f[2])]
                if hit:
                    break
            for idx, wts, _ in hit:
                tid, weapon, claims = options[idx[choose(m.random.random, wts)]]
                self.attack(tid, weapon, claims)

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
        for (to_us, foreign, covered, revenue, front), total in groups:
            d = us_term if to_us else 0.0
            if foreign:
                if rivalry_term is None:
                    rivalry_term = w.rivalry * self.rivalry()
                d += rivalry_term
            if observing:
                d += -w.truce if covered else w.redirect
                if revenue:
                    d += w.punish * math.log1p(self.monthly_rate(self.punish))
            elif covered:
                d += w.defiance
            x = (d - idle) / tau
            b = total * (exp(x) if x < 600.0 else math.inf)  # rounded up: never under
            bound += b
            if by_front is not None:
                by_front[front] = by_front.get(front, 0.0) + b
        if by_front is not None and len(by_front) > 1:  # odds that any front is attacked
            odds = 1.0
            for b in by_front.values():
                odds *= 1.0 + b
            return odds - 1.0
        return bound

    def _update_groups(self, entries: list[tuple], truce) -> None:
        """Regroup the options if what they depend on changed. The stocks matter only through
        which weapons are on hand in the smallest size an option needs, which most attacks
        leave as it was."""
        if entries is not self._g_entries:
            self._thresholds = tuple({(w, mn) for e in entries for w, mn, _ in e[5]})
        stocks = self.stocks
        armed = tuple(stocks.get(w, 0.0) >= mn for w, mn in self._thresholds)
        if (
            entries is not self._g_entries
            or armed != self._armed
            or self.withdrawn_version != self._g_withdrawn
            or truce is not self._g_truce
        ):
            self._groups = self._option_groups(entries, truce)
        self._g_entries, self._g_truce, self._armed = entries, truce, armed
        self._g_stocks, self._g_withdrawn = self.stocks_version, self.withdrawn_version

    def _option_groups(self, entries: list[tuple], truce) -> list[tuple[tuple, float]]:
        """(group, sum over its options of exp(event-driven utility / temperature))."""
        stocks = self.stocks
        tau = self.cfg.temperature
        groups: dict[tuple, float] = {}
        for tid, t, to_us, foreign, u, arms, _, _, iv_max in entries:
            if tid in self.withdrawn:
                continue
            n = sum(1 for weapon, min_size, _ in arms if stocks.get(weapon, 0.0) >= min_size)
            if not n:
                continue
            covered = truce is not None and tid in truce.scope
            g = (to_us, foreign, covered, t.rival_revenue, t.front)
            groups[g] = groups.get(g, 0.0) + n * _exp_up((u + iv_max) / tau)
        return list(groups.items())

    def _static_entries(self) -> list[tuple]:
        """Per adopted target class, the parts of its utility that change only with events
        (context, posture, Iran's line, disposition, tactics); recomputed when any changes."""
        m = self.model
        us = m.us
        key = (
            m.context_version,
            us.sites,
            us.troops,
            us.embassy,
            us.syria,
            m.iran.line,
            self.resolve,
            self.compliance,
            self.political_stake,
            self.affinity_version,
        )
        day = m.day
        if key == self._static_key and day < self._static_until:
            return self._static
        w = self.w
        den = m.cfg.deniability
        line_effect = m.iran.line_spec.effect
        affinity = self.affinity
        entries = []
        until = 1 << 30
        for tid, adopted in self.repertoire.items():
            if adopted > day:
                until = min(until, adopted)
                continue
            t = m.targets[tid]
            exposure = m.exposure(t)
            if exposure <= 0.0:
                continue
            owner = t.owner
            u = (
                self.resolve
                + w.pressure
                * t.pressure
                * affinity.get(tid, 1.0)
                * self.tactic(tid)
                * m.motive(self, owner)
                * exposure
                + w.legitimacy * t.legitimacy
                + w.compliance * self.compliance * line_effect.get(owner, 0.0)
                - w.political * self.political_stake * t.visibility
            )
            arms = [
                (weapon, m.min_size[weapon], w.cost * m.weapon_cfg[weapon].cost)
                for weapon in t.weapons
            ]
            value = w.claim * t.legitimacy
            brand = self.brand_for(tid) if den.facades else None
            claim_base = (
                value - den.own_claim_cost - t.own_claim_cost,
                value * den.facade_credit
                - den.facade_claim_cost
                + w.facade
                + den.brand_appeal.get(brand, 0.0),
            )
            n_claims = 3 if brand is not None else 2
            iv_max = max(claim_base[0], 0.0, claim_base[1] if brand is not None else 0.0)
            iv_max += den.claim_temperature * math.log(n_claims)
            entries.append(
                (tid, t, owner == "us", owner in FOREIGN, u, arms, brand, claim_base, iv_max)
            )
        for _, _, active in self.brands:
            if active > day:
                until = min(until, active)
        self._static, self._static_key, self._static_until = entries, key, until
        return entries

    def tactic(self, tid: str) -> float:
        """How the context drivers shift this militia's preference for a target class."""
        weights = self.cfg.tactics.get(tid)
        if not weights:
            return 1.0
        ctx = self.model.context
        return max(0.0, 1.0 + sum(w * ctx[k] for k, w in weights.items()))

    def options(
        self, include_withdrawn: bool = False
    ) -> tuple[list[tuple[str, str, list]], list[float]]:
        """Available attack options and their logit weights relative to staying idle."""
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
        fear_w = w.fear * fear
        exp, log = math.exp, math.log
        options: list[tuple] = []
        weights: list[float] = []
        for tid, t, to_us, foreign, u, arms, brand, claim_base, _ in self._static_entries():
            own0, facade0 = claim_base
            if tid in withdrawn:
                continue
            if to_us:
                u += w.revenge * self.revenge + w.grievance * self.grievance
            if foreign:
                u += w.rivalry * rivalry
            if observing:
                u += -w.truce if tid in truce.scope else w.redirect
                if t.rival_revenue:
                    u += w.punish * math.log1p(self.monthly_rate(self.punish))
            elif truce is not None and tid in truce.scope:
                u += w.defiance
            # claim choice (own name, unclaimed, facade): its inclusive value joins the utility
            risk = fear_w * t.retaliation_risk
            own = own0 - risk * a_own
            unclaimed = -risk * a_unclaimed
            if brand is not None:
                facade = facade0 - risk * a_facade
                top = max(own, unclaimed, facade)
                total = exp((own - top) / claim_tau) + exp((unclaimed - top) / claim_tau)
                total += exp((facade - top) / claim_tau)
            else:
                facade = None
                top = max(own, unclaimed)
                total = exp((own - top) / claim_tau) + exp((unclaimed - top) / claim_tau)
            u += top + claim_tau * log(total)
            claims = (own, unclaimed, facade, brand)
            for weapon, min_size, cost in arms:
                if stocks.get(weapon, 0.0) < min_size:
                    continue
                uw = u - cost
                options.append((tid, weapon, claims))
                weights.append(exp(min((uw - idle) / tau, 50.0)))
        return options, weights

    def brand_for(self, tid: str) -> str | None:
        """The facade brand in use for a target class: the most recently launched one."""
        best, best_day = None, -2
        for name, targets, active in self.brands:
            if tid in targets and best_day < active <= self.model.day:
                best, best_day = name, active
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

    def attack(self, tid: str, weapon: str, claim_values: tuple) -> None:
        """Carry out one attack: size, claim, then the model resolves it."""
        m = self.model
        t = m.targets[tid]
        wcfg = m.weapon_cfg[weapon]
        fear = self.cfg.fear_prior + self.fear
        drive = self.w.size * (
            self.revenge
            + self.compliance * m.iran.line_spec.effect.get(t.owner, 0.0)
            - fear * t.retaliation_risk
        )
        sizes = list(wcfg.sizes.values())
        s = sizes[logit_choice(m.random.random, [sc.prior + sc.level * drive for sc in sizes], 1.0)]
        stock = int(self.stocks[weapon])
        lo, hi = s.min, min(s.max, stock)
        if hi < lo:
            lo = hi = max(min(stock, s.min), 1)
        size = m.random.randint(lo, hi)
        own, unclaimed, facade, facade_brand = claim_values
        claims = [("own", self.mid, own), ("unclaimed", "", unclaimed)]
        if facade_brand is not None:
            claims.append(("facade", facade_brand, facade))
        tau = m.cfg.deniability.claim_temperature
        top = max(c[2] for c in claims)
        kind, brand, _ = claims[
            choose(m.random.random, [math.exp((c[2] - top) / tau) for c in claims])
        ]
        self.stocks[weapon] = max(0.0, self.stocks[weapon] - size)
        self.stocks_version += 1
        self.attacks += 1
        if t.owner in FOREIGN:
            self.activity += 1.0
            self.activity_level = math.log1p(self.monthly_rate(self.activity))
        m.resolve_attack(self.mid, tid, weapon, size, kind, brand)

    # ---- withdrawing from and returning to target classes

    def review_targets(self) -> None:
        """Drop target classes no longer worth attacking; take dropped ones up again."""
        m = self.model
        best: dict[str, float] = {}
        options, weights = self.options(include_withdrawn=True)
        for (tid, _, _), wt in zip(options, weights, strict=True):
            margin = math.log(wt) * self.cfg.temperature if wt > 0 else -math.inf
            best[tid] = max(best.get(tid, -math.inf), margin)
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
            factors = self._decay[days] = (
                decay(c.revenge_half_life_days, days),
                decay(c.fear_half_life_days, days),
                decay(c.grievance_half_life_days, days),
                decay(c.rivalry_half_life_days, days),
            )
        self.revenge *= factors[0]
        self.fear *= factors[1]
        self.grievance *= factors[2]
        self.activity *= factors[3]
        self.activity_level = math.log1p(self.monthly_rate(self.activity))
        self.punish *= factors[3]

    def resupply(self, amounts: dict[str, float], factor: float) -> None:
        cap = self.cfg.capacity
        for w, n in amounts.items():
            new = self.stocks.get(w, 0.0) + n * factor * self.cfg.resupply_share
            self.stocks[w] = min(new, cap[w]) if w in cap else new
        self.stocks_version += 1

    @property
    def stock_total(self) -> float:
        return sum(self.stocks.values())


# --------------------------------------------------------------------------- Iran


class Iran(Agent):
    """Iran: sets the network's line, resupplies, fears a direct war, can strike directly."""

    def __init__(self, model: EscalationModel, cfg: C.Iran) -> None:
        super().__init__(model)
        self.cfg = cfg
        self.line: str = cfg.line
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

    def step(self) -> None:
        m = self.model
        if m.day >= self.next_review and m.day >= self.hold_until:
            self.review_line()
            self.next_review = m.day + self.cfg.review_days
        if m.day >= self.next_resupply:
            self.resupply()
            self.next_resupply = m.day + self.cfg.resupply.interval_days
        self.consider_direct_action()

    def leverage(self) -> float:
        lev = self.cfg.leverage
        ctx = self.model.context
        return max(0.0, lev.base + sum(w * ctx[k] for k, w in lev.context.items()))

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

    def set_line(self, line: str, reason: str, hold_days: int = 0) -> None:
        m = self.model
        if hold_days:
            self.hold_until = m.day + hold_days
        if line == self.line:
            return
        old = self.line
        self.line = line
        self.line_spec = self.cfg.lines[line]
        m.log_simple("iran", "line", line, f"{old} -> {line} ({reason})")
        if reason == "review":
            if line == "truce" and m.truce is None:
                m.declare_truce("iran", scope=None, ends_day=None)
            elif old == "truce" and m.truce is not None and m.truce.by == "iran":
                m.end_truce("iran changed line")

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


# --------------------------------------------------------------------------- US forces


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

    def triggered(self, attacks: list[tuple]) -> list[tuple]:
        """Attacks that meet the doctrine's trigger (most severe first)."""
        d = self.doctrine
        if d.trigger == "never" or not attacks:
            return []
        if d.trigger == "every_attack":
            hits = list(attacks)
        elif d.trigger == "casualties":
            hits = [a for a in attacks if a[4] + a[5] >= d.wounded_threshold]
        elif d.trigger == "killed":
            hits = [a for a in attacks if a[5] >= 1]
        else:  # attacks on US forces in a window (and, for casualties_or_attacks, casualties)
            burst = self.model.recent_attacks_on_forces(d.window_days) >= d.attack_threshold
            hits = list(attacks) if burst else []
            if not burst and d.trigger == "casualties_or_attacks":
                hits = [a for a in attacks if a[4] + a[5] >= d.wounded_threshold]
        return sorted(hits, key=lambda a: -(a[4] + a[5]))

    def consider_retaliation(self, attacks: list[tuple]) -> None:
        """Decide whether, whom and where to strike after today's attacks on US targets."""
        m = self.model
        if m.day < self.cooldown_until:
            return
        for attack in self.triggered(attacks):
            actor, tid, _weapon, claim, wounded, killed = attack
            d = self.doctrine
            if actor == "iran":
                if m.random.random() < d.respond_to_iran:
                    self.order_strike(None, "iran", f"after Iranian strike on {tid}")
                    return
                continue
            theatre_cost = (
                d.sovereignty_weight * m.iraq.sovereignty
                if d.theatre
                in (
                    "iraq",
                    "leadership",
                )
                else 0.0
            )
            u = (
                d.resolve
                + d.casualty_weight * (wounded + killed)
                - theatre_cost
                - d.escalation_weight * m.iran.war_fear
            )
            if m.random.random() >= logistic(u / self.cfg.temperature):
                continue
            attribution = getattr(self.cfg.attribution, claim)
            if m.random.random() < attribution:
                culprit = actor
            elif m.random.random() < d.strike_unattributed:
                culprit = d.prime_suspect or m.strongest_militia()
            else:
                continue
            self.order_strike(culprit, d.theatre, f"after attack on {tid}")
            return

    def order_strike(self, militia: str | None, theatre: str, reason: str) -> None:
        """Order a strike; it lands after the doctrine's delay (a scheduled Mesa event)."""
        m = self.model
        d = self.doctrine
        self.cooldown_until = m.day + d.cooldown_days
        strike = PendingStrike(m, militia, theatre, d.severity, reason)
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
        names = ["hold"]
        utils = [w.commitment]
        if self.sites > w.min_sites:
            names.append("consolidate")
        if self.troops > w.advisory_troops:
            names.append("drawdown")
        if self.mission == "combat":
            names.append("end_mission")
        if self.sites > 0 or self.troops > 0:
            names.append("leave")
        utils += [w.option_bias[n] + push for n in names[1:]]
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
            self.set_mission("advisory")
            self.troops = min(self.troops, w.advisory_troops)
        elif option == "leave":
            self.sites = 0
            self.troops = 0.0
            self.set_mission("none")
        m.log_simple("us", "withdraw", option, reason)

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
        theatre: str,
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


# --------------------------------------------------------------------------- Iraqi government


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
