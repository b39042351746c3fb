"""Exogenous events: what each type of timeline event does to the actors.

Each handler takes the model and the validated event; the event types and their fields are
documented in ``escalation.scenario.schema``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from escalation.scenario import schema as C

if TYPE_CHECKING:
    from escalation.model.model import EscalationModel


def apply_event(model: EscalationModel, eid: str, ev: C.Event) -> None:
    """Apply one timeline event to the model's actors."""
    match ev:
        case C.ContextEvent():
            for key, value in ev.set.items():
                model.context[key] = value
            for key, value in ev.add.items():
                model.context[key] = model.context.get(key, 0.0) + value
            model.context_changed()
        case C.LeadershipStrikeEvent():
            if ev.militia is not None:
                militia = model.militias[ev.militia]
                militia.compliance = min(1.0, max(0.0, militia.compliance + ev.compliance_change))
            model.us_strike(ev.militia, "leadership", ev.severity, ev.label, action="strike")
        case C.UsStrikeEvent():
            model.us_strike(ev.militia, ev.theatre, ev.severity, ev.label, action="strike")
        case C.IraqPressureEvent():
            model.iraq.pressure_on_us = max(0.0, model.iraq.pressure_on_us + ev.pressure)
            if ev.sovereignty:
                model.iraq.add_sovereignty_cost(ev.sovereignty)
        case C.PostureEvent():
            _posture(model, ev)
        case C.DoctrineEvent():
            model.us.doctrine = model.us.doctrine.model_copy(update=ev.changes)
        case C.TruceEvent():
            ends = model.day_of(ev.ends) if ev.ends is not None else None
            model.declare_truce(ev.by, ev.scope, ends)
            if ev.iran_line is not None:
                hold = (ends - model.day) if ends is not None else 10**9
                model.iran.set_line(ev.iran_line, reason=eid, hold_days=hold)
        case C.TruceEndEvent():
            model.end_truce(ev.label)
            if ev.iran_line is not None:
                model.iran.set_line(ev.iran_line, reason=eid)
        case C.ElectionEvent():
            for mid, change in ev.results.items():
                militia = model.militias[mid]
                militia.political_stake = max(0.0, militia.political_stake + change)
                if change < 0:
                    militia.grievance += ev.grievance_per_loss * -change
        case C.GovernmentEvent():
            model.iraq.government = ev.government
            model.context["militias_in_government"] = float(ev.government.militias_in_government)
            model.context_changed()
            for militia in model.militias.values():
                militia.political_stake = max(0.0, militia.political_stake + ev.stake_change)
        case C.ResupplyEvent():
            if ev.amounts is not None:  # weapons it does not name keep their amounts
                model.iran.resupply_amounts = {**model.iran.resupply_amounts, **ev.amounts}
            for mid, load in ev.deliver.items():
                targets = model.militias.values() if mid == "all" else [model.militias[mid]]
                for militia in targets:
                    militia.resupply(load, 1.0)
        case C.IranLineEvent():
            model.iran.set_line(ev.line, reason=eid, hold_days=ev.hold_days)
        case C.MilitiaEvent():
            militias = model.militias
            chosen = militias.values() if ev.militia == "all" else [militias[ev.militia]]
            for militia in chosen:
                if ev.compliance is not None:
                    militia.compliance = ev.compliance
                if ev.resolve is not None:
                    militia.resolve = ev.resolve
                if ev.political_stake is not None:
                    militia.political_stake = ev.political_stake
                if ev.grievance is not None:
                    militia.grievance += ev.grievance
                if ev.revenge is not None:
                    militia.revenge += ev.revenge
                if ev.affinity:
                    militia.affinity.update(ev.affinity)
                    militia.affinity_version += 1
            model.context_changed()  # militias review which targets are worth attacking
        case _:  # pragma: no cover - the schema admits no other type
            raise TypeError(f"unhandled event type {type(ev).__name__}")


def _posture(model: EscalationModel, ev: C.PostureEvent) -> None:
    us = model.us
    if ev.sites is not None:
        us.sites = max(0, ev.sites)
    if ev.sites_change is not None:
        us.sites = max(0, us.sites + ev.sites_change)
    if ev.air_defence is not None:
        us.air_defence = ev.air_defence
    if ev.force_protection is not None:
        us.force_protection = ev.force_protection
    if ev.embassy is not None:
        us.embassy = ev.embassy
    if ev.syria is not None:
        us.syria = ev.syria
    if ev.mission is not None:
        us.adopt_mission(ev.mission)
    if ev.troops is not None:  # an explicit level overrides the mission's footprint
        us.troops = ev.troops
