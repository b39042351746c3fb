"""The timeline audit (docs/timeline-audit.md) classifies every event of the historical timeline,
and no event it lists as removed for restating an outcome is back."""

from __future__ import annotations

import re
from pathlib import Path

from escalation.scenario.loading import load_scenario

ROOT = Path(__file__).resolve().parents[2]
AUDIT = ROOT / "docs" / "timeline-audit.md"


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else None]


def _events(section: str) -> list[str]:
    return re.findall(r"^\| `([a-z_0-9]+)`", section, flags=re.MULTILINE)


def test_every_event_of_the_timeline_is_classified_and_none_removed_is_back():
    text = AUDIT.read_text(encoding="utf-8")
    kept = _events(_section(text, "## Every event kept"))
    removed = _events(_section(text, "## Removed"))
    events = load_scenario(ROOT / "scenarios" / "historical.yaml").events
    assert sorted(kept) == sorted(events), "docs/timeline-audit.md and the timeline differ"
    assert removed and not set(removed) & set(events)
    roles = re.findall(r"^\| `[a-z_0-9]+` \|[^|]+\|[^|]+\|[^|]+\| (\w+) \|", text, re.MULTILINE)
    assert set(roles) <= {"cause", "replayed", "restates"}
