"""Where runs execute: local processes (all cores by default) or a Dask cluster.

Both executors take a function and an iterable of tasks and yield ``(index, result)`` pairs as
runs finish, keeping at most a bounded number of tasks in flight so memory stays flat however
long the sweep. Results depend only on each task (its seed), never on the executor.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import multiprocessing as mp
import os
import pickle
import signal
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol

from escalation.errors import UserError
from escalation.files import close_inherited_locks

PR_SET_PDEATHSIG = 1
"""prctl(2) option: the signal a process gets when its parent dies (Linux)."""

CANCEL_POLL_SECONDS = 0.2
"""How often a pool waiting for results looks at its cancel flag."""


class RunsCancelled(Exception):
    """The runs were cancelled (their cancel flag was set) before they finished."""


#: Objects a worker process has already unpickled, by content digest (most recent last).
_RECEIVED: OrderedDict[bytes, Any] = OrderedDict()
_RECEIVED_MAX = 8


class Shared[T]:
    """A large input common to many tasks (a scenario, a simulator), pickled once by the sender
    and unpickled once per worker process instead of once per task.

    Tasks carry its pickled bytes and their digest; a worker keeps the last few objects it
    unpickled by digest, so the identical object is rebuilt at most once per process. The
    object must not be changed by the tasks that use it (a run leaves its scenario as it was).
    """

    __slots__ = ("_data", "_key", "_obj")

    def __init__(self, obj: T) -> None:
        self._obj: T | None = obj
        self._data: bytes | None = None
        self._key: bytes | None = None

    def _pack(self) -> None:
        if self._data is None:
            self._data = pickle.dumps(self._obj, protocol=pickle.HIGHEST_PROTOCOL)
            self._key = hashlib.blake2b(self._data, digest_size=16).digest()

    @property
    def key(self) -> bytes:
        """A digest of the object's content."""
        self._pack()
        assert self._key is not None
        return self._key

    def __getstate__(self) -> tuple[bytes, bytes]:
        self._pack()
        assert self._data is not None and self._key is not None
        return self._key, self._data

    def __setstate__(self, state: tuple[bytes, bytes]) -> None:
        self._key, self._data = state
        self._obj = None

    def get(self) -> T:
        """The object (unpickled on first use in this process)."""
        if self._obj is None:
            assert self._key is not None and self._data is not None
            obj = _RECEIVED.get(self._key)
            if obj is None:
                obj = pickle.loads(self._data)
                _RECEIVED[self._key] = obj
                if len(_RECEIVED) > _RECEIVED_MAX:
                    _RECEIVED.popitem(last=False)
            else:
                _RECEIVED.move_to_end(self._key)
            self._obj = obj
        return self._obj


def default_jobs() -> int:
    """All local cores (respecting CPU affinity)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class Executor(Protocol):
    """Runs ``fn`` over tasks, yielding (task index, result) as results arrive."""

    workers: int

    def imap(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[tuple[int, Any]]: ...

    def close(self) -> None: ...


class SerialExecutor:
    """Runs tasks one after another in this process."""

    workers = 1

    def imap(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[tuple[int, Any]]:
        for i, task in enumerate(tasks):
            yield i, fn(task)

    def close(self) -> None:
        pass


def die_with_parent(parent: int) -> None:
    """Initializer of a worker process: make it end when ``parent`` (the process that started
    the pool) ends, even by SIGKILL, instead of running on as an orphan.

    Linux delivers SIGKILL to the worker when its parent dies (``PR_SET_PDEATHSIG``); elsewhere
    a thread watches for the parent to go. The worker also lets go of the output-folder locks it
    inherited, so that only its parent holds them.
    """
    close_inherited_locks()
    armed = False
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    if not armed:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


class LocalExecutor:
    """A pool of local worker processes (forked: scripts and notebooks need no main guard).

    When the runs stop early (an error, Ctrl-C, or ``cancel`` set while waiting) the workers
    are killed rather than waited for, so a run that would never end cannot hold them.
    """

    def __init__(
        self,
        jobs: int | None = None,
        in_flight_per_worker: int = 4,
        cancel: threading.Event | None = None,
    ) -> None:
        self.workers = default_jobs() if jobs is None else max(1, jobs)
        self.limit = self.workers * in_flight_per_worker
        self.cancel = cancel
        self.aborted = False
        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
        self.pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=ctx,
            initializer=die_with_parent,
            initargs=(os.getpid(),),
        )

    def imap(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[tuple[int, Any]]:
        it = enumerate(tasks)
        running: dict[Future, int] = {}
        poll = CANCEL_POLL_SECONDS if self.cancel is not None else None
        finished = False
        try:
            for i, task in it:
                running[self.pool.submit(fn, task)] = i
                if len(running) >= self.limit:
                    break
            while running:
                done, _ = wait(running, timeout=poll, return_when=FIRST_COMPLETED)
                if self.cancel is not None and self.cancel.is_set():
                    raise RunsCancelled
                for fut in done:
                    i = running.pop(fut)
                    yield i, fut.result()
                for i, task in it:
                    running[self.pool.submit(fn, task)] = i
                    if len(running) >= self.limit:
                        break
            finished = True
        finally:
            for fut in running:
                fut.cancel()
            if not finished:
                self.abort()

    def abort(self) -> None:
        """Kill the workers (whatever they are running) and shut the pool down."""
        self.aborted = True
        processes = list((getattr(self.pool, "_processes", None) or {}).values())
        for process in processes:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                process.kill()
        self.pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        if not self.aborted:
            self.pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Tasks on a Dask distributed cluster (``address`` of its scheduler)."""

    def __init__(self, address: str, in_flight_per_worker: int = 4) -> None:
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover
            raise UserError(
                "--scheduler needs the 'distributed' package; install it with "
                "pip install 'dask[distributed]'"
            ) from None
        try:
            self.client = Client(address, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise UserError(
                f"cannot reach the Dask scheduler at {address} ({exc}); expected the address of "
                "a running scheduler, e.g. tcp://127.0.0.1:8786"
            ) from None
        self.workers = max(1, sum(self.client.nthreads().values()))
        self.limit = self.workers * in_flight_per_worker

    def imap(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[tuple[int, Any]]:
        from distributed import as_completed

        it = enumerate(tasks)
        index: dict[Any, int] = {}
        first = []
        for i, task in it:
            fut = self.client.submit(fn, task, pure=False)
            index[fut] = i
            first.append(fut)
            if len(first) >= self.limit:
                break
        queue = as_completed(first)
        try:
            for fut in queue:
                i = index.pop(fut)
                result = fut.result()
                fut.release()
                yield i, result
                for j, task in it:
                    new = self.client.submit(fn, task, pure=False)
                    index[new] = j
                    queue.add(new)
                    break
        finally:
            for fut in index:
                fut.cancel()

    def close(self) -> None:
        self.client.close()


def make_executor(
    jobs: int | None = None,
    scheduler: str | None = None,
    cancel: threading.Event | None = None,
) -> Executor:
    """A Dask executor if ``scheduler`` is given, else local processes (serial for one job,
    unless the runs can be cancelled: only a worker process can be stopped mid-run)."""
    if scheduler:
        return DaskExecutor(scheduler)
    if jobs == 1 and cancel is None:
        return SerialExecutor()
    return LocalExecutor(jobs, cancel=cancel)
