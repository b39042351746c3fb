"""Loading scenario files: YAML, ``extends:`` inheritance, ``--set`` overrides, clear errors.

A scenario file is read safely, merged onto the files it extends, overridden by ``key.path=value``
settings, then validated into a frozen :class:`Scenario`. Any mistake becomes a
:class:`ScenarioError` naming the file (and line), the key path and what was expected: this
module finds the file and line, :mod:`~escalation.scenario.messages` words schema errors and
:mod:`~escalation.scenario.references` finds names that point nowhere.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from escalation.errors import ScenarioError, did_you_mean
from escalation.scenario import held
from escalation.scenario import schema as C
from escalation.scenario.messages import explain_error
from escalation.scenario.references import broken_references
from escalation.scenario.yamltext import describe, load_yaml

DEFAULTS_KEY = "militia_defaults"


@dataclass(frozen=True)
class Layer:
    """One source of settings: a file in the extends chain, or command-line overrides."""

    label: str
    data: dict[str, Any]
    path: Path | None = None
    text: str | None = None
    holds: bool = False
    """Whether the doctrine values it sets hold over timeline doctrine events
    (:mod:`~escalation.scenario.held`): a user's override, not a file or a fitted value."""


@dataclass(frozen=True)
class Provenance:
    """Where a validated scenario came from, for manifests and error messages."""

    layers: tuple[Layer, ...]
    overrides: tuple[str, ...]
    resolved: dict[str, Any] = field(repr=False)

    @property
    def files(self) -> list[Path]:
        return [layer.path for layer in self.layers if layer.path is not None]

    def file_hashes(self) -> dict[str, str]:
        """SHA-256 of every file in the extends chain."""
        return {
            str(layer.path): hashlib.sha256((layer.text or "").encode()).hexdigest()
            for layer in self.layers
            if layer.path is not None
        }

    def digest(self) -> str:
        """SHA-256 of the fully resolved scenario (files plus overrides)."""
        blob = json.dumps(self.resolved, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()


# --------------------------------------------------------------------------- reading files


def read_yaml_mapping(
    path: str | Path, label: str | None = None, kind: str = "scenario"
) -> tuple[dict[str, Any], str]:
    """The mapping in a YAML file of ``kind`` (scenario, sweep, calibration...) and its text,
    for line numbers in later errors. A missing, unreadable or broken file, or one that holds
    no mapping, is a :class:`ScenarioError` naming the file (and the line, for broken YAML)."""
    path = Path(path)
    label = str(path) if label is None else label
    expected = f"expected a {kind} YAML file"
    if not path.exists():
        raise ScenarioError(label, "", f"file not found; {expected}")
    if path.is_dir():
        raise ScenarioError(label, "", f"is a directory; {expected}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(
            label, "", f"cannot be read ({exc}); expected a UTF-8 YAML file"
        ) from None
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        line, problem = describe(exc)
        where = f"{label}, line {line}" if line is not None else label
        raise ScenarioError(
            where, "", f"is not valid YAML ({problem}); expected a mapping of {kind} keys"
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(
            label, "", f"holds a {type(data).__name__}; expected a mapping of {kind} keys"
        )
    return data, text


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _load_chain(path: Path, seen: tuple[Path, ...] = ()) -> list[Layer]:
    """The file and everything it extends, base first."""
    resolved = path.resolve()
    label = _display(path)
    if resolved in seen:
        cycle = " -> ".join(_display(p) for p in (*seen, resolved))
        raise ScenarioError(
            label, "extends", f"forms a cycle ({cycle}); expected a chain that ends"
        )
    data, text = read_yaml_mapping(path, label)
    parent = data.pop("extends", None)
    layers: list[Layer] = []
    if parent is not None:
        if not isinstance(parent, str) or not parent.strip():
            raise ScenarioError(
                label, "extends", f"is {parent!r}; expected the path of another scenario file"
            )
        parent_path = Path(parent)
        if not parent_path.is_absolute():
            parent_path = path.parent / parent_path
        if not parent_path.exists():
            raise ScenarioError(
                label,
                "extends",
                f"names {parent!r}, which does not exist (looked for {_display(parent_path)}); "
                "expected the path of another scenario file, relative to this one",
            )
        layers = _load_chain(parent_path, (*seen, resolved))
    layers.append(Layer(label=label, data=data, path=path, text=text))
    return layers


# --------------------------------------------------------------------------- merging


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``over`` onto ``base``: mappings merge key by key, ``null`` deletes, rest replaces."""
    out = copy.deepcopy(dict(base))
    _merge_into(out, over)
    return out


def _merge_into(out: dict[str, Any], over: Mapping[str, Any]) -> None:
    """:func:`deep_merge` in place: ``out`` (whose mappings are its own dicts) takes ``over``,
    copying only what it takes, so merging many layers copies each value once."""
    for key, value in over.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), dict):
            _merge_into(out[key], value)
        else:
            out[key] = copy.deepcopy(value)


def _check_removals(layers: Sequence[Layer]) -> None:
    """Refuse a ``null`` that removes nothing: a misspelt removal (``events.truce_202: null``)
    would otherwise leave the scenario unchanged without a word. A ``null`` may remove a key
    that an earlier layer or the built-in collections write, or, for one militia, a key that
    ``militia_defaults`` gives."""
    known = collection_defaults()
    for layer in layers:
        missing = _removes_nothing(known, known, layer.data, [])
        if missing is not None:
            path, there = missing
            hint = did_you_mean(str(path[-1]), map(str, there))
            listed = f"; expected one of: {', '.join(sorted(map(str, there)))}" if there else ""
            raise ScenarioError(
                _locate([layer], path),
                _dotted(path),
                f"is null, which removes a key, but there is no such key to remove{hint}{listed}",
            )
        _merge_into(known, layer.data)


def _removes_nothing(
    root: dict[str, Any], known: Any, over: Mapping[str, Any], path: list[str]
) -> tuple[list[str], list[str]] | None:
    """The first key path in ``over`` whose ``null`` finds nothing in ``known`` (the part of
    ``root`` at ``path``) to remove, with the keys that are there; None if there is none.
    Mirrors :func:`_merge_into`: a mapping merged onto a non-mapping replaces it whole, and its
    nulls are values."""
    for key, value in over.items():
        here = [*path, key]
        if value is None:
            exists = isinstance(known, dict) and key in known
            shared = (
                len(here) >= 3
                and here[0] == "militias"
                and _has_path(root.get(DEFAULTS_KEY), here[2:])
            )
            if not (exists or shared):
                return here, list(known) if isinstance(known, dict) else []
        elif (
            isinstance(value, Mapping)
            and isinstance(known, dict)
            and isinstance(known.get(key), dict)
        ):
            found = _removes_nothing(root, known[key], value, here)
            if found is not None:
                return found
    return None


def _merge_layers(layers: Iterable[Layer]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for layer in layers:
        _merge_into(merged, layer.data)
    return merged


def parse_override(text: str) -> tuple[list[str], Any]:
    """Parse ``key.path=value``; the value is read as a YAML scalar or flow collection."""
    if "=" not in text:
        raise ScenarioError(
            "--set", text, "has no '='; expected key.path=value, e.g. us.doctrine.trigger=never"
        )
    key, raw = text.split("=", 1)
    parts = [p for p in key.strip().split(".")]
    if not key.strip() or any(not p for p in parts):
        raise ScenarioError("--set", text, "has an empty key; expected key.path=value")
    try:
        value = load_yaml(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ScenarioError(
            "--set",
            text if len(text) <= 120 else f"{text[:100]}...",
            f"has a value that is not valid YAML ({describe(exc)[1]}); quote strings with spaces",
        ) from None
    return parts, value


def _nest(parts: Sequence[str], value: Any) -> dict[str, Any]:
    node: Any = value
    for part in reversed(parts):
        node = {part: node}
    return node


def collection_defaults(model: type[BaseModel] = C.Scenario) -> dict[str, Any]:
    """Built-in collections (weapons, target classes, Iran's lines...) as plain data.

    A scenario's entries merge onto these, so ``weapons: {drone: {cost: 0}}`` changes one value
    of the built-in drone rather than replacing the whole weapon set.
    """
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if info.is_required():
            continue
        value = info.get_default(call_default_factory=True)
        if isinstance(value, dict) and value:
            out[name] = json.loads(json.dumps(value, default=_plain))
        elif isinstance(value, BaseModel):
            nested = collection_defaults(type(value))
            if nested:
                out[name] = nested
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(type(value).__name__)


def _expand_militia_defaults(data: dict[str, Any]) -> dict[str, Any]:
    defaults = data.pop(DEFAULTS_KEY, None) or {}
    militias = data.get("militias")
    if isinstance(militias, dict) and isinstance(defaults, dict):
        data["militias"] = {
            mid: deep_merge(defaults, m) if isinstance(m, dict) else m
            for mid, m in militias.items()
        }
    return data


# --------------------------------------------------------------------------- errors


def _line_of(text: str | None, path: Sequence[str | int]) -> int | None:
    """Line number (1-based) of a key path in a YAML text, if it is written there."""
    if not text:
        return None
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == str(part):
                    line, node = k.start_mark.line + 1, v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _has_path(data: Any, path: Sequence[str | int]) -> bool:
    node = data
    for part in path:
        if isinstance(node, list):
            if not (isinstance(part, int) and part < len(node)):
                return False
            node = node[part]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False
    return True


def _locate(layers: Sequence[Layer], path: Sequence[str | int]) -> str:
    """The label (with line) of the last layer that writes ``path`` or its longest prefix."""
    candidates = [list(path)]
    if len(path) >= 2 and path[0] == "militias":
        candidates.append([DEFAULTS_KEY, *path[2:]])
    for depth in range(len(path), 0, -1):
        for cand in candidates:
            prefix = cand[: depth if cand[0] != DEFAULTS_KEY else max(depth - 1, 1)]
            for layer in reversed(layers):
                if _has_path(layer.data, prefix):
                    line = _line_of(layer.text, prefix)
                    return f"{layer.label}, line {line}" if line else layer.label
    return layers[-1].label if layers else "<scenario>"


def _shown_path(layers: Sequence[Layer], path: Sequence[str | int]) -> Sequence[str | int]:
    """The key path to name for a problem at ``path``: a militia's value that only
    ``militia_defaults`` writes is named under ``militia_defaults``."""
    if len(path) >= 3 and path[0] == "militias":
        shared = [DEFAULTS_KEY, *path[2:]]
        if not any(_has_path(layer.data, path) for layer in layers) and any(
            _has_path(layer.data, shared) for layer in layers
        ):
            return shared
    return path


def _where(layers: Sequence[Layer], path: Sequence[str | int]) -> tuple[str, str]:
    """Where to point a user for a problem at ``path``: (file and line, dotted key path). A
    militia's value that only ``militia_defaults`` writes is reported at its place there."""
    # _locate finds the defaults' line itself
    return _locate(layers, path), _dotted(_shown_path(layers, path))


def _dotted(path: Sequence[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _raise_validation(
    exc: ValidationError,
    layers: Sequence[Layer],
    data: Mapping[str, Any],
    root: type[BaseModel] = C.Scenario,
):
    # Report the first error in document order; a newcomer fixes one thing at a time. An unknown
    # key goes first: a misspelt required key is also reported missing, and the misspelling is
    # the one to fix.
    errors = sorted(exc.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden")
    explained = [explain_error(err, data, root) for err in errors]
    loc, msg = explained[0]
    # Count problems as reported, not raw errors: a mistake in militia_defaults fails once
    # for every militia that inherits it, but is one problem named once under the defaults.
    more = len({(_dotted(_shown_path(layers, at)), text) for at, text in explained}) - 1
    extra = f" ({more} more problem{'s' if more > 1 else ''} after this one)" if more else ""
    raise ScenarioError(*_where(layers, loc), msg + extra) from None


# --------------------------------------------------------------------------- public API


def _validate(layers: Sequence[Layer], overrides: Sequence[str]) -> C.Scenario:
    _check_removals(layers)
    merged = _merge_layers(layers)
    held.hold_doctrine(merged, layers)
    resolved = copy.deepcopy(merged)
    data = _expand_militia_defaults(deep_merge(collection_defaults(), merged))
    try:
        scenario = C.Scenario.model_validate(data)
    except ValidationError as exc:
        _raise_validation(exc, layers, data)
    problem = next(broken_references(scenario), None)
    if problem is not None:
        raise ScenarioError(*_where(layers, problem.path), problem.message)
    scenario._provenance = Provenance(tuple(layers), tuple(overrides), resolved)
    return scenario


def load_scenario(
    path: str | Path,
    overrides: Iterable[str] | Mapping[str, Any] = (),
    *,
    hold_doctrine: bool = True,
) -> C.Scenario:
    """Read, merge and validate a scenario file.

    ``overrides`` are ``key.path=value`` strings (as given to ``--set``) or a mapping of dotted
    key paths to values. A doctrine value they set holds for the whole run: timeline doctrine
    events no longer change it (``hold_doctrine=False`` lets them, as calibration does; see
    :mod:`~escalation.scenario.held`). Raises :class:`ScenarioError` on any mistake.
    """
    layers = _load_chain(Path(path))
    return _with_overrides(layers, overrides, hold_doctrine)


def scenario_from_dict(
    data: Mapping[str, Any],
    overrides: Iterable[str] | Mapping[str, Any] = (),
    label: str = "<dict>",
) -> C.Scenario:
    """Validate a scenario given as a Python mapping (for notebooks and tests)."""
    copied = copy.deepcopy(dict(data))
    if "extends" in copied:
        raise ScenarioError(label, "extends", "is only allowed in files; merge dicts yourself")
    return _with_overrides([Layer(label=label, data=copied)], overrides, True)


_NAMED = {"events": "event", "militias": "militia"}


def _with_overrides(
    layers: list[Layer], overrides: Iterable[str] | Mapping[str, Any], holds: bool
) -> C.Scenario:
    texts: list[str] = []
    if isinstance(overrides, Mapping):  # from Python: name the setting as given
        items = [(str(k).split("."), v) for k, v in overrides.items()]
        texts = [f"{k}={json.dumps(v, default=str)}" for k, v in overrides.items()]
        prefix = "setting "
    else:  # from the command line
        texts = list(overrides)
        items = [parse_override(t) for t in texts]
        prefix = "--set "
    n_base = len(layers)
    layers = list(layers)
    for (parts, value), text in zip(items, texts, strict=True):
        layers.append(Layer(label=f"{prefix}{text}", data=_nest(parts, value), holds=holds))
    try:
        return _validate(layers, texts)
    except ScenarioError:
        # an override naming an event or militia the scenario lacks starts a new, incomplete one;
        # say so rather than list the keys the new entry misses
        base = _merge_layers(layers[:n_base])
        for (parts, _), text in zip(items, texts, strict=True):
            known = base.get(parts[0]) if len(parts) > 2 else None
            if parts[0] in _NAMED and isinstance(known, dict) and parts[1] not in known:
                raise ScenarioError(
                    f"{prefix}{text}",
                    ".".join(parts),
                    f"the scenario has no {_NAMED[parts[0]]} named {parts[1]!r}"
                    f"{did_you_mean(parts[1], known)}; "
                    f"expected one of: {', '.join(sorted(known))}",
                ) from None
        raise


def with_overrides(
    scenario: C.Scenario,
    overrides: Mapping[str, Any] | Iterable[str],
    *,
    hold_doctrine: bool = True,
) -> C.Scenario:
    """A new scenario: ``scenario`` with dotted-path overrides applied and re-validated. A
    doctrine value they set holds for the whole run unless ``hold_doctrine`` is False (see
    :func:`load_scenario`)."""
    prov = provenance(scenario)
    layers = list(prov.layers) if prov else [Layer("<scenario>", scenario.model_dump())]
    result = _with_overrides(layers, overrides, hold_doctrine)
    new = provenance(result)
    if prov and new is not None:  # every validated scenario has one
        merged_over = (*prov.overrides, *new.overrides)
        result._provenance = Provenance(new.layers, merged_over, new.resolved)
    return result


def provenance(scenario: C.Scenario) -> Provenance | None:
    """Where a scenario was loaded from (None if built directly from the schema)."""
    return getattr(scenario, "_provenance", None)


def resolved_dict(scenario: C.Scenario) -> dict[str, Any]:
    """The fully resolved parameters, JSON-ready (dates as ISO strings)."""
    return json.loads(scenario.model_dump_json())


def date_of(value: str | dt.date) -> dt.date:
    """Parse an ISO date (for the CLI and API)."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
