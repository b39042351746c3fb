"""Files the tool writes: atomically, and as resumable state.

Every output is written to a temporary file beside its destination and moved into place, so a
killed process leaves either the old file or the new one, never half of one. Long jobs (sweeps,
ABC, polishes) append each finished result to an :class:`AppendLog` and keep their progress in
a JSON state that :func:`read_state` hands back only when it belongs to the same job, so running
the same command again continues where it stopped. A process that writes an output folder holds
its lock (:func:`folder_lock`), so a second process cannot mix its results into the first one's.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import os
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from escalation.errors import ScenarioError, UserError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: folders are not locked
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".lock"
"""The file in an output folder that its writer holds locked (and describes itself in)."""


def output_folder(parent: Path, name: object, *, source: str, key: str = "name") -> Path:
    """The folder ``parent/name`` that holds the outputs of the scenario, sweep, comparison or
    calibration called ``name``, read from ``key`` of ``source`` (named in the error).

    A name is one folder name: an empty name, an absolute path, a separator or ``..`` would put
    the outputs somewhere else than under ``parent`` (or over it), so each is refused.
    """
    text = name if isinstance(name, str) else ""
    bad = (
        not text.strip()
        or text in (".", "..")
        or any(sep in text for sep in ("/", "\\"))
        or any(ord(c) < 32 for c in text)
    )
    if bad:
        raise ScenarioError(
            source,
            key,
            f"{name!r} cannot name an output folder under {parent}/; expected a plain, "
            "non-empty folder name (no '/', '\\', '..', or absolute path), e.g. my_variant",
        )
    return Path(parent) / text


@dataclass
class _Held:
    """A folder lock this process holds: its open lock file and how many holders share it."""

    fd: int
    count: int


_HELD: dict[Path, _Held] = {}
_HELD_GUARD = threading.Lock()


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s lock while the block writes it; a second process that asks for it gets
    a :class:`UserError` naming the holder (pid, host, command, start time).

    The lock is the operating system's (``flock``), so it dies with its process: the lock file a
    killed process leaves behind is taken over by the next one. It is re-entrant within a
    process (a command that holds it can call the API that takes it again).
    """
    key = Path(folder).resolve()
    with _HELD_GUARD:
        held = _HELD.get(key)
        if held is not None:
            held.count += 1
        else:
            _HELD[key] = held = _Held(_acquire(key), 1)
    try:
        yield
    finally:
        with _HELD_GUARD:
            held.count -= 1
            if held.count == 0:
                del _HELD[key]
                _release(key, held.fd)


def close_inherited_locks() -> None:
    """In a forked child: close the lock files inherited from the parent (the locks stay the
    parent's, and end with it rather than with the last of its children)."""
    for held in _HELD.values():  # no guard: the child's only thread runs this
        with contextlib.suppress(OSError):
            os.close(held.fd)
    _HELD.clear()


def _acquire(folder: Path) -> int:
    """Lock ``folder`` (its lock file, created if need be) and describe this process in it."""
    path = folder / LOCK_NAME
    if fcntl is None:  # pragma: no cover
        return -1
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UserError(
                f"{folder}: in use by {_holder(path)}; wait for it to finish (or stop it), "
                "or write to another folder with --out"
            ) from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:  # else its holder removed it as we opened it: lock the new one
            break
        os.close(fd)
    me = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": " ".join(["escalation", *sys.argv[1:]]),
        "started": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(me) + "\n").encode(), 0)
    return fd


