"""Reference documentation of the scenario schema, generated from ``escalation.scenario.schema``."""

from __future__ import annotations

import datetime as dt
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from escalation.errors import UserError
from escalation.scenario import schema as C

_DICT_ENTRY = {
    "weapons": "<weapon>",
    "targets": "<target class>",
    "militias": "<militia id>",
    "series": "<series name>",
    "events": "<event id>",
    "sizes": "<size class>",
    "lines": "<line>",
    "strike_effects": "<theatre>",
    "motives": "<owner>",
}


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        base = _type_name(args[0])
        bounds = []
        for meta in args[1:]:
            for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
                for m in getattr(meta, "metadata", [meta]):
                    v = getattr(m, attr, None)
                    if v is not None:
                        bounds.append(f"{sym} {v}")
        return f"{base} {' and '.join(bounds)}".strip()
    if origin is typing.Literal:
        return "one of: " + ", ".join(str(a) for a in args)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        names = [_type_name(a) for a in args if a is not type(None)]
        text = " or ".join(names)
        return f"{text} or null" if type(None) in args else text
    if origin is dict:
        return f"mapping of {_type_name(args[0])} to {_type_name(args[1])}"
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if annotation is float:
        return "number"
    if annotation is int:
        return "whole number"
    if annotation is bool:
        return "true/false"
    if annotation is str:
        return "text"
    if annotation is dt.date:
        return "date (YYYY-MM-DD)"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section"
    return str(annotation)


def _field_type(info: FieldInfo) -> str:
    """Type of a field with its bounds (pydantic keeps bounds in the field's metadata)."""
    text = _type_name(info.annotation)
    bounds = []
    for meta in info.metadata:
        for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            v = getattr(meta, attr, None)
            if v is not None:
                bounds.append(f"{sym} {v}")
    return f"{text} {' and '.join(bounds)}".strip()


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return ""
    if (
        isinstance(value, dict)
        and value
        and isinstance(next(iter(value.values())), dict | BaseModel)
    ):
        return "default: built-in set (see entries)"
    if isinstance(value, bool):
        return f"default: {str(value).lower()}"
    if isinstance(value, str):
        return f"default: {value!r}"
    if value is None:
        return "default: null"
    return f"default: {value}"


def _model_of(annotation: Any) -> tuple[str, Any] | None:
    """('model', cls) for a nested section, ('dict', cls) for a mapping of sections."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return ("model", annotation)
    if origin is dict and len(args) == 2:
        inner = _model_of(args[1])
        if inner is not None and inner[0] == "model":
            return ("dict", inner[1])
    if origin is list and args:
        inner = _model_of(args[0])
        if inner is not None and inner[0] == "model":
            return ("list", inner[1])
    return None


def walk(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, str, str, str]]:
    """(key path, type, default, description) for every field, depth first."""
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        sub = _model_of(info.annotation)
        description = (info.description or "").strip()
        if path == "events":
            yield path, "mapping of event id to event", "default: none", description
            for fname, finfo in C.EventBase.model_fields.items():
                yield (
                    f"events.<id>.{fname}",
                    _field_type(finfo),
                    _default(finfo),
                    (finfo.description or "").strip(),
                )
            common = set(C.EventBase.model_fields)
            for cls in typing.get_args(typing.get_args(C.Event)[0]):
                kind = typing.get_args(cls.model_fields["type"].annotation)[0]
                doc = " ".join((cls.__doc__ or "").split())  # one line: a table row
                yield f"events.<id> (type: {kind})", "event", "", doc
                for fname, finfo in cls.model_fields.items():
                    if fname == "type" or fname in common:
                        continue
                    yield (
                        f"events.<id>.{fname} ({kind})",
                        _field_type(finfo),
                        _default(finfo),
                        (finfo.description or "").strip(),
                    )
            continue
        if sub is None:
            yield path, _field_type(info), _default(info), description
        elif sub[0] == "model":
            yield path, "section", "", description or " ".join((sub[1].__doc__ or "").split())
            yield from walk(sub[1], path + ".")
        else:
            key = _DICT_ENTRY.get(name, "<name>") if sub[0] == "dict" else "[i]"
            sep = "." if sub[0] == "dict" else ""
            yield path, f"{sub[0]} of sections", _default(info), description
            yield from walk(sub[1], f"{path}{sep}{key}.")


def describe(section: str = "", markdown: bool = False) -> str:
    """The schema (or one section of it) as text or Markdown."""
    rows = [
        r
        for r in walk(C.Scenario)
        if not section or r[0] == section or r[0].startswith((section + ".", section + " ("))
    ]
    if not rows:
        raise UserError(
            f"schema: no section {section!r}; try one of: " + ", ".join(C.Scenario.model_fields)
        )
    if markdown:
        lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
        for path, kind, default, doc in rows:
            default = default.removeprefix("default: ")
            lines.append(f"| `{path}` | {kind} | {default} | {doc.replace('|', '/')} |")
        return "\n".join(lines)
    out = []
    for path, kind, default, doc in rows:
        head = f"{path}  ({kind}{'; ' + default if default else ''})"
        out.append(head)
        if doc:
            out.append(f"    {doc}")
    return "\n".join(out)
