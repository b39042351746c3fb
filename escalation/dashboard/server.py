"""The interactive page of the model: ``escalation dashboard``.

A small web app on the standard library's HTTP server. The page (plain HTML, JavaScript and CSS
in ``static/``, no external assets) lets one choose a scenario, move sliders over the
main deterrence and incentive parameters and run an ensemble; it shows the simulated monthly
tempo with its band against the historical record (through the plugin overlay), the event log of
one run, and the paired differences from the unmodified scenario on the same seeds.

Ensembles run in one background thread (itself using worker processes), so the page stays
responsive: it polls ``/api/status`` for progress. A new run request supersedes the one in
flight (that one is cancelled), so at most one ensemble runs at a time. Settings are validated
against the scenario schema before anything runs; a mistake comes back as the one-paragraph
message of :class:`~escalation.errors.UserError`.

JSON endpoints: ``GET /api/config``, ``GET /api/scenario?id=NAME``, ``POST /api/run``,
``POST /api/cancel``, ``GET /api/status``, ``GET /api/result``, ``GET /api/tempo.png``.
"""

from __future__ import annotations

import io
import json
import shlex
import signal
import sys
import threading
import time
import traceback
import webbrowser
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd

from escalation.errors import UserError
from escalation.scenario import schema as C

MAX_REPLICATES = 500
HOLD_EVENT = "biden_doctrine"
TEMPO_DPI = 100
DIFF_METRICS = ("attacks_on_us", "us_wounded", "us_strikes", "truce_days", "attacks")
CARD_METRICS = (
    ("attacks_on_us", "attacks on US targets"),
    ("us_wounded", "US wounded"),
    ("retaliations", "US strikes"),
    ("truce_days", "days under truce"),
)
STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}
"""The page's files (in ``static/``) by the path they are served at."""
RUN_TO_PERIOD_METRIC = {"retaliations": "us_strikes"}
EVENT_COLUMNS = (
    "date", "actor", "action", "target", "weapon", "size", "claim", "intercepted", "us_wounded",
    "us_killed", "detail",
)  # fmt: skip


@dataclass(frozen=True)
class Param:
    """A scenario value the page offers as a control."""

    key: str
    label: str
    group: str
    kind: str  # "number" (slider and box), "choice" (menu) or "flag" (checkbox)
    help: str
    choices: tuple[str, ...] = ()
    low: float = 0.0
    high: float = 1.0
    step: float = 0.1


PARAMS: tuple[Param, ...] = (
    Param("us.doctrine.trigger", "Retaliation trigger", "US doctrine", "choice",
          "What makes the US retaliate: never, US casualties, US deaths, a count of attacks "
          "in a window, or every attack.",
          choices=("never", "casualties", "killed", "attacks", "every_attack")),
    Param("us.doctrine.severity", "Strike severity", "US doctrine", "number",
          "Strength of a US strike (stocks destroyed, revenge and fear raised).",
          low=0.1, high=3.0, step=0.1),
    Param("us.doctrine.delay_days", "Delay (days)", "US doctrine", "number",
          "Days from the trigger to the strike.", low=0, high=30, step=1),
    Param("us.doctrine.theatre", "Theatre", "US doctrine", "choice",
          "Where strikes land: in Iraq, in Syria, on leaders, or in Iran.",
          choices=("iraq", "syria", "leadership", "iran")),
    Param("us.doctrine.resolve", "Resolve", "US doctrine", "number",
          "Baseline utility of retaliating once triggered (logit against not).",
          low=-3.0, high=3.0, step=0.1),
    Param("us.posture.force_protection", "Force protection", "US posture", "number",
          "Share of casualties avoided by bunkers, warning and dispersal.",
          low=0.0, high=1.0, step=0.05),
    Param("us.posture.air_defence", "Air defence", "US posture", "number",
          "Air and rocket defence level at defended targets.", low=0.0, high=1.0, step=0.05),
    Param("deniability.facades", "Facade brands", "Militias", "flag",
          "Militias can claim attacks under facade brands (deniability)."),
    Param("militia_defaults.weights.fear", "Fear of retaliation", "Militias", "number",
          "Weight of the fear of US retaliation in every militia's choice.",
          low=0.0, high=3.0, step=0.1),
    Param("militia_defaults.weights.revenge", "Revenge", "Militias", "number",
          "Weight of revenge for US strikes.", low=0.0, high=3.0, step=0.1),
    Param("militia_defaults.weights.rivalry", "Rivalry (outbidding)", "Militias", "number",
          "Weight of outbidding rival militias.", low=0.0, high=3.0, step=0.1),
)  # fmt: skip
PARAM_KEYS = {p.key: p for p in PARAMS}


