"""The page's controls: the scenario values it offers, sent to the page as JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from escalation.scenario import schema as C

MILITIA_DEFAULTS = "militia_defaults"


@dataclass(frozen=True, slots=True)
class Control:
    """A scenario value the page offers as a control (sent to the page as JSON)."""

    key: str
    label: str
    group: str
    kind: str  # "number" (slider and box), "choice" (menu) or "flag" (checkbox)
    help: str
    choices: tuple[str, ...] = ()
    low: float = 0.0
    high: float = 1.0
    step: float = 0.1


CONTROLS: tuple[Control, ...] = (
    Control("us.doctrine.trigger", "Retaliation trigger", "US doctrine", "choice",
            "What makes the US retaliate: never, US casualties, US deaths, a count of attacks "
            "in a window, or every attack.",
            choices=("never", "casualties", "killed", "attacks", "every_attack")),
    Control("us.doctrine.severity", "Strike severity", "US doctrine", "number",
            "Strength of a US strike (stocks destroyed, revenge and fear raised).",
            low=0.1, high=3.0, step=0.1),
    Control("us.doctrine.delay_days", "Delay (days)", "US doctrine", "number",
            "Days from the trigger to the strike.", low=0, high=30, step=1),
    Control("us.doctrine.theatre", "Theatre", "US doctrine", "choice",
            "Where strikes land: in Iraq, in Syria, on leaders, or in Iran.",
            choices=("iraq", "syria", "leadership", "iran")),
    Control("us.doctrine.resolve", "Resolve", "US doctrine", "number",
            "Baseline utility of retaliating once triggered (logit against not).",
            low=-3.0, high=3.0, step=0.1),
    Control("us.posture.force_protection", "Force protection", "US posture", "number",
            "Share of casualties avoided by bunkers, warning and dispersal.",
            low=0.0, high=1.0, step=0.05),
    Control("us.posture.air_defence", "Air defence", "US posture", "number",
            "Air and rocket defence level at defended targets.", low=0.0, high=1.0, step=0.05),
    Control("deniability.facades", "Facade brands", "Militias", "flag",
            "Militias can claim attacks under facade brands (deniability)."),
    Control("militia_defaults.weights.fear", "Fear of retaliation", "Militias", "number",
            "Weight of the fear of US retaliation in every militia's choice.",
            low=0.0, high=3.0, step=0.1),
    Control("militia_defaults.weights.revenge", "Revenge", "Militias", "number",
            "Weight of revenge for US strikes.", low=0.0, high=3.0, step=0.1),
    Control("militia_defaults.weights.rivalry", "Rivalry (outbidding)", "Militias", "number",
            "Weight of outbidding rival militias.", low=0.0, high=3.0, step=0.1),
)  # fmt: skip
CONTROL_KEYS: dict[str, Control] = {c.key: c for c in CONTROLS}


def controls_json() -> list[dict[str, Any]]:
    """The controls as the page reads them."""
    return [asdict(c) for c in CONTROLS]


def scenario_value(scenario: C.Scenario, key: str) -> Any:
    """The value of a dotted key path in a resolved scenario.

    ``militia_defaults.*`` keys are merged into every militia when a scenario is loaded, so
    their value is read from the first militia.
    """
    parts = key.split(".")
    if parts[0] == MILITIA_DEFAULTS:
        militias = list(scenario.militias.values())
        if not militias:
            return None
        node: Any = militias[0]
        parts = parts[1:]
    else:
        node = scenario
    for part in parts:
        node = node.get(part) if isinstance(node, Mapping) else getattr(node, part, None)
    return node
