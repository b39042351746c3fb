"""The scenario files the page offers, and run requests validated against them."""

from __future__ import annotations

import json
import shlex
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from escalation.dashboard.controls import CONTROL_KEYS, CONTROLS, scenario_value
from escalation.errors import UserError
from escalation.scenario import schema as C

MAX_REPLICATES = 500
HOLD_EVENT = "biden_doctrine"
HOLD_OVERRIDE = f"events.{HOLD_EVENT}"

FileSignature = tuple[tuple[str, int | None], ...]
"""Paths and modification times of a scenario's files: changes when one is edited."""


class Loaded(NamedTuple):
    """A scenario in the cache, with the signature of the files it was read from."""

    signature: FileSignature
    scenario: C.Scenario


class Record(NamedTuple):
    """The historical record to draw over a scenario, and the periods to compare it over."""

    overlay: Any  # the record overlay of escalation.viz.tempo, or None without a record
    periods: list[Any]


class CachedRecord(NamedTuple):
    """A record in the cache, with the dates it was cut to."""

    dates: tuple[Any, Any]
    record: Record


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(a - b) < 1e-9
    return a == b


def cli_value(value: Any) -> str:
    """A value as ``--set`` reads it (YAML): strings plain, others as JSON (true, null, 2.5)."""
    return value if isinstance(value, str) else json.dumps(value)


@dataclass
class Settings:
    """A validated run request."""

    scenario_id: str
    base: C.Scenario = field(repr=False)
    variant: C.Scenario = field(repr=False)
    overrides: dict[str, Any]
    replicates: int
    seed: int
    path: Path

    def command(self) -> str:
        """The equivalent ``escalation run`` command line."""
        words = ["escalation", "run", str(self.path), "-n", str(self.replicates)]
        words += ["--seed", str(self.seed)]
        for key, value in self.overrides.items():
            words += ["--set", f"{key}={cli_value(value)}"]
        return shlex.join(words)

    def scenario_yaml(self) -> str:
        """The scenario as set on the page, as a file that ``escalation validate`` and ``run``
        load into the same scenario: it extends the scenario's file (by its absolute path, so
        the file works wherever it is saved) and overrides only the values the page changed,
        nested as a scenario file writes them (``events: {biden_doctrine: null}`` removes the
        event, as ``--set events.biden_doctrine=null`` does)."""
        data: dict[str, Any] = {"extends": str(self.path.resolve())}
        for key, value in self.overrides.items():
            node = data
            *parents, last = key.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[last] = value
        changed = ", ".join(self.overrides) or "nothing"
        header = (
            f"# The scenario {self.scenario_id!r} as set in the escalation dashboard "
            f"(changed: {changed}).\n"
            f"# Run it as the page did: escalation run FILE -n {self.replicates} "
            f"--seed {self.seed}\n"
        )
        return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _whole(value: Any, what: str, low: int, high: int | None = None) -> int:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= low
    if ok and (high is None or value <= high):
        return value
    span = f"from {low} to {high}" if high is not None else f"of {low} or more"
    raise UserError(f"{what}: expected a whole number {span}, got {value!r}")


def _signature(paths: list[Path]) -> FileSignature:
    out: list[tuple[str, int | None]] = []
    for p in paths:
        try:
            out.append((str(p), p.stat().st_mtime_ns))
        except OSError:
            out.append((str(p), None))
    return tuple(out)


