"""docs/ODD.md, the model's ODD description, stays in step with the code.

Code spans in the document name scenario key paths (lowercase, dotted, as ``--set`` writes them:
``us.doctrine.severity``, ``militias.<id>.weights.revenge``) and code (``Militia.step``). The
document must name every key path the schema defines (``<...>`` standing for a name the scenario
chooses), every key path it names must exist, and it must name every process
``EscalationModel.step`` runs (and those the agents' steps run), the step's own in its order: so
renaming a parameter or a process without updating the description fails here.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap

import pytest
from mesa import DataCollector

from escalation.model.iran import Iran
from escalation.model.iraqi_government import IraqiGovernment
from escalation.model.log import LogRecord
from escalation.model.militia import Militia
from escalation.model.model import EscalationModel, Truce
from escalation.model.us_forces import PendingStrike, USForces
from escalation.record.loading import find_seeds_dir
from escalation.scenario import schema as C
from escalation.scenario.loading import DEFAULTS_KEY
from escalation.scenario.reference import walk
from tests.conftest import ROOT

ODD = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
TOP = frozenset(C.Scenario.model_fields)
PLACEHOLDER = None  # a component the scenario names (`<id>`), in a path read from the document

# ---- key paths


def _components(path: str) -> tuple[str, ...]:
    """A schema path's components: `<...>` becomes "*", list indices are dropped."""
    path = re.sub(r" \(.*\)$", "", path)  # "events.<id>.sites (us_posture)"
    parts = re.sub(r"\[[^\]]*\]", "", path).split(".")
    return tuple("*" if p.startswith("<") else p for p in parts)


SCHEMA: dict[tuple[str, ...], str] = {}  # every key path: its type
for _path, _kind, _default, _doc in walk(C.Scenario):
    SCHEMA.setdefault(_components(_path), _kind)
MAPPINGS = [p for p, kind in SCHEMA.items() if kind.startswith("mapping of") and p != ("events",)]
"""Paths whose keys the scenario chooses freely (context drivers, stocks...): a path may go on
below them. The timeline is not one: its events' fields are in the schema."""

_COMPONENT = r"(?:<[^<>.`]*>|[A-Za-z_][\w-]*)(?:\[[^\]]*\])*"
_TOP_NAMES = "|".join(sorted(TOP | {DEFAULTS_KEY}))
_KEY_PATH = re.compile(rf"(?<![\w./<>-])((?:{_TOP_NAMES})(?:\.{_COMPONENT})+)")


def code_spans(text: str) -> list[str]:
    """Inline code spans, outside fenced blocks (a span may run over a line break)."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", text)]


def key_paths(text: str) -> set[tuple[str | None, ...]]:
    """Key paths the text names in code spans; a scenario-chosen name is PLACEHOLDER."""
    out: set[tuple[str | None, ...]] = set()
    for span in code_spans(text):
        if span in TOP:
            out.add((span,))
        for match in _KEY_PATH.finditer(span):
            parts = re.sub(r"\[[^\]]*\]", "", match.group(1)).split(".")
            if parts[0] == DEFAULTS_KEY:  # merged into every militia
                parts = ["militias", "<id>", *parts[1:]]
            out.add(tuple(PLACEHOLDER if p.startswith("<") else p for p in parts))
    return out


def _matches(named: tuple[str | None, ...], schema: tuple[str, ...]) -> bool:
    return len(named) == len(schema) and all(
        n is PLACEHOLDER or s == "*" or n == s for n, s in zip(named, schema, strict=True)
    )


def exists(named: tuple[str | None, ...]) -> bool:
    """A key path in the schema, a section or entry above one, or a key below a mapping."""
    n = len(named)
    return any(_matches(named, path[:n]) for path in SCHEMA if len(path) >= n) or any(
        _matches(named[: len(m)], m) for m in MAPPINGS if len(m) < n
    )


def unknown_paths(text: str) -> list[str]:
    return sorted(
        ".".join(p or "<>" for p in named) for named in key_paths(text) if not exists(named)
    )


def uncovered_paths(text: str) -> list[str]:
    """Schema key paths the text never names in their general form (`<...>` for chosen names)."""
    named = {tuple("*" if p is PLACEHOLDER else p for p in k) for k in key_paths(text)}
    return sorted(".".join(path) for path in SCHEMA if path not in named)


def test_the_schema_is_read_whole():
    assert len(SCHEMA) > 250
    assert ("us", "doctrine", "severity") in SCHEMA
    assert ("militias", "*", "weights", "revenge") in SCHEMA
    assert ("events", "*", "sites") in SCHEMA  # an event type's field
    assert ("militias", "*", "brands", "name") in SCHEMA


def test_every_schema_key_path_is_described():
    assert uncovered_paths(ODD) == []


def test_every_key_path_named_exists():
    assert len(key_paths(ODD)) > 250
    assert unknown_paths(ODD) == []


def test_every_event_type_is_described():
    spans = set(code_spans(ODD))
    assert [t for t in C.EVENT_TYPES if t not in spans] == []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("us.doctrine.severity", "us.doctrine.strength"),
        ("militias.<id>.weights.deterrence", "militias.<id>.weights.deterence"),
        ("events.<id>.sites_change", "events.<id>.site_change"),
    ],
)
def test_a_renamed_key_path_is_caught(old, new):
    """The description as it would read had a key been renamed in it but not in the schema."""
    renamed = re.sub(re.escape(old) + r"(?![\w.])", new, ODD)
    assert renamed != ODD
    assert old.replace("<id>", "*") in uncovered_paths(renamed)
    assert new.replace("<id>", "<>") in unknown_paths(renamed)


def test_paths_are_read_inside_formulas_and_with_concrete_names():
    text = (
        "`compliance * iran.lines.<line>.effect[o]` `militias.KH.stocks.rocket` "
        "`militia_defaults.weights.size` `us.attribution.<claim kind>` `events.soleimani_strike` "
        "`escalation/observe/series.py` `Militia.step`"
    )
    assert unknown_paths(text) == []
    assert len(key_paths(text)) == 5
    assert unknown_paths("`iran.lines.<line>.efect` `events.<id>.nothing`") == [
        "events.<>.nothing",
        "iran.lines.<>.efect",
    ]


# ---- processes

AGENTS = {cls.__name__: cls for cls in (Iran, IraqiGovernment, Militia, USForces)}
RECEIVERS = {
    # names the model's and the agents' code calls processes on
    "m": EscalationModel,
    "model": EscalationModel,
    "iran": Iran,
    "iraq": IraqiGovernment,
    "us": USForces,
    "militia": Militia,
    "datacollector": DataCollector,
}


def calls(cls: type, method: str) -> list[tuple[type, str]]:
    """The methods of the model, its agents and its data collector that ``cls.method`` calls,
    in source order."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(getattr(cls, method))))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        name, base = node.func.attr, node.func.value
        owner: type | None = None
        if name == "shuffle_do" and isinstance(base, ast.Subscript):  # agents_by_type[X]
            if isinstance(base.slice, ast.Name) and isinstance(node.args[0], ast.Constant):
                owner, name = AGENTS[base.slice.id], node.args[0].value
        elif isinstance(base, ast.Name):
            owner = cls if base.id == "self" else RECEIVERS.get(base.id)
        elif (
            isinstance(base, ast.Attribute)
            and isinstance(base.value, ast.Name)
            and base.value.id in ("self", "m")
        ):
            owner = RECEIVERS.get(base.attr)
        if owner is not None and callable(getattr(owner, name, None)):
            found.append((node.lineno, node.col_offset, owner, name))
    return [(owner, name) for *_, owner, name in sorted(found, key=lambda f: f[:2])]


