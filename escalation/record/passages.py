"""Check the record's citations against the seed documents they quote."""

from __future__ import annotations

import os
from pathlib import Path

from escalation.record.loading import find_seeds_dir
from escalation.record.parsing import show
from escalation.record.types import Record, RecordError, Source

__all__ = ["verify_passages"]


def verify_passages(record: Record, seeds_dir: str | os.PathLike[str] | None = None) -> None:
    """Check that every cited passage occurs verbatim in its seed file.

    Raises :class:`RecordError` listing each passage not found (file, entry, start of the passage).
    """
    root = Path(seeds_dir) if seeds_dir is not None else find_seeds_dir()
    if root is None or not root.is_dir():
        raise RecordError(
            f"seeds directory not found ({root or 'set ESCALATION_SEEDS_DIR'}); expected "
            "the directory of seed files the record cites."
        )
    cache: dict[str, str | None] = {}

    def text(name: str) -> str | None:
        if name not in cache:
            p = root / name
            cache[name] = p.read_text(encoding="utf-8") if p.is_file() else None
        return cache[name]

    cited: list[tuple[str, str, Source]] = []
    for t in record.targets:
        cited += [(t.origin, f"entry '{t.id}'", s) for s in t.sources]
    for p in record.phases:
        cited += [("phases", f"phase '{p.id}'", s) for s in p.sources]
        cited += [
            ("phases", f"phase '{p.id}' expected_change", c.source) for c in p.expected_change
        ]
    for e in record.events:
        cited.append(("phases", f"event '{e.label}'", e.source))
    problems = []
    for origin, where, src in cited:
        body = text(src.file)
        if body is None:
            problems.append(f"{origin}: {where}: seed file '{src.file}' not found in {root}")
            continue
        for passage in src.passages:
            if passage not in body:
                problems.append(
                    f"{origin}: {where}: passage not found verbatim in {src.file}: "
                    f"{show(passage[:80])}"
                )
    if problems:
        raise RecordError(
            f"{len(problems)} cited passage(s) do not occur verbatim in the seeds (check curly "
            "quotes and apostrophes): " + "; ".join(problems) + "."
        )
