"""Plain-language messages for schema errors: what pydantic reports, said in terms of the keys
a user writes and the values each one expects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, get_args

from pydantic import BaseModel

from escalation.errors import did_you_mean
from escalation.scenario import schema as C


def _unwrap(annotation: Any) -> Any:
    """The schema class (or ('dict', value annotation)) behind a field annotation."""
    origin = getattr(annotation, "__origin__", None)
    args: tuple[Any, ...] = getattr(annotation, "__args__", ())
    if origin is dict and len(args) == 2:
        return ("dict", args[1])
    if isinstance(annotation, type):
        return annotation
    for arg in args:
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _allowed_keys(
    path: Sequence[str | int], root: type[BaseModel] = C.Scenario
) -> list[str] | None:
    """Keys the schema allows in the mapping at ``path`` (None where any key is allowed)."""
    model: Any = root
    for _part in path:
        part = str(_part)
        if isinstance(model, tuple):  # a mapping of named entries: the key is free
            model = _unwrap(model[1])
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        info = model.model_fields.get(part)
        if info is None:
            return None
        model = _unwrap(info.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return sorted(model.model_fields)
    return None


def _event_keys(data: Mapping[str, Any], event_id: str) -> list[str] | None:
    event = (data.get("events") or {}).get(event_id)
    if not isinstance(event, dict):
        return None
    for cls in get_args(get_args(C.Event)[0]):  # the event classes: Annotated[Union[...], ...]
        if cls.model_fields["type"].annotation.__args__[0] == event.get("type"):
            return sorted(cls.model_fields)
    return None


_EXPECT = {
    "float_parsing": "a number",
    "float_type": "a number",
    "finite_number": "a finite number (not .inf or .nan)",
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "a text string",
    "dict_type": "a mapping (key: value pairs)",
    "list_type": "a list",
    "date_from_datetime_parsing": "a date written YYYY-MM-DD",
    "date_parsing": "a date written YYYY-MM-DD",
    "date_type": "a date written YYYY-MM-DD",
    "model_type": "a mapping (key: value pairs)",
    "model_attributes_type": "a mapping (key: value pairs)",
}


def explain_error(
    err: Mapping[str, Any], data: Mapping[str, Any], root: type[BaseModel] = C.Scenario
) -> tuple[list[str | int], str]:
    """Where a pydantic error ``err`` points (the key path, in terms a user wrote) and what it
    means in plain words. ``data`` is the validated input, for the keys an event of its type
    allows; ``root`` is the model that was validated."""
    loc = [p for p in err["loc"] if not (isinstance(p, str) and p.endswith("]"))]
    # Discriminated unions insert the tag into the location: drop it.
    if len(loc) >= 3 and loc[0] == "events" and loc[2] in C.EVENT_TYPES:
        loc = [loc[0], loc[1], *loc[3:]]
    kind = err["type"]
    got = err.get("input")
    got_text = "" if isinstance(got, dict | list) else f", got {got!r}"
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        parent = loc[:-1]
        if len(parent) == 2 and parent[0] == "events":
            keys = _event_keys(data, str(parent[1]))
        else:
            keys = _allowed_keys(parent, root)
        msg = "unknown key"
        if keys:
            msg += did_you_mean(str(loc[-1]), keys) + f"; expected one of: {', '.join(keys)}"
        return loc, msg
    if kind == "missing":
        return loc, "is required but missing"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bounds = []
        if "ge" in ctx:
            bounds.append(f">= {ctx['ge']}")
        if "gt" in ctx:
            bounds.append(f"> {ctx['gt']}")
        if "le" in ctx:
            bounds.append(f"<= {ctx['le']}")
        if "lt" in ctx:
            bounds.append(f"< {ctx['lt']}")
        # pydantic reports one bound; name the whole range for probabilities
        if kind.startswith("greater") and "le" not in ctx:
            msg = f"expected a number {' and '.join(bounds)}{got_text}"
        else:
            msg = f"expected a number {' and '.join(bounds)}{got_text}"
        return loc, msg
    if kind == "literal_error":
        return loc, f"expected one of {ctx.get('expected', '')}{got_text}"
    if kind == "union_tag_invalid":
        return [*loc, "type"], (
            f"unknown event type {ctx.get('tag')!r}; expected one of: {', '.join(C.EVENT_TYPES)}"
        )
    if kind == "union_tag_not_found":
        return [*loc, "type"], (
            f"is missing; every event needs a type, one of: {', '.join(C.EVENT_TYPES)}"
        )
    if kind in _EXPECT:
        return loc, f"expected {_EXPECT[kind]}{got_text}"
    if kind == "value_error":
        return loc, str(ctx.get("error", err["msg"]))
    return loc, f"{err['msg'].rstrip('.')}{got_text}"
