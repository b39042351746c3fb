"""Ensembles run for the page: one background worker, the run in flight and the latest result.

Ensembles run in one background thread (itself using worker processes), so the page stays
responsive: it polls the status for progress. A new run request supersedes the one in flight
(that one is cancelled), so at most one ensemble runs at a time.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from escalation.dashboard.controls import DOCTRINE_GROUP, controls_json
from escalation.dashboard.library import (
    HOLD_OVERRIDE,
    MAX_REPLICATES,
    FileSignature,
    Library,
    Settings,
)
from escalation.dashboard.results import differences_table, render_tempo, run_info
from escalation.errors import UserError
from escalation.experiments.executors import RunsCancelled

KEPT_REFERENCES = 8
"""Period metrics of unmodified scenarios kept, so that moving a slider back and forth does not
rerun the scenario each time."""


class Cancelled(RunsCancelled):
    """Raised inside a run's progress callback to stop a superseded or cancelled ensemble (the
    runs themselves raise :class:`RunsCancelled` when their cancel flag is set mid-run)."""


class ReferenceKey(NamedTuple):
    """What the unmodified scenario's runs depend on: its files, the number of runs, the seed."""

    scenario_id: str
    signature: FileSignature
    replicates: int
    seed: int


@dataclass
class Result:
    """What the page shows after a run (``png`` is served separately)."""

    job: int
    info: dict[str, Any]
    png: bytes = field(repr=False)


@dataclass
class Job:
    """One run request and its cancel flag."""

    id: int
    settings: Settings
    cancel: threading.Event = field(default_factory=threading.Event)
    superseded: bool = False


