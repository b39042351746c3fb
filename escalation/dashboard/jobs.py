"""Ensembles run for the page, one state per browser tab: its run in flight and latest result.

Each tab of the page sends a token (a random id it keeps while it is open) with every
request, and the server keeps a :class:`Tab` state for each: so one tab's run never replaces
another's, and a cancel in one tab stops only that tab's run. At most ``max_tabs`` are kept:
the one seen least recently is dropped first (its run cancelled), so memory stays bounded
however many tabs come and go. Requests without a token (scripts) share one state.

Ensembles run in one background thread (itself using worker processes on all cores), one at a
time in the order asked, so the page stays responsive and two tabs do not fight over the cores.
A tab's new request supersedes its own run in flight or waiting (that one is cancelled).
"""

from __future__ import annotations

import dataclasses
import re
import threading
import time
import traceback
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import pandas as pd

from escalation.dashboard.controls import DOCTRINE_GROUP, controls_json
from escalation.dashboard.library import (
    HOLD_OVERRIDE,
    MAX_REPLICATES,
    FileSignature,
    Library,
    Settings,
)
from escalation.dashboard.results import (
    differences_table,
    render_tempo,
    run_info,
    tempo_data,
)
from escalation.errors import UserError
from escalation.experiments.executors import RunsCancelled

if TYPE_CHECKING:
    from pathlib import Path

    from escalation.experiments.runner import Ensemble

KEPT_REFERENCES = 8
"""Period metrics of unmodified scenarios kept, so that moving a slider back and forth does not
rerun the scenario each time."""
MAX_TABS = 16
"""Tab states kept by default; the one seen least recently goes first."""
SHARED_TAB = "default"
"""The state of requests that send no token (shorter than any token a page may send)."""
TAB_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,64}")
DOWNLOADS = {
    "monthly.csv": "text/csv; charset=utf-8",
    "events.csv": "text/csv; charset=utf-8",
    "tempo.png": "image/png",
    "scenario.yaml": "application/yaml; charset=utf-8",
}
"""What a result offers for download, by name, with its content type."""


def tab_id(token: str | None) -> str:
    """A request's tab token, checked at the edge (none: the shared state of scripts)."""
    if not token:
        return SHARED_TAB
    if not TAB_TOKEN.fullmatch(token):
        shown = token if len(token) <= 80 else token[:80] + "..."
        raise UserError(f"tab: expected 8 to 64 letters, digits, '-' or '_', got {shown!r}")
    return token


class Cancelled(RunsCancelled):
    """Raised intokene a run's progress callback to stop a superseded or cancelled ensemble (the
    runs themselves raise :class:`RunsCancelled` when their cancel flag is set mid-run)."""


class ReferenceKey(NamedTuple):
    """What the unmodified scenario's runs depend on: its files, the number of runs, the seed."""

    scenario_id: str
    signature: FileSignature
    replicates: int
    seed: int


@dataclass
class Result:
    """What the page shows after a run, and what it offers for download (built on demand)."""

    job: int
    info: dict[str, Any]
    settings: Settings = field(repr=False)
    ensemble: Ensemble = field(repr=False)
    record: Any = field(repr=False)
    _png: bytes | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def png(self) -> bytes:
        """The tempo figure as the command line draws it (drawn once, when first asked)."""
        with self._lock:
            if self._png is None:
                ens = _kept(self.ensemble)  # tables built for this figure only
                self._png = render_tempo(ens.monthly, ens.scenario, ens.events, self.record)
            return self._png

    def download(self, name: str) -> tuple[bytes, str, str]:
        """A download by name (see :data:`DOWNLOADS`): its bytes, content type and file name.

        The tables are the command line's ``monthly.csv`` and ``events.csv`` of these runs; the
        scenario is :meth:`Settings.scenario_yaml`."""
        if name not in DOWNLOADS:
            raise UserError(f"download {name!r}: expected one of: {', '.join(DOWNLOADS)}")
        if name == "monthly.csv":  # tables built for this download only (see _kept)
            body = _kept(self.ensemble).monthly.to_csv(index=False).encode()
        elif name == "events.csv":
            body = _kept(self.ensemble).events.to_csv(index=False).encode()
        elif name == "tempo.png":
            body = self.png()
        else:
            body = self.settings.scenario_yaml().encode()
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", self.settings.scenario_id)
        return body, DOWNLOADS[name], f"{stem}-{self.job}-{name}"


def _kept(ensemble: Ensemble) -> Ensemble:
    """The ensemble as a result keeps it: the runs' records without the tables built from them
    (a run caches its tables once read), so a kept result costs a fraction of its tables' memory.
    Downloads read the tables of a fresh copy, which goes when the download is sent."""
    runs = [dataclasses.replace(r) for r in ensemble.results]
    return dataclasses.replace(ensemble, results=runs)