class Cancelled(Exception):
    """Raised inside a run's progress callback to stop a superseded or cancelled ensemble."""


# --------------------------------------------------------------------------- scenarios


def scenario_value(scenario: C.Scenario, key: str) -> Any:
    """The value of a dotted key path in a resolved scenario.

    ``militia_defaults.*`` keys are merged into every militia when a scenario is loaded, so
    their value is read from the first militia.
    """
    parts = key.split(".")
    if parts[0] == "militia_defaults":
        militias = list(scenario.militias.values())
        if not militias:
            return None
        node: Any = militias[0]
        parts = parts[1:]
    else:
        node = scenario
    for part in parts:
        node = node.get(part) if isinstance(node, Mapping) else getattr(node, part, None)
    return node


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
        self._cache: dict[str, tuple[tuple, C.Scenario]] = {}
        self._records: dict[str, tuple[tuple, tuple[Any, list[Any]]]] = {}
        if not self.ids():
            raise UserError(f"{folder}: no scenario files (*.yaml) in this folder")

    def ids(self) -> list[str]:
        """Scenario ids (file stems), the baseline first."""
        names = sorted(p.stem for p in self.folder.glob("*.yaml"))
        return sorted(names, key=lambda n: n != "baseline")

    def path(self, sid: str) -> Path:
        if sid not in self.ids():
            raise UserError(
                f"scenario {sid!r}: no such file in {self.folder}; expected one of: "
                + ", ".join(self.ids())
            )
        return self.folder / f"{sid}.yaml"

    @staticmethod
    def _signature(paths: list[Path]) -> tuple:
        out = []
        for p in paths:
            try:
                out.append((str(p), p.stat().st_mtime_ns))
            except OSError:
                out.append((str(p), None))
        return tuple(out)

    def signature(self, sid: str) -> tuple:
        """Paths and modification times of a loaded scenario's files (changes when edited)."""
        with self.lock:
            cached = self._cache.get(sid)
        return cached[0] if cached is not None else ()

    def load(self, sid: str) -> C.Scenario:
        """The scenario of a file (raises :class:`ScenarioError` on a mistake)."""
        from escalation.scenario.loading import load_scenario, provenance

        path = self.path(sid)
        with self.lock:
            cached = self._cache.get(sid)
            if cached is not None:
                sig, scenario = cached
                prov = provenance(scenario)
                if sig == self._signature(prov.files if prov else [path]):
                    return scenario
        scenario = load_scenario(path)
        prov = provenance(scenario)
        with self.lock:
            self._cache[sid] = (self._signature(prov.files if prov else [path]), scenario)
        return scenario

    def record(self, sid: str, scenario: C.Scenario) -> tuple[Any, list[Any]]:
        """The historical-record overlay (through the plugin, or None) and the periods to
        compare over (the record's phases, else years), cached per scenario and dates."""
        from escalation.record.overlap import comparison_periods
        from escalation.viz.tempo import record_overlay

        key = (scenario.start, scenario.end)
        with self.lock:
            cached = self._records.get(sid)
            if cached is not None and cached[0] == key:
                return cached[1]
        periods, _ = comparison_periods(scenario, None)
        periods = [p for p in periods if p.start <= scenario.end and p.end >= scenario.start]
        found = (record_overlay(scenario), periods)
        with self.lock:
            self._records[sid] = (key, found)
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
            "values": {p.key: scenario_value(scenario, p.key) for p in PARAMS},
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
            if key not in PARAM_KEYS:
                raise UserError(
                    f"{key}: not a parameter of this page; expected one of: "
                    + ", ".join(PARAM_KEYS)
                )
            if not _same(value, scenario_value(base, key)):
                overrides[key] = value
        if request.get("hold") and HOLD_EVENT in base.events:
            overrides[f"events.{HOLD_EVENT}"] = None
        variant = with_overrides(base, overrides) if overrides else base
        return Settings(sid, base, variant, overrides, replicates, seed, self.path(sid))


# --------------------------------------------------------------------------- results


def render_tempo(monthly: pd.DataFrame, scenario: C.Scenario, events: pd.DataFrame, record: Any):
    """The tempo figure (simulated against the record) as PNG bytes."""
    import matplotlib.pyplot as plt

    from escalation.viz.tempo import plot_tempo

    fig = plot_tempo(monthly, scenario, events=events, overlay=record)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=TEMPO_DPI)
    plt.close(fig)
    return buf.getvalue()