class Dashboard:
    """The page's state: a scenario library, one background worker, the latest result."""

    def __init__(
        self,
        scenarios: Path,
        *,
        replicates: int = 20,
        seed: int = 0,
        jobs: int | None = None,
    ) -> None:
        self.library = Library(scenarios)
        self.replicates = replicates
        self.seed = seed
        self.jobs = jobs
        self.cond = threading.Condition()
        self.pending: Job | None = None
        self.current: Job | None = None
        self.result: Result | None = None
        self.next_id = 1
        self.closed = False
        self.state: dict[str, Any] = {"state": "idle", "job": None, "stage": "", "done": 0,
                                      "total": 0, "error": None, "message": ""}  # fmt: skip
        self._references: OrderedDict[ReferenceKey, pd.DataFrame] = OrderedDict()
        self.worker = threading.Thread(target=self._work, name="ensemble-worker", daemon=True)
        self.worker.start()

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
        }

    def submit(self, request: Mapping[str, Any]) -> int:
        """Validate and queue a run; a run in flight is cancelled (the newest request wins)."""
        settings = self.library.settings(request)
        with self.cond:
            job = Job(self.next_id, settings)
            self.next_id += 1
            if self.pending is not None:
                self.pending.superseded = True
            if self.current is not None:
                self.current.superseded = True
                self.current.cancel.set()
            self.pending = job
            self.state = {"state": "running", "job": job.id, "stage": "queued", "done": 0,
                          "total": settings.replicates, "error": None,
                          "message": "waiting for the previous run to stop"
                          if self.current is not None else "starting"}  # fmt: skip
            self.cond.notify_all()
        return job.id

    def cancel(self) -> bool:
        """Cancel the run in flight (and any queued one); False if nothing was running."""
        with self.cond:
            found = False
            if self.pending is not None:
                self.pending = None
                found = True
            if self.current is not None:
                self.current.cancel.set()
                found = True
            if found and self.current is None:
                self._set(state="cancelled", stage="", message="cancelled")
            return found

    def status(self) -> dict[str, Any]:
        """Progress of the current run and the id of the latest result."""
        with self.cond:
            out = dict(self.state)
            out["result"] = self.result.job if self.result else None
            out["complete"] = bool(self.result and self.result.info.get("complete"))
            return out

    def close(self) -> None:
        """Stop the worker (cancelling any run)."""
        with self.cond:
            self.closed = True
            self.pending = None
            if self.current is not None:
                self.current.cancel.set()
            self.cond.notify_all()
        self.worker.join(timeout=30)

    # ----------------------------------------------------------------------- the worker

    def _set(self, **changes: Any) -> None:
        self.state = {**self.state, **changes}

    def _next(self) -> Job | None:
        """Wait for the next request (None once closed) and make it the current job."""
        with self.cond:
            while self.pending is None and not self.closed:
                self.cond.wait()
            if self.closed or self.pending is None:  # the wait ends with one or the other
                return None
            job, self.pending = self.pending, None
            self.current = job
            self._set(state="running", job=job.id, stage="starting", done=0, error=None,
                      message="starting")  # fmt: skip
            return job

    def _work(self) -> None:
        while (job := self._next()) is not None:
            try:
                self._execute(job)
            except RunsCancelled:
                with self.cond:
                    if not job.superseded and self.pending is None:
                        self._set(state="cancelled", stage="", message="cancelled")
            except UserError as exc:
                with self.cond:
                    self._set(state="error", stage="", error=str(exc), message="failed")
            except Exception as exc:  # a bug, not the user's: say so, keep serving
                traceback.print_exc()
                with self.cond:
                    self._set(state="error", stage="", message="failed",
                              error=f"the run failed: {type(exc).__name__}: {exc}")  # fmt: skip
            finally:
                with self.cond:
                    self.current = None

    def _progress(self, job: Job) -> Callable[[Any], None]:
        def tick(_: Any) -> None:
            with self.cond:
                if job.cancel.is_set():
                    raise Cancelled
                self.state["done"] = self.state.get("done", 0) + 1

        return tick

    def _stage(self, job: Job, stage: str, message: str, total: int | None = None) -> None:
        with self.cond:
            if job.cancel.is_set():
                raise Cancelled
            self._set(stage=stage, message=message)
            if total is not None:
                self._set(total=total)

    def _execute(self, job: Job) -> None:
        from escalation.experiments.runner import run_ensemble
        from escalation.observe.periods import period_metrics

        s = job.settings
        t0 = time.perf_counter()
        n = s.replicates
        ref_key = ReferenceKey(s.scenario_id, self.library.signature(s.scenario_id), n, s.seed)
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
        png = render_tempo(ens.monthly, s.variant, events, record)
        mine = period_metrics(events, s.variant, periods)
        info = run_info(job.id, s, ens, events, record is not None)
        if need_reference:
            self._publish(job, info, png, complete=False)
            self._stage(job, "reference", "running the unmodified scenario on the same seeds")
            base = run_ensemble(
                s.base, n, s.seed, jobs=self.jobs, progress=self._progress(job), cancel=job.cancel
            )
            reference = period_metrics(base.events, s.base, periods)
        elif s.overrides:
            reference = self._references[ref_key]
        else:
            reference = mine
        self._remember(ref_key, reference)
        info["differences"] = differences_table(mine, reference, periods, s.seed)
        info["identical"] = not s.overrides
        info["elapsed"] = round(time.perf_counter() - t0, 2)
        self._publish(job, info, png, complete=True)

    def _remember(self, key: ReferenceKey, reference: pd.DataFrame) -> None:
        with self.cond:
            self._references[key] = reference
            self._references.move_to_end(key)
            while len(self._references) > KEPT_REFERENCES:
                self._references.popitem(last=False)

    def _publish(self, job: Job, info: dict[str, Any], png: bytes, complete: bool) -> None:
        with self.cond:
            if job.cancel.is_set():
                raise Cancelled
            self.result = Result(job.id, {**info, "complete": complete}, png)
            if complete:
                total = self.state.get("total", 0)
                self._set(state="done", stage="", done=total,
                          message=f"{total} runs in {info['elapsed']:.1f} s")  # fmt: skip
