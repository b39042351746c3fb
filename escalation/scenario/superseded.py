"""Settings the timeline later replaces: an override of the US posture holds only until a
dated event changes the same value, which a user setting it for the whole run would not expect.
:func:`superseded_settings` names each such setting and event, and how to hold the setting
instead: drop the event's value (``events.<id>.force_protection=null``). An override of the
doctrine needs no warning: it holds over the timeline's doctrine events
(:mod:`~escalation.scenario.held`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from escalation.scenario import schema as C
from escalation.scenario.loading import provenance

#: Posture values a ``us_posture`` event can set (its field -> the posture key it replaces).
_POSTURE_FIELDS = {
    "sites": "sites",
    "sites_change": "sites",
    "troops": "troops",
    "air_defence": "air_defence",
    "force_protection": "force_protection",
}


class Superseded(NamedTuple):
    """A setting a later timeline event replaces."""

    setting: str
    """The dotted key path that was set (e.g. ``us.posture.force_protection``)."""
    event: str
    """The id of the event that replaces it."""
    date: str
    value: object
    """What the event sets it to."""
    hold: str
    """The override that holds the setting for the whole run."""

    def message(self, label: str) -> str:
        return (
            f"{self.setting} holds only until {self.date}: the timeline event '{self.event}' "
            f"({label}) then sets it to {self.value}; to hold it for the whole run, also set "
            f"{self.hold}"
        )


def _changed(eid: str, ev: C.Event) -> dict[str, tuple[object, str]]:
    """The ``us.posture.*`` keys an event sets: their new values, and the override that stops
    it (the posture event loses just that field)."""
    out: dict[str, tuple[object, str]] = {}
    if isinstance(ev, C.PostureEvent):
        for name, key in _POSTURE_FIELDS.items():
            value = getattr(ev, name)
            if value is not None:
                out[f"us.posture.{key}"] = (value, f"events.{eid}.{name}=null")
    return out


def _superseded(scenario: C.Scenario, keys: Iterable[str]) -> list[tuple[Superseded, str]]:
    """For dotted ``keys`` set on ``scenario``: each later timeline event inside the run that
    changes the same value, with the event's label."""
    found = []
    for key in keys:
        for eid, ev in scenario.sorted_events():
            if not scenario.start < ev.date <= scenario.end:
                continue
            for changed, (value, hold) in _changed(eid, ev).items():
                if changed == key or changed.startswith(key + "."):
                    found.append((Superseded(key, eid, str(ev.date), value, hold), ev.label))
    return found


def superseded_settings(scenario: C.Scenario, also: Iterable[str] = ()) -> list[str]:
    """Messages for the overrides of ``scenario`` (``--set``, a sweep's ``set``, the page's
    values), and the dotted keys ``also`` (a sweep's parameters), that the timeline later
    replaces."""
    prov = provenance(scenario)
    texts = prov.overrides if prov is not None else ()
    keys = [*(text.split("=", 1)[0].strip() for text in texts), *also]
    return [item.message(label) for item, label in _superseded(scenario, keys)]