def event_table(events: pd.DataFrame, run: int = 0) -> dict[str, Any]:
    """One run's event log as JSON-ready columns and rows."""
    sub = events[events["run"] == run] if "run" in events else events
    sub = sub.copy()
    if "brand" in sub and "claim" in sub:
        branded = sub["brand"].fillna("").astype(str) != ""
        sub.loc[branded, "claim"] = sub.loc[branded, "claim"] + ": " + sub.loc[branded, "brand"]
    sub = sub[[c for c in EVENT_COLUMNS if c in sub.columns]]
    sub["date"] = pd.to_datetime(sub["date"]).dt.strftime("%Y-%m-%d")
    rows = json.loads(sub.to_json(orient="values"))
    return {"columns": list(sub.columns), "rows": rows}


def actor_labels(scenario: C.Scenario) -> dict[str, str]:
    labels = {"us": "US forces", "iran": "Iran", "iraq": "Iraqi government"}
    labels |= {"militias": "militias (truces)", "timeline": "timeline"}
    for mid, m in scenario.militias.items():
        labels[mid] = f"{mid}: {m.name}" if getattr(m, "name", None) else mid
    return labels


def summary_cards(runs: pd.DataFrame) -> list[dict[str, Any]]:
    """Median and 5-95% across runs of the headline totals."""
    out = []
    for col, label in CARD_METRICS:
        if col not in runs:
            continue
        v = runs[col].astype(float)
        out.append(
            {
                "metric": RUN_TO_PERIOD_METRIC.get(col, col),
                "label": label,
                "median": float(v.median()),
                "low": float(v.quantile(0.05)),
                "high": float(v.quantile(0.95)),
            }
        )
    return out


def differences_table(
    variant: pd.DataFrame, reference: pd.DataFrame, periods: list[Any], seed: int
) -> dict[str, Any]:
    """Paired differences (your settings minus the scenario) per period, as JSON-ready rows."""
    from escalation.experiments.compare import METRIC_LABELS, paired_differences

    metrics = pd.concat(
        [variant.assign(scenario="settings"), reference.assign(scenario="scenario")],
        ignore_index=True,
    )
    metrics = metrics[metrics["metric"].isin(DIFF_METRICS)]
    d = paired_differences(metrics, "scenario", seed=seed)
    cols = ["period", "metric", "reference_mean", "mean", "mean_difference", "ci_low", "ci_high"]
    cols += ["low", "high", "share_higher"]
    rows = json.loads(d[cols].to_json(orient="records"))
    names = [{"name": "overall", "label": "whole run"}]
    names += [{"name": p.name, "label": p.label or p.name, "start": str(p.start)} for p in periods]
    labels = {m: METRIC_LABELS.get(m, m.replace("_", " ")) for m in DIFF_METRICS}
    return {"periods": names, "metrics": list(DIFF_METRICS), "labels": labels, "rows": rows}


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
        self._references: OrderedDict[tuple, pd.DataFrame] = OrderedDict()
        self.worker = threading.Thread(target=self._work, name="ensemble-worker", daemon=True)
        self.worker.start()

    # ----------------------------------------------------------------------- requests

    def config(self) -> dict[str, Any]:
        """Controls and scenario list for the page."""
        ids = self.library.ids()
        return {
            "scenarios": ids,
            "default_scenario": ids[0],
            "params": [p.__dict__ for p in PARAMS],
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

    def _work(self) -> None:
        while True:
            with self.cond:
                while self.pending is None and not self.closed:
                    self.cond.wait()
                if self.closed:
                    return
                job, self.pending = self.pending, None
                self.current = job
                self._set(state="running", job=job.id, stage="starting", done=0, error=None,
                          message="starting")  # fmt: skip
            try:
                self._execute(job)
            except Cancelled:
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
        ref_key = (s.scenario_id, self.library.signature(s.scenario_id), n, s.seed)
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
        )
        self._stage(job, "drawing", "drawing the tempo")
        events = ens.events
        png = render_tempo(ens.monthly, s.variant, events, record)
        mine = period_metrics(events, s.variant, periods)
        info: dict[str, Any] = {
            "job": job.id,
            "scenario": s.scenario_id,
            "name": s.variant.name,
            "file": str(s.path),
            "overrides": s.overrides,
            "command": s.command(),
            "replicates": n,
            "seed": s.seed,
            "first_seed": str(ens.seeds[0]) if ens.seeds else None,
            "record": record is not None,
            "cards": summary_cards(ens.runs),
            "events": event_table(events, 0),
            "actors": actor_labels(s.variant),
            "differences": None,
            "complete": False,
        }
        if need_reference:
            self._publish(job, info, png, complete=False)
            self._stage(job, "reference", "running the unmodified scenario on the same seeds")
            base = run_ensemble(s.base, n, s.seed, jobs=self.jobs, progress=self._progress(job))
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

    def _remember(self, key: tuple, reference: pd.DataFrame) -> None:
        with self.cond:
            self._references[key] = reference
            self._references.move_to_end(key)
            while len(self._references) > 8:
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


