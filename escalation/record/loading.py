"""Load the record from its YAML files: the packaged ones, a user's directory, or extra files.

The record lives in three YAML files in ``data/`` beside this module (``targets.yaml``,
``series.yaml``, ``phases.yaml``); their headers document every field. :func:`load_record` turns
them into the frozen dataclasses of :mod:`escalation.record.types` and rejects malformed input
with a :class:`RecordError` whose message names the file, the entry id or key path, and what was
expected. :func:`find_seeds_dir` locates the seed documents the record cites.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

import yaml

from escalation.errors import UserError, did_you_mean
from escalation.record.parsing import (
    check_phases,
    check_targets,
    parse_event,
    parse_phase,
    parse_series,
    parse_target,
    show,
)
from escalation.record.types import KeyEvent, Phase, Record, RecordError, Series, Target
from escalation.scenario import schema as C
from escalation.scenario.yamltext import load_yaml

__all__ = ["find_seeds_dir", "load_record", "replayed_targets"]

_PACKAGE_DIR = Path(__file__).resolve().parent / "data"


def load_record(
    path_or_dir: str | os.PathLike[str] | None = None,
    *,
    extra_targets: Iterable[str | os.PathLike[str]] = (),
    extra_series: Iterable[str | os.PathLike[str]] = (),
    extra_phases: Iterable[str | os.PathLike[str]] = (),
) -> Record:
    """Load and validate the record.

    ``path_or_dir`` is a directory holding targets.yaml, series.yaml and phases.yaml (default: this
    package), or a targets file to use instead of the packaged targets (series and phases then come
    from the package). ``extra_*`` add files of the same format; ids must stay unique.
    Raises :class:`RecordError` naming the file, entry and key of the first problem found.
    """
    files = _record_files(path_or_dir)
    files.targets.extend(Path(p) for p in extra_targets)
    files.series.extend(Path(p) for p in extra_series)
    files.phases.extend(Path(p) for p in extra_phases)

    series = _load_series(files.series)
    targets = _load_targets(files.targets)
    check_targets(targets, series, files.series)
    phases = _load_phases(files.phases)
    check_phases(phases.phases, series, files.phases)

    return Record(
        targets=tuple(targets),
        series=MappingProxyType(series),
        phases=tuple(phases.phases),
        events=tuple(sorted(phases.events, key=lambda e: e.date)),
        files=tuple(str(p) for p in (*files.targets, *files.series, *files.phases)),
    )


class _RecordFiles(NamedTuple):
    """The files of each kind a record is read from, in reading order."""

    targets: list[Path]
    series: list[Path]
    phases: list[Path]


def replayed_targets(
    scenario: C.Scenario, record: Record, where: str | os.PathLike[str]
) -> list[tuple[str, Target]]:
    """The record's targets that the scenario's timeline events restate (their ``restates``),
    as (event id, target): inputs the timeline replays, not outcomes to score. An unknown id
    is a :class:`UserError` naming ``where`` (the scenario file) and the event."""
    by_id = {t.id: t for t in record.targets}
    out = []
    for eid, ev in scenario.sorted_events():
        for tid in ev.restates:
            target = by_id.get(tid)
            if target is None:
                raise UserError(
                    f"{where}: events.{eid}.restates: no target '{tid}' in the record"
                    f"{did_you_mean(tid, by_id)}; expected the id of a target in "
                    "escalation/record/data/targets.yaml"
                )
            out.append((eid, target))
    return out


def _record_files(path_or_dir: str | os.PathLike[str] | None) -> _RecordFiles:
    base = Path(path_or_dir) if path_or_dir is not None else _PACKAGE_DIR
    if path_or_dir is not None and not base.exists():
        raise RecordError(
            f"{base}: not found; expected a record directory (holding targets.yaml, "
            "series.yaml and phases.yaml) or a targets YAML file."
        )
    if base.is_dir():
        return _RecordFiles([base / "targets.yaml"], [base / "series.yaml"], [base / "phases.yaml"])
    return _RecordFiles([base], [_PACKAGE_DIR / "series.yaml"], [_PACKAGE_DIR / "phases.yaml"])


def _load_series(files: Iterable[Path]) -> dict[str, Series]:
    series: dict[str, Series] = {}
    series_origin: dict[str, Path] = {}
    for path in files:
        raw = _read_yaml(path, "series")["series"]
        if not isinstance(raw, Mapping):
            raise RecordError(
                f"{path}: key 'series': expected a mapping from series id to definition, "
                f"got {show(raw)}."
            )
        for sid, body in raw.items():
            if sid in series:
                raise RecordError(
                    f"{path}: series '{sid}': expected a new id, but it is already "
                    f"defined in {series_origin[sid]}."
                )
            series[sid] = parse_series(sid, body, str(path))
            series_origin[sid] = path
    return series


def _load_targets(files: Iterable[Path]) -> list[Target]:
    targets: list[Target] = []
    seen: dict[str, str] = {}
    for path in files:
        for i, raw in enumerate(_as_list(_read_yaml(path, "targets")["targets"], path, "targets")):
            t = parse_target(raw, i, str(path))
            if t.id in seen:
                raise RecordError(
                    f"{path}: entry '{t.id}' (targets[{i}]), key 'id': expected a unique "
                    f"id, but '{t.id}' is already used in {seen[t.id]}."
                )
            seen[t.id] = str(path)
            targets.append(t)
    return targets


class _Phases(NamedTuple):
    """Phases and key events as read from the phase files, in file order."""

    phases: list[Phase]
    events: list[KeyEvent]


def _load_phases(files: Iterable[Path]) -> _Phases:
    out = _Phases([], [])
    for path in files:
        data = _read_yaml(path, "phases")
        for i, raw in enumerate(_as_list(data["phases"], path, "phases")):
            out.phases.append(parse_phase(raw, i, str(path)))
        for i, raw in enumerate(_as_list(data.get("events") or [], path, "events")):
            out.events.append(parse_event(raw, i, str(path)))
    return out


def find_seeds_dir() -> Path | None:
    """The seed documents: ``$ESCALATION_SEEDS_DIR``, else the first ``shared/seeds`` folder
    beside the repository or one of its parent folders. None if there is none."""
    env = os.environ.get("ESCALATION_SEEDS_DIR")
    if env:
        path = Path(env)
        return path if path.is_dir() else None
    for parent in _PACKAGE_DIR.parent.parents:
        path = parent / "shared" / "seeds"
        if path.is_dir():
            return path
    return None


def _read_yaml(path: Path, top_key: str) -> Mapping[str, Any]:
    if not path.is_file():
        raise RecordError(
            f"{path}: file not found; expected a YAML file with a top-level '{top_key}' key."
        )
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RecordError(f"{path}: broken YAML{where}: {problem}; fix the syntax there.") from None
    except UnicodeDecodeError as exc:
        raise RecordError(
            f"{path}: not UTF-8 text ({exc.reason}); save the file as UTF-8."
        ) from None
    if not isinstance(data, Mapping) or top_key not in data:
        got = sorted(data) if isinstance(data, Mapping) else type(data).__name__
        raise RecordError(
            f"{path}: expected a mapping with a top-level '{top_key}' key, got {show(got)}."
        )
    return data


def _as_list(raw: Any, path: Path, key: str) -> list[Any]:
    if not isinstance(raw, list):
        raise RecordError(f"{path}: key '{key}': expected a list of entries, got {show(raw)}.")
    return raw