def processes() -> list[str]:
    """Every process of a step: what ``EscalationModel.step`` calls, what those call, and what
    each agent's step calls."""
    seen: list[tuple[type, str]] = []

    def visit(cls: type, method: str, depth: int) -> None:
        for callee in calls(cls, method):
            if callee not in seen:
                seen.append(callee)
                if callee[0] is not DataCollector and (depth == 0 or callee[1] == "step"):
                    visit(*callee, depth + 1)

    visit(EscalationModel, "step", 0)
    return [f"{cls.__name__}.{name}" for cls, name in seen]


def step_order() -> list[str]:
    out: list[str] = []
    for cls, name in calls(EscalationModel, "step"):
        if f"{cls.__name__}.{name}" not in out:
            out.append(f"{cls.__name__}.{name}")
    return out


def test_the_processes_are_found():
    found = processes()
    assert step_order()[:3] == [
        "EscalationModel.apply_due_events",
        "EscalationModel.end_truce",
        "Iran.step",
    ]
    for name in (
        "Militia.step",
        "Militia.review_targets",
        "USForces.consider_retaliation",
        "Iran.review_line",
        "IraqiGovernment.consider_crackdown",
        "Militia.decay",
        "DataCollector.collect",
    ):
        assert name in found


def test_every_process_is_described():
    spans = {s.removesuffix("()") for s in code_spans(ODD)}
    assert [p for p in processes() if p not in spans] == []


def test_the_schedule_follows_the_steps_order():
    section = ODD.split("## 3. Process overview and scheduling", 1)[1].split("\n## 4.", 1)[0]
    positions = [section.find(f"`{name}`") for name in step_order()]
    assert -1 not in positions
    assert positions == sorted(positions)


CLASSES = {
    cls.__name__: cls
    for cls in (
        EscalationModel,
        Iran,
        IraqiGovernment,
        Militia,
        USForces,
        PendingStrike,
        Truce,
        LogRecord,
        DataCollector,
    )
}


def attributes(cls: type) -> set[str]:
    """What a class has: its own and inherited names and what its methods assign to ``self``."""
    names = set(dir(cls)) | set(getattr(cls, "__dataclass_fields__", ()))
    for klass in cls.__mro__:
        if klass.__module__.startswith("escalation."):
            for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(klass)))):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.ctx, ast.Store)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "self"
                ):
                    names.add(node.attr)
    return names


def test_every_code_name_exists():
    wrong = []
    for span in code_spans(ODD):
        match = re.fullmatch(r"([A-Z]\w*)\.(\w+)(?:\(\))?", span)
        cls = CLASSES.get(match.group(1)) if match else None
        if match and cls is not None and match.group(2) not in attributes(cls):
            wrong.append(span)
    assert wrong == []
    assert "stocks" in attributes(Militia) and "flurb" not in attributes(Militia)


def test_the_patterns_cite_seed_files():
    named = set(re.findall(r"\d{3}_[0-9a-f]{16}\.txt", ODD))
    assert len(named) == 5
    seeds = find_seeds_dir()
    if seeds is not None:  # beside the repository in a checkout, or $ESCALATION_SEEDS_DIR
        assert named == {p.name for p in seeds.glob("*.txt")}


def test_the_patterns_quote_the_seeds_verbatim():
    seeds = find_seeds_dir()
    if seeds is None:
        pytest.skip("seed documents not found (set ESCALATION_SEEDS_DIR)")
    texts = [p.read_text(encoding="utf-8") for p in seeds.glob("*.txt")]
    section = ODD.split("### 1.2 Patterns", 1)[1].split("\n## 2.", 1)[0]
    quotes = re.findall(r'"([^"]+)"', section)
    assert len(quotes) >= 15
    assert [q for q in quotes if not any(q in text for text in texts)] == []
