"""The page's controls, generated from the scenario schema.

Each control names a scenario key, a short label and the group it sits in; everything else (the
help text, the kind of widget, the choices of a menu, the ends of a slider, the default) is read
from the schema's own field, so a choice added to the schema appears on the page and a
description edited there is the one the page shows. The page gets the controls as JSON.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from escalation.scenario import schema as C

MILITIA_DEFAULTS = "militia_defaults"
DOCTRINE_GROUP = "US doctrine"


@dataclass(frozen=True, slots=True)
class Spec:
    """What the page itself decides about a control: its label, its group and, for a number,
    the slider's step and the ends the schema leaves open."""

    key: str
    label: str
    group: str
    step: float | None = None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True, slots=True)
class Control:
    """A scenario value the page offers as a control (sent to the page as JSON)."""

    key: str
    label: str
    group: str
    kind: str  # "number" (slider and box), "choice" (menu) or "flag" (checkbox)
    help: str
    default: Any
    choices: tuple[str, ...] = ()
    low: float = 0.0
    high: float = 1.0
    step: float = 0.1


SPECS: tuple[Spec, ...] = (
    Spec("us.doctrine.trigger", "Retaliation trigger", DOCTRINE_GROUP),
    Spec("us.doctrine.severity", "Strike severity", DOCTRINE_GROUP, step=0.1, high=3.0),
    Spec("us.doctrine.delay_days", "Delay (days)", DOCTRINE_GROUP, high=30),
    Spec("us.doctrine.theatre", "Theatre", DOCTRINE_GROUP),
    Spec("us.doctrine.resolve", "Resolve", DOCTRINE_GROUP, step=0.1, low=-3.0, high=3.0),
    Spec("us.doctrine.severity_per_killed", "Severity per US death", DOCTRINE_GROUP, step=0.5,
         high=5.0),
    Spec("us.posture.force_protection", "Force protection", "US posture", step=0.05),
    Spec("us.posture.air_defence", "Air defence", "US posture", step=0.05),
    Spec("deniability.facades", "Facade brands", "Militias"),
    Spec(f"{MILITIA_DEFAULTS}.weights.deterrence", "Deterrence (expected response)", "Militias",
         step=1.0, high=300.0),
    Spec(f"{MILITIA_DEFAULTS}.weights.fear", "Fear of retaliation", "Militias", step=0.1, high=3.0),
    Spec(f"{MILITIA_DEFAULTS}.weights.revenge", "Revenge", "Militias", step=0.1, high=3.0),
    Spec(f"{MILITIA_DEFAULTS}.weights.rivalry", "Rivalry (outbidding)", "Militias", step=0.1,
         high=3.0),
    Spec("iran.halt.war_fear", "Iran halts at war fear", "Iran", step=0.5, high=20.0),
)  # fmt: skip


def schema_field(key: str) -> FieldInfo:
    """The schema field of a dotted key path (``militia_defaults.*`` is a militia's field)."""
    parts = key.split(".")
    model: type[BaseModel] = C.Scenario
    if parts[0] == MILITIA_DEFAULTS:
        model, parts = C.Militia, parts[1:]
    for part in parts[:-1]:
        annotation = model.model_fields[part].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            raise ValueError(f"{key}: {part} is not a section of the schema")
        model = annotation
    return model.model_fields[parts[-1]]


def _bound(info: FieldInfo, name: str) -> float | None:
    """A bound (``ge``, ``gt``, ``le``, ``lt``) of a field, or None when it has none."""
    found = [getattr(m, name) for m in info.metadata if getattr(m, name, None) is not None]
    return found[0] if found else None


def _end(spec: Spec, info: FieldInfo, side: str) -> float:
    """One end of a slider: the schema's bound on that side, else the page's choice."""
    inclusive, strict, sign = ("ge", "gt", 1) if side == "low" else ("le", "lt", -1)
    page_end = getattr(spec, side)
    bounds = [_bound(info, inclusive), _bound(info, strict)]
    if bounds[1] is not None:
        bounds[1] = bounds[1] + sign * (spec.step or 1)  # the first grid value inside
    schema_end = bounds[0] if bounds[0] is not None else bounds[1]
    if schema_end is not None and page_end is not None:
        raise ValueError(f"{spec.key}: the schema bounds its {side} end; do not set it again")
    if schema_end is None and page_end is None:
        raise ValueError(f"{spec.key}: the schema leaves the {side} end open; choose one")
    return schema_end if schema_end is not None else page_end


def build(spec: Spec) -> Control:
    """A control from the page's spec and the schema's field."""
    info = schema_field(spec.key)
    annotation = info.annotation
    help_text = (info.description or "").strip()
    if spec.key.startswith(MILITIA_DEFAULTS + "."):
        help_text = f"{help_text} Applies to every militia."
    common: dict[str, Any] = {
        "key": spec.key,
        "label": spec.label,
        "group": spec.group,
        "help": help_text,
    }
    common["default"] = info.get_default(call_default_factory=True)
    if typing.get_origin(annotation) is typing.Literal:
        return Control(kind="choice", choices=typing.get_args(annotation), **common)
    if annotation is bool:
        return Control(kind="flag", **common)
    if annotation not in (int, float):
        raise ValueError(f"{spec.key}: the page has no control for {annotation}")
    step = spec.step if spec.step is not None else 1
    if annotation is int and step != 1:
        raise ValueError(f"{spec.key}: a whole number moves in steps of 1")
    low, high = _end(spec, info, "low"), _end(spec, info, "high")
    return Control(kind="number", low=low, high=high, step=step, **common)


CONTROLS: tuple[Control, ...] = tuple(build(spec) for spec in SPECS)
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
