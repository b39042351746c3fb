"""The event log's record: one per action an actor takes (see README).

The model keeps true events only; observed series are derived from the log afterwards
(``escalation.observe.series``). A record is a tuple, so a list of them becomes a table whose
columns are :data:`LOG_COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple


class LogRecord(NamedTuple):
    """One action: on which day who did what to whom, and, for attacks, how it went.

    ``actor`` is a militia id, "iran", "us", "iraq", whoever declared a truce, or "timeline";
    ``target`` the target class attacked, the militia struck ("iran" for Iran), the option or
    line chosen, the truce's scope or the timeline event's id. For US strikes ``claim`` holds
    the strike's theatre and ``theatre`` its country. Fields an action has no use for keep their
    defaults.
    """

    day: int
    actor: str
    action: str
    target: str
    theatre: str = ""
    weapon: str = ""
    size: int = 0
    claim: str = ""
    brand: str = ""
    intercepted: int = 0
    landed_near: bool = False
    us_wounded: int = 0
    us_killed: int = 0
    other_killed: int = 0
    detail: str = ""


LOG_COLUMNS: tuple[str, ...] = LogRecord._fields
"""Columns of the event log, in the order of :class:`LogRecord`'s fields."""


def as_records(rows: Iterable[tuple]) -> list[LogRecord]:
    """Records from plain tuples whose fields are in the order of :data:`LOG_COLUMNS`.

    A log travels between processes as plain tuples, which pickle several times faster than
    named ones; this turns them back into records.
    """
    new = tuple.__new__
    return [new(LogRecord, row) for row in rows]
