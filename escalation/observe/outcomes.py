"""The outcomes of a run, by name: one registry of what each measures and how it is labelled.

A run reports totals (the runs table; what sweeps analyse); comparisons report
some of them per period as well. Every name has one meaning wherever it appears: runs,
sweeps, comparisons and the page all take their names, labels and meanings from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from escalation.scenario import schema as C


@dataclass(frozen=True, slots=True)
class Outcome:
    """One outcome: its name, a short label for figures, and what it counts."""

    name: str
    label: str
    meaning: str
    per_period: bool = False
    """Whether comparisons report it per period (from the event log) as well as per run."""


_BEFORE_TARGETS = (
    Outcome("attacks", "all attacks", "Attacks by any actor on any target.", per_period=True),
    Outcome(
        "attacks_on_us",
        "attacks on US targets",
        "Attacks on target classes owned by the US.",
        per_period=True,
    ),
)
_AFTER_TARGETS = (
    Outcome("us_wounded", "US wounded", "US personnel wounded in attacks.", per_period=True),
    Outcome("us_killed", "US killed", "US personnel killed in attacks.", per_period=True),
    Outcome("other_killed", "others killed", "People other than US personnel killed in attacks."),
    Outcome(
        "retaliations",
        "US retaliations",
        "Strikes the US doctrine orders in response to attacks (the timeline's own strikes, "
        "such as a leadership strike, are not counted; the series us_strikes counts both).",
        per_period=True,
    ),
    Outcome(
        "us_strikes",
        "US strikes",
        "Every US strike: those the doctrine orders and those the timeline schedules (the "
        "record's replayed strikes, leadership strikes).",
        per_period=True,
    ),
    Outcome("iran_direct_strikes", "Iran's direct strikes", "Strikes by Iran itself."),
    Outcome("truce_days", "days under truce", "Days under a militia truce.", per_period=True),
    Outcome("truces", "truces", "Truces declared."),
    Outcome("crackdowns", "crackdowns", "Crackdowns by the Iraqi government."),
    Outcome("us_withdrawals", "US withdrawals", "Withdrawals of US sites."),
    Outcome("final_us_sites", "US sites at the end", "US sites left on the last day."),
    Outcome("final_us_troops", "US troops at the end", "US troops left on the last day."),
    Outcome("peak_war_fear", "Iran's peak fear of war", "Iran's highest fear of war."),
    Outcome(
        "spiral",
        "share of runs that spiral",
        "1 if attacks on US targets rose despite repeated US strikes (scenario.analysis).",
    ),
    Outcome(
        "peak_monthly_attacks_on_us",
        "peak monthly attacks on US targets",
        "The busiest month's attacks on US targets.",
    ),
)

#: Labels figures use where they differ from the registry's (kept short for panel titles).
SHORT_LABELS = {
    "attacks_us_base": "attacks on US bases (Iraq)",
    "attacks_us_convoy": "attacks on US convoys",
}


def outcomes(scenario: C.Scenario) -> dict[str, Outcome]:
    """Every numeric outcome of a run of ``scenario``, in the runs table's order."""
    per_target = tuple(
        Outcome(
            f"attacks_{tid}",
            f"attacks on {t.label}",
            f"Attacks on the target class {tid} ({t.label}).",
            per_period=True,
        )
        for tid, t in scenario.targets.items()
    )
    return {o.name: o for o in (*_BEFORE_TARGETS, *per_target, *_AFTER_TARGETS)}


def period_metric_names(scenario: C.Scenario) -> list[str]:
    """The outcomes comparisons report per period, in their table's order."""
    found = outcomes(scenario)
    first = [n for n, o in found.items() if o.per_period and n.startswith("attacks")]
    rest = [n for n, o in found.items() if o.per_period and not n.startswith("attacks")]
    return first + rest


def label(name: str, scenario: C.Scenario | None = None) -> str:
    """The label of an outcome (its name, spaced, if it is not one)."""
    if name in SHORT_LABELS:
        return SHORT_LABELS[name]
    known = outcomes(scenario) if scenario is not None else {}
    fixed = {o.name: o for o in (*_BEFORE_TARGETS, *_AFTER_TARGETS)}
    found = known.get(name) or fixed.get(name)
    return found.label if found is not None else name.replace("_", " ")
