"""Progress bars for long work: one look for every stage of every command.

A command makes one :class:`Bars` and hands it down; each stage that runs simulations or a long
computation opens a bar labelled with the stage (:meth:`Bars.bar`), or wraps its executor so
that the bar advances as each run finishes, whichever worker (process pool or Dask) ran it
(:meth:`Bars.counting`). Bars go to stderr and are drawn only when stderr is a terminal; with
``--no-progress`` a command passes :data:`QUIET` and nothing is drawn. Library functions take
``bars=QUIET`` by default, so scripts and notebooks stay silent unless they ask.

Bars only watch: they draw no random numbers and reorder nothing, so every result is the same
with them or without them.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any


class Bars:
    """Makes the progress bars of one command.

    ``enabled`` False: no bars and no notes (:data:`QUIET`). Otherwise notes are printed and
    bars drawn to ``file`` (stderr by default), when it is a terminal or if ``always``.
    ``prefix`` starts every label (e.g. the rolling origin a stage belongs to).
    """

    def __init__(
        self,
        enabled: bool = True,
        *,
        always: bool = False,
        file: IO[str] | None = None,
        prefix: str = "",
    ) -> None:
        self.enabled, self.always, self.file, self.prefix = enabled, always, file, prefix

    def within(self, prefix: str) -> Bars:
        """The same bars with ``prefix`` before every label."""
        joined = f"{self.prefix}{prefix}: "
        return Bars(self.enabled, always=self.always, file=self.file, prefix=joined)

    def bar(self, label: str, total: int | None = None, unit: str = "run", initial: int = 0):
        """A tqdm bar for the stage ``label`` (a context manager; ``total`` None: a counter).
        tqdm is imported here, not at the top: it keeps ``escalation --help`` fast."""
        from tqdm import std
        from tqdm.auto import tqdm

        std.tqdm.monitor_interval = 0  # no monitor thread: worker processes are forked
        return tqdm(
            total=total,
            initial=initial,
            desc=f"{self.prefix}{label}",
            unit=unit,
            file=self.file if self.file is not None else sys.stderr,
            disable=True if not self.enabled else (False if self.always else None),
            dynamic_ncols=True,
        )

    def note(self, text: str) -> None:
        """A line for a stage that has nothing to count (printed unless quiet)."""
        if self.enabled:
            print(f"{self.prefix}{text}", file=self.file if self.file is not None else sys.stderr)

    @contextlib.contextmanager
    def counting(
        self, executor: Any, label: str, total: int | None, unit: str = "run"
    ) -> Iterator[Counting]:
        """``executor`` wrapped so that a bar for ``label`` advances as each result arrives
        (the bar closes when the block ends; the executor stays open)."""
        with self.bar(label, total, unit) as bar:
            yield Counting(executor, bar.update)


class Counting:
    """An executor that calls ``tick`` as each result arrives from the one it wraps, and
    otherwise passes everything through (results, their order and their indices unchanged)."""

    def __init__(self, executor: Any, tick: Callable[[], Any]) -> None:
        self.executor, self.tick = executor, tick
        self.workers = getattr(executor, "workers", 1)

    def imap(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[tuple[int, Any]]:
        """The wrapped executor's ``(index, result)`` pairs, ticking once per pair."""
        for item in self.executor.imap(fn, tasks):
            self.tick()
            yield item

    def close(self) -> None:
        """Nothing: the wrapped executor belongs to whoever made it."""


#: No bars, no notes: the default of every library function.
QUIET = Bars(enabled=False)


def end_early(bar: Any) -> None:
    """Mark a bar done at its count: a search that stopped early has nothing left to do."""
    bar.total = bar.n
    bar.refresh()