class Library:
    """The scenario files of a folder, loaded on demand and reloaded when a file changes."""

    def __init__(self, folder: Path) -> None:
        if not folder.is_dir():
            raise UserError(
                f"{folder}: no such folder; expected a folder of scenario YAML files "
                "(choose one with --scenarios)"
            )
        self.folder = folder
        self.lock = threading.Lock()
        self._cache: dict[str, Loaded] = {}
        self._records: dict[str, CachedRecord] = {}
        if not self.ids():
            raise UserError(f"{folder}: no scenario files (*.yaml) in this folder")

    def ids(self) -> list[str]:
        """Scenario ids (file stems), the baseline first."""
        names = sorted(p.stem for p in self.folder.glob("*.yaml"))
        return sorted(names, key=lambda n: n != "baseline")

    def path(self, sid: str) -> Path:
        """The file of a scenario id (a user error naming the choices if there is none)."""
        if sid not in self.ids():
            raise UserError(
                f"scenario {sid!r}: no such file in {self.folder}; expected one of: "
                + ", ".join(self.ids())
            )
        return self.folder / f"{sid}.yaml"

    def signature(self, sid: str) -> FileSignature:
        """Paths and modification times of a loaded scenario's files (changes when edited)."""
        with self.lock:
            cached = self._cache.get(sid)
        return cached.signature if cached is not None else ()

    def load(self, sid: str) -> C.Scenario:
        """The scenario of a file (raises :class:`ScenarioError` on a mistake)."""
        from escalation.scenario.loading import load_scenario, provenance

        path = self.path(sid)
        with self.lock:
            cached = self._cache.get(sid)
            if cached is not None:
                prov = provenance(cached.scenario)
                if cached.signature == _signature(prov.files if prov else [path]):
                    return cached.scenario
        scenario = load_scenario(path)
        prov = provenance(scenario)
        with self.lock:
            self._cache[sid] = Loaded(_signature(prov.files if prov else [path]), scenario)
        return scenario

    def record(self, sid: str, scenario: C.Scenario) -> Record:
        """The historical-record overlay (through the plugin, or None) and the periods to
        compare over (the record's phases, else years), cached per scenario and dates."""
        from escalation.record.overlap import comparison_periods
        from escalation.viz.tempo import record_overlay

        dates = (scenario.start, scenario.end)
        with self.lock:
            cached = self._records.get(sid)
            if cached is not None and cached.dates == dates:
                return cached.record
        periods, _ = comparison_periods(scenario, None)
        periods = [p for p in periods if p.start <= scenario.end and p.end >= scenario.start]
        found = Record(record_overlay(scenario), periods)
        with self.lock:
            self._records[sid] = CachedRecord(dates, found)
        return found

    def describe(self, sid: str) -> dict[str, Any]:
        """What the page needs to show a scenario: its description and current values."""
        scenario = self.load(sid)
        hold = scenario.events.get(HOLD_EVENT)
        return {
            "id": sid,
            "file": str(self.path(sid)),
            "name": scenario.name,
            "description": (scenario.description or "").strip(),
            "start": str(scenario.start),
            "end": str(scenario.end),
            "values": {c.key: scenario_value(scenario, c.key) for c in CONTROLS},
            "hold_available": hold is not None,
            "hold_event": (
                {"label": hold.label, "date": str(hold.date)} if hold is not None else None
            ),
        }

    def settings(self, request: Mapping[str, Any]) -> Settings:
        """Validate a run request (scenario, values, hold, replicates, seed) into settings."""
        from escalation.scenario.loading import with_overrides

        sid = request.get("scenario")
        if not isinstance(sid, str):
            raise UserError("scenario: expected the name of a scenario file")
        base = self.load(sid)
        replicates = _whole(request.get("replicates", 20), "replicates", 1, MAX_REPLICATES)
        seed = _whole(request.get("seed", 0), "seed", 0)
        values = request.get("values") or {}
        if not isinstance(values, Mapping):
            raise UserError("values: expected a mapping of key paths to values")
        overrides: dict[str, Any] = {}
        for key, value in values.items():
            if key not in CONTROL_KEYS:
                raise UserError(
                    f"{key}: not a parameter of this page; expected one of: "
                    + ", ".join(CONTROL_KEYS)
                )
            if not _same(value, scenario_value(base, key)):
                overrides[key] = value
        if request.get("hold") and HOLD_EVENT in base.events:
            overrides[HOLD_OVERRIDE] = None
        variant = with_overrides(base, overrides) if overrides else base
        return Settings(sid, base, variant, overrides, replicates, seed, self.path(sid))
