"""Doctrine values a user sets hold for the whole run.

A doctrine value set by ``--set``, by the Python API (``load_scenario(path, overrides)``,
``with_overrides``, ``EscalationModel(**values)``), by a sweep or by the page would otherwise
last only until a timeline ``doctrine`` event sets the same value (the baseline's January 2021
change of doctrine moves strikes to Syria, ten days late), which nobody setting it expects. So
such an override also takes its keys out of every doctrine event's ``changes``: the event still
happens and still changes the values the user left alone. A doctrine event the user writes in
an override is theirs and is kept whole.

Calibration applies its fixed and fitted values without holding them (``hold_doctrine=False``):
they are scenario values that ``--write-scenario`` writes into a scenario file, where timeline
events do replace them, and they must mean the same in the fit as there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol


class _Layer(Protocol):
    @property
    def data(self) -> dict[str, Any]: ...

    @property
    def holds(self) -> bool: ...


def held_doctrine_keys(layers: Iterable[_Layer]) -> set[str]:
    """The doctrine fields the holding layers set (``us.doctrine.<field>``)."""
    keys: set[str] = set()
    for layer in layers:
        us = layer.data.get("us") if layer.holds else None
        doctrine = us.get("doctrine") if isinstance(us, Mapping) else None
        if isinstance(doctrine, Mapping):
            keys.update(str(k) for k in doctrine)
    return keys


def _writes(layer: _Layer, eid: str, key: str) -> bool:
    """Whether ``layer`` writes the change of ``key`` by event ``eid`` itself."""
    events = layer.data.get("events")
    event = events.get(eid) if isinstance(events, Mapping) else None
    changes = event.get("changes") if isinstance(event, Mapping) else None
    return isinstance(changes, Mapping) and key in changes


def hold_doctrine(merged: dict[str, Any], layers: Iterable[_Layer]) -> None:
    """Take the doctrine fields the holding ``layers`` set out of the ``changes`` of every
    doctrine event in ``merged`` (the merged scenario data, changed in place), unless a holding
    layer writes that change itself."""
    layers = list(layers)
    keys = held_doctrine_keys(layers)
    events = merged.get("events")
    if not keys or not isinstance(events, dict):
        return
    for eid, event in events.items():
        if not isinstance(event, dict) or event.get("type") != "doctrine":
            continue
        changes = event.get("changes")
        if not isinstance(changes, dict):
            continue
        for key in sorted(keys & set(changes)):
            if not any(layer.holds and _writes(layer, eid, key) for layer in layers):
                del changes[key]