# --------------------------------------------------------------------------- HTTP


class Handler(BaseHTTPRequestHandler):
    """Routes of the page and its JSON API."""

    server: DashboardServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the page polls
        pass

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: Any, status: int = 200) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _error(self, message: str, status: int = 400) -> None:
        self._json({"error": message}, status)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        dash = self.server.dashboard
        try:
            if url.path in STATIC:
                name, ctype = STATIC[url.path]
                self._send(
                    200, (resources.files(__package__) / "static" / name).read_bytes(), ctype
                )
            elif url.path == "/api/config":
                self._json(dash.config())
            elif url.path == "/api/scenario":
                self._json(dash.library.describe(query.get("id", "")))
            elif url.path == "/api/status":
                self._json(dash.status())
            elif url.path == "/api/result":
                result = dash.result
                if result is None:
                    self._error("no result yet: run an ensemble first", 404)
                else:
                    self._json(result.info)
            elif url.path == "/api/tempo.png":
                result = dash.result
                if result is None:
                    self._error("no result yet: run an ensemble first", 404)
                else:
                    self._send(200, result.png, "image/png")
            elif url.path == "/favicon.ico":
                self._send(204, b"", "image/x-icon")
            else:
                self._error(f"{url.path}: no such page", 404)
        except UserError as exc:
            self._error(str(exc))
        except Exception as exc:  # pragma: no cover - a bug; keep serving
            traceback.print_exc()
            self._error(f"internal error: {type(exc).__name__}: {exc}", 500)

    do_HEAD = do_GET

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        dash = self.server.dashboard
        try:
            # JSON only: a page from another site cannot send that without the browser asking
            # first (a CORS preflight, which this server never grants).
            if self.headers.get_content_type() != "application/json":
                raise UserError("request: expected JSON (Content-Type: application/json)")
            length = int(self.headers.get("Content-Length") or 0)
            if length > 1_000_000:
                raise UserError("request too large")
            raw = self.rfile.read(length) if length else b"{}"
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError as exc:
                raise UserError(f"request: expected JSON ({exc})") from None
            if not isinstance(body, dict):
                raise UserError("request: expected a JSON object")
            if url.path == "/api/run":
                self._json({"job": dash.submit(body)})
            elif url.path == "/api/cancel":
                self._json({"cancelled": dash.cancel()})
            else:
                self._error(f"{url.path}: no such action", 404)
        except UserError as exc:
            self._error(str(exc))
        except Exception as exc:  # pragma: no cover - a bug; keep serving
            traceback.print_exc()
            self._error(f"internal error: {type(exc).__name__}: {exc}", 500)


class DashboardServer(ThreadingHTTPServer):
    """A threading HTTP server that holds the dashboard state."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], dashboard: Dashboard) -> None:
        self.dashboard = dashboard
        super().__init__(address, Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = host if host not in ("0.0.0.0", "") else "127.0.0.1"
        return f"http://{shown}:{port}/"


def make_server(
    host: str = "127.0.0.1",
    port: int = 8521,
    *,
    scenarios: str | Path = "scenarios",
    replicates: int = 20,
    seed: int = 0,
    jobs: int | None = None,
) -> DashboardServer:
    """A dashboard server bound to ``host:port`` (port 0 picks a free one); not yet serving."""
    dashboard = Dashboard(Path(scenarios), replicates=replicates, seed=seed, jobs=jobs)
    try:
        return DashboardServer((host, port), dashboard)
    except OSError as exc:
        dashboard.close()
        raise UserError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another port "
            "with --port (0 picks a free one)"
        ) from None


def serve(
    host: str = "127.0.0.1",
    port: int = 8521,
    *,
    scenarios: str | Path = "scenarios",
    replicates: int = 20,
    seed: int = 0,
    jobs: int | None = None,
    open_browser: bool = True,
) -> int:
    """Serve the dashboard until interrupted (Ctrl-C or SIGTERM)."""
    server = make_server(
        host, port, scenarios=scenarios, replicates=replicates, seed=seed, jobs=jobs
    )

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
    print(f"escalation dashboard at {server.url} (Ctrl-C to stop)", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"note: listening on {host}: other machines can reach this page", file=sys.stderr)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(server.url,)).start()
    try:
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        print("dashboard stopped", flush=True)
    finally:
        server.server_close()
        server.dashboard.close()
    return 0