def _holder(path: Path) -> str:
    """Who holds a lock, as its file describes it."""
    try:
        me = json.loads(path.read_text(encoding="utf-8"))
        return (
            f"another process (pid {me['pid']} on {me['host']}, started {me['started']}: "
            f"{me['command']})"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def _release(folder: Path, fd: int) -> None:
    if fd < 0:  # pragma: no cover
        return
    with contextlib.suppress(OSError):
        os.unlink(folder / LOCK_NAME)
    os.close(fd)


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` for the block to write, moved over ``path`` when the
    block ends and removed if it fails: readers see the old file or the whole new one, even
    while a file is written piece by piece over a long job. The temporary file is this
    process's and thread's own, so concurrent writers never share one."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.part")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _replace(path: Path, write: Callable[[Path], object]) -> None:
    """Write through ``write(tmp)`` to a temporary file, then move it over ``path``."""
    with atomic_path(path) as tmp:
        write(tmp)


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 text atomically."""
    _replace(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def jsonable(x: Any) -> Any:
    """A JSON-ready form of values ``json`` does not know: numpy scalars and arrays, paths,
    dates (as text)."""
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


def write_json(path: Path, data: Mapping[str, Any] | Sequence[Any]) -> None:
    """Write JSON (indented, numpy values as plain numbers) atomically."""
    write_text(path, json.dumps(data, indent=2, default=jsonable) + "\n")


def read_json(path: Path) -> Any | None:
    """The JSON in ``path``, or None if there is no such file."""
    path = Path(path)
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def write_table(path: Path, frame: pd.DataFrame, **to_csv: Any) -> None:
    """Write a CSV atomically (without the index unless asked for)."""
    to_csv.setdefault("index", False)
    _replace(path, lambda tmp: frame.to_csv(tmp, **to_csv))


def write_figure(path: Path, figure: Any, **savefig: Any) -> None:
    """Save a matplotlib figure atomically, in the format the path's suffix names."""
    path = Path(path)
    savefig.setdefault("format", path.suffix.lstrip(".") or "png")
    _replace(path, lambda tmp: figure.savefig(tmp, **savefig))


def write_arrays(path: Path, **arrays: np.ndarray) -> None:
    """Write numpy arrays to an ``.npz`` file atomically (read them back with ``np.load``)."""

    def write(tmp: Path) -> None:
        with tmp.open("wb") as f:
            # numpy's default, named so that no array is taken for it
            np.savez(f, allow_pickle=True, **arrays)

    _replace(path, write)


def read_state(path: Path, identity: Mapping[str, Any]) -> dict[str, Any] | None:
    """A saved state whose ``"identity"`` equals ``identity`` (the job it belongs to), else None:
    a state left by a different job is never resumed."""
    saved = read_json(path)
    if not isinstance(saved, dict):
        return None
    # compare through JSON so tuples and lists, or numpy and Python numbers, are alike
    if json.loads(json.dumps(identity, default=jsonable)) != saved.get("identity"):
        return None
    return saved


class AppendLog:
    """A CSV that grows a row per finished result and survives being killed mid-write.

    :meth:`rows` reads it back, dropping a torn last line and any row whose first ``key`` fields
    repeat an earlier row's, and rewrites the file without them, so appending can go on.
    """

    def __init__(self, path: Path, key: int = 2) -> None:
        self.path = Path(path)
        self.key = key
        self.header: list[str] | None = None
        self.torn = 0
        self._file: Any = None
        self._writer: csv.DictWriter | None = None

    def rows(self) -> list[list[str]]:
        """Every complete, first-seen row (as text fields), header excluded."""
        if not self.path.exists():
            return []
        text = self.path.read_text(encoding="utf-8")
        lines = text.splitlines(keepends=True)
        self.torn = 0
        if lines and not lines[0].endswith("\n"):
            # killed while writing the header: nothing was logged, start the file afresh
            self.torn = 1
            self.header = None
            write_text(self.path, "")
            return []
        if not lines:
            return []
        self.header = next(csv.reader([lines[0]]))
        kept, rows, seen = [lines[0]], [], set()
        for line in lines[1:]:
            fields = next(csv.reader([line]))
            if not line.endswith("\n") or len(fields) != len(self.header):
                self.torn += 1
                continue
            key = tuple(fields[: self.key])
            if key in seen:
                continue
            seen.add(key)
            kept.append(line)
            rows.append(fields)
        if len(kept) != len(lines):
            write_text(self.path, "".join(kept))
        return rows

    def append(self, row: Mapping[str, Any]) -> None:
        """Write one row (its keys are the header when the file is new) and flush it."""
        if self._file is None:
            new = not self.path.exists() or self.path.stat().st_size == 0
            self._file = self.path.open("a", newline="", encoding="utf-8")
            if new:
                self.header = list(row)
                csv.writer(self._file).writerow(self.header)
            elif self.header is None:
                with self.path.open(encoding="utf-8") as f:
                    self.header = next(csv.reader([f.readline()]))
            self._writer = csv.DictWriter(self._file, fieldnames=self.header, extrasaction="ignore")
        assert self._writer is not None
        self._writer.writerow(row)
        self._file.flush()

    def sort(self, key: Callable[[list[str]], Any]) -> None:
        """Rewrite the file with its rows in ``key`` order (results arrive in completion order;
        sorting them makes a parallel run's file identical to a serial one's)."""
        self.close()
        rows = self.rows()
        if self.header is None:
            return
        with self.path.open(newline="", encoding="utf-8") as f:
            raw = f.read().splitlines(keepends=True)
        body = sorted(zip(rows, raw[1:], strict=True), key=lambda pair: key(pair[0]))
        write_text(self.path, raw[0] + "".join(line for _, line in body))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self._writer = None