def _idle() -> dict[str, Any]:
    return {"state": "idle", "job": None, "stage": "", "done": 0, "total": 0, "error": None,
            "message": ""}  # fmt: skip


@dataclass
class Tab:
    """One tab's state: its queued and running request, progress and latest result."""

    id: str
    state: dict[str, Any] = field(default_factory=_idle)
    pending: Job | None = None
    current: Job | None = None
    result: Result | None = None

    def set(self, **changes: Any) -> None:
        self.state = {**self.state, **changes}


@dataclass
class Job:
    """One run request, the tab it belongs to and its cancel flag."""

    id: int
    settings: Settings
    tab: Tab = field(repr=False)
    cancel: threading.Event = field(default_factory=threading.Event)
    superseded: bool = False


class Dashboard:
    """The page's state: a scenario library, one background worker, a state per tab."""

    def __init__(
        self,
        scenarios: Path,
        *,
        replicates: int = 20,
        seed: int = 0,
        jobs: int | None = None,
        max_tabs: int = MAX_TABS,
    ) -> None:
        if max_tabs < 1:
            raise UserError(f"tabs: expected 1 or more states to keep, got {max_tabs}")
        self.library = Library(scenarios)
        self.replicates = replicates
        self.seed = seed
        self.jobs = jobs
        self.max_tabs = max_tabs
        self.cond = threading.Condition()
        self.tabs: OrderedDict[str, Tab] = OrderedDict()
        self.queue: deque[Job] = deque()
        self.running: Job | None = None
        self.next_id = 1
        self.closed = False
        self._references: OrderedDict[ReferenceKey, pd.DataFrame] = OrderedDict()
        self.worker = threading.Thread(target=self._work, name="ensemble-worker", daemon=True)
        self.worker.start()

    # ----------------------------------------------------------------------- tabs

    def _tab(self, token: str) -> Tab:
        """The tab of a token (new if unknown), marked as just seen; the caller holds the
        lock. Beyond ``max_tabs`` the least recently seen is dropped and its run stopped."""
        found = self.tabs.get(token)
        if found is None:
            found = self.tabs[token] = Tab(token)
        self.tabs.move_to_end(token)
        while len(self.tabs) > self.max_tabs:
            _, dropped = self.tabs.popitem(last=False)
            self._stop(dropped)
        return found

    def _stop(self, tab: Tab) -> bool:
        """Withdraw a tab's waiting request and cancel its running one; False if it had
        neither. The caller holds the lock."""
        found = False
        if tab.pending is not None:
            tab.pending.superseded = True
            self.queue.remove(tab.pending)
            tab.pending = None
            found = True
        if tab.current is not None:
            tab.current.cancel.set()
            found = True
        return found

    # ----------------------------------------------------------------------- requests

    def config(self) -> dict[str, Any]:
        """Controls and scenario list for the page."""
        ids = self.library.ids()
        return {
            "scenarios": ids,
            "default_scenario": ids[0],
            "params": controls_json(),
            "hold_group": DOCTRINE_GROUP,
            "hold_override": HOLD_OVERRIDE,
            "replicates": self.replicates,
            "seed": self.seed,
            "max_replicates": MAX_REPLICATES,
            "downloads": list(DOWNLOADS),
        }

    def submit(self, token: str, request: Mapping[str, Any]) -> int:
        """Validate and queue a tab's run; its own run in flight or waiting is cancelled
        (the newest request wins), other tabs' runs are not touched."""
        settings = self.library.settings(request)
        with self.cond:
            tab = self._tab(token)
            waiting_for_own = tab.current is not None
            self._stop(tab)
            if tab.current is not None:
                tab.current.superseded = True
            job = Job(self.next_id, settings, tab)
            self.next_id += 1
            tab.pending = job
            self.queue.append(job)
            tab.set(state="running", job=job.id, stage="queued", done=0,
                        total=settings.replicates, error=None,
                        message="waiting for the previous run to stop" if waiting_for_own
                        else "starting")  # fmt: skip
            self.cond.notify_all()
        return job.id

    def cancel(self, token: str) -> bool:
        """Cancel a tab's run in flight (and its queued one); False if nothing was running."""
        with self.cond:
            tab = self._tab(token)
            found = self._stop(tab)
            if found and tab.current is None:
                tab.set(state="cancelled", stage="", message="cancelled")
            return found

    def status(self, token: str) -> dict[str, Any]:
        """Progress of a tab's run and the id of its latest result."""
        with self.cond:
            tab = self._tab(token)
            out = dict(tab.state)
            result = tab.result
            out["result"] = result.job if result else None
            out["complete"] = bool(result and result.info.get("complete"))
            job = tab.pending
            if job is not None and job in self.queue:
                other = self.running is not None and self.running.tab is not tab
                ahead = self.queue.index(job) + other
                if ahead:
                    out["message"] = f"waiting for {ahead} run{'s' * (ahead > 1)} of other pages"
            return out

    def result(self, token: str) -> Result | None:
        """A tab's latest result (None before its first)."""
        with self.cond:
            return self._tab(token).result

    def close(self) -> None:
        """Stop the worker (cancelling every run)."""
        with self.cond:
            self.closed = True
            for tab in self.tabs.values():
                self._stop(tab)
            self.cond.notify_all()
        self.worker.join(timeout=30)

    # ----------------------------------------------------------------------- the worker

    def _next(self) -> Job | None:
        """Wait for the next request (None once closed) and make it its tab's current job."""
        with self.cond:
            while not self.queue and not self.closed:
                self.cond.wait()
            if self.closed:
                return None
            job = self.queue.popleft()
            tab = job.tab
            tab.pending = None
            tab.current = self.running = job
            tab.set(state="running", job=job.id, stage="starting", done=0, error=None,
                        message="starting")  # fmt: skip
            return job

    def _work(self) -> None:
        while (job := self._next()) is not None:
            tab = job.tab
            try:
                self._execute(job)
            except RunsCancelled:
                with self.cond:
                    if not job.superseded and tab.pending is None:
                        tab.set(state="cancelled", stage="", message="cancelled")
            except UserError as exc:
                with self.cond:
                    tab.set(state="error", stage="", error=str(exc), message="failed")
            except Exception as exc:  # a bug, not the user's: say so, keep serving
                traceback.print_exc()
                with self.cond:
                    tab.set(state="error", stage="", message="failed",
                                error=f"the run failed: {type(exc).__name__}: {exc}")  # fmt: skip
            finally:
                with self.cond:
                    tab.current = self.running = None

    def _progress(self, job: Job) -> Callable[[Any], None]:
        def tick(_: Any) -> None:
            with self.cond:
                if job.cancel.is_set():
                    raise Cancelled
                state = job.tab.state
                state["done"] = state.get("done", 0) + 1

        return tick

    def _stage(self, job: Job, stage: str, message: str, total: int | None = None) -> None:
        with self.cond:
            if job.cancel.is_set():
                raise Cancelled
            job.tab.set(stage=stage, message=message)
            if total is not None:
                job.tab.set(total=total)

    def _execute(self, job: Job) -> None:
        from escalation.experiments.runner import run_ensemble
        from escalation.observe.periods import period_metrics

        s = job.settings
        t0 = time.perf_counter()
        n = s.replicates
        ref_key = ReferenceKey(s.scenario_id, self.library.signature(s.scenario_id), n, s.seed)
        with self.cond:
            need_reference = bool(s.overrides) and ref_key not in self._references
        total = n * (2 if need_reference else 1)
        what = "your settings" if s.overrides else "the scenario"
        self._stage(job, "variant", f"running {what}", total)
        record, periods = self.library.record(s.scenario_id, s.base)
        ens = run_ensemble(
            s.variant,
            n,
            s.seed,
            jobs=self.jobs,
            series=record.series() if record is not None else None,
            progress=self._progress(job),
            cancel=job.cancel,
        )
        self._stage(job, "drawing", "drawing the tempo")
        events = ens.events
        mine = period_metrics(events, s.variant, periods)
        info = run_info(job.id, s, ens, events, record is not None)
        info["tempo"] = tempo_data(ens.monthly, s.variant, events, record)
        result = Result(job.id, info, s, _kept(ens), record)
        if need_reference:
            self._publish(job, result, complete=False)
            self._stage(job, "reference", "running the unmodified scenario on the same seeds")
            base = run_ensemble(
                s.base, n, s.seed, jobs=self.jobs, progress=self._progress(job), cancel=job.cancel
            )
            reference = period_metrics(base.events, s.base, periods)
        elif s.overrides:
            with self.cond:
                reference = self._references[ref_key]
        else:
            reference = mine
        self._remember(ref_key, reference)
        info["differences"] = differences_table(mine, reference, periods, s.seed)
        info["identical"] = not s.overrides
        info["elapsed"] = round(time.perf_counter() - t0, 2)
        self._publish(job, result, complete=True)

    def _remember(self, key: ReferenceKey, reference: pd.DataFrame) -> None:
        with self.cond:
            self._references[key] = reference
            self._references.move_to_end(key)
            while len(self._references) > KEPT_REFERENCES:
                self._references.popitem(last=False)

    def _publish(self, job: Job, result: Result, complete: bool) -> None:
        with self.cond:
            if job.cancel.is_set():
                raise Cancelled
            tab = job.tab
            tab.result = dataclasses.replace(result, info={**result.info, "complete": complete})
            if complete:
                total = tab.state.get("total", 0)
                tab.set(state="done", stage="", done=total,
                            message=f"{total} runs in {result.info['elapsed']:.1f} s")  # fmt: skip
