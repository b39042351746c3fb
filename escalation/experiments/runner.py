"""The one run function, and ensembles of it on all local cores.

Everything that explores the model (ensembles, comparisons, sweeps, calibration) goes through
:func:`run`: a scenario and a seed in, a :class:`RunResult` out. Ensembles draw independent seeds
from one master seed with ``numpy.random.SeedSequence``, so a replicate's result depends only on
its own seed, never on how many processes ran the ensemble.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from escalation.experiments.executors import Shared, make_executor
from escalation.model.log import LOG_COLUMNS, LogRecord, as_records
from escalation.model.militia import Militia
from escalation.model.model import EscalationModel
from escalation.observe.periods import truce_days_on
from escalation.observe.series import EventColumns, builtin_series, observe, to_monthly
from escalation.scenario import schema as C
from escalation.seeds import spawn_seeds


@dataclass(eq=False)
class RunResult:
    """What one run yields.

    The event log and the monthly table are kept as the model's records and an array, and
    become tables when first read: a run travels between processes small, and work that keeps
    only the summary (sweeps, calibration) never builds them.
    """

    scenario: str
    run: int
    seed: int
    log: list[LogRecord] = field(repr=False)
    """The model's event records, one per action (fields ``LOG_COLUMNS``)."""
    start: dt.date = field(repr=False)
    """The scenario's first day (day 0 of the log)."""
    monthly_values: np.ndarray | None = field(repr=False)
    """Observed values per month and series, shape (months, series); None if not kept."""
    months: list[str] = field(repr=False)
    """Month labels (YYYY-MM) of ``monthly_values``' rows."""
    series_names: list[str] = field(repr=False)
    """Series names of ``monthly_values``' columns."""
    summary: dict[str, Any] = field(repr=False)
    """Run totals (one row of the runs table)."""
    daily: pd.DataFrame | None = field(default=None, repr=False)
    """Daily state of the actors, one row per step (None unless requested)."""
    daily_series: np.ndarray | None = field(default=None, repr=False)
    """Daily observed values, shape (days, series), when requested."""

    @functools.cached_property
    def events(self) -> pd.DataFrame:
        """The event log: one row per action (see ``LOG_COLUMNS``), with its date."""
        return log_frame(self.log, self.start)

    @functools.cached_property
    def monthly(self) -> pd.DataFrame:
        """Tidy monthly observed series: month, series, value (empty if not kept)."""
        if self.monthly_values is None:
            return pd.DataFrame({"month": [], "series": [], "value": []})
        names, months = self.series_names, self.months
        return pd.DataFrame(
            {
                "month": np.repeat(months, len(names)),
                "series": np.tile(names, len(months)),
                "value": self.monthly_values.ravel(),
            }
        )

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("events", None)  # tables are rebuilt on demand, not shipped
        state.pop("monthly", None)
        state["log"] = [tuple(record) for record in self.log]  # see as_records
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state["log"] = as_records(state["log"])
        self.__dict__.update(state)


def all_series(
    scenario: C.Scenario, extra: Mapping[str, C.SeriesSpec] | None = None
) -> dict[str, C.SeriesSpec]:
    """Built-in series, then the scenario's own, then ``extra`` (later names win)."""
    out = builtin_series(scenario)
    out.update(scenario.series)
    if extra:
        out.update(extra)
    return out


def run(
    scenario: C.Scenario,
    seed: int,
    *,
    run_index: int = 0,
    series: Mapping[str, C.SeriesSpec] | None = None,
    daily: bool = False,
    daily_series: bool = False,
    tables: bool = True,
) -> RunResult:
    """Run the scenario once with ``seed``.

    Args:
        scenario: a validated scenario.
        seed: the run's seed (an int; see :func:`spawn_seeds`).
        run_index: replicate number recorded in the tables.
        series: observed series to report in addition to the built-in and scenario ones.
        daily: also return the actors' daily state.
        daily_series: also return the daily observed values (for day-precise statistics).
        tables: False to skip the monthly table (left empty) and observe only the series the
            summary needs, when only the summary is kept (sweeps); the summary is the same.
    """
    model = EscalationModel(scenario, seed=seed, collect=daily)
    model.run()
    columns = EventColumns.from_log(model.log, LOG_COLUMNS)
    specs = all_series(scenario, series)
    if not tables and not daily_series:
        specs = {"attacks_on_us": specs["attacks_on_us"]}  # each series draws its own stream
    values = observe(
        columns, specs, n_days=model.n_days, militias=set(model.militias), run_seed=seed
    )
    monthly_values, months = to_monthly(values, scenario.start)
    names = list(specs)
    return RunResult(
        scenario=scenario.name,
        run=run_index,
        seed=seed,
        log=model.log,
        start=model.start,
        monthly_values=monthly_values if tables else None,
        months=months,
        series_names=names,
        summary=summarise(model, columns, run_index, seed, monthly_values, names),
        daily=daily_state(model) if daily else None,
        daily_series=values if daily_series else None,
    )


def log_frame(log: list[LogRecord], start: dt.date) -> pd.DataFrame:
    """Log records as the event table, with a date column after the day."""
    frame = pd.DataFrame.from_records(log, columns=list(LOG_COLUMNS))
    frame.insert(1, "date", pd.Timestamp(start) + pd.to_timedelta(frame["day"], unit="D"))
    return frame


def daily_state(model: EscalationModel) -> pd.DataFrame:
    """Daily state: model reporters, plus militia reporters as ``<id>.<variable>`` columns."""
    dc = model.datacollector
    frame = dc.get_model_vars_dataframe().reset_index(drop=True)
    frame.insert(
        0, "date", pd.date_range(model.start, periods=len(frame), freq=f"{model.step_days}D")
    )
    militia_vars = dc.get_agenttype_vars_dataframe(Militia)
    if not militia_vars.empty:
        ids = {a.unique_id: a.mid for a in model.militias.values()}
        militia_vars = militia_vars.reset_index()
        militia_vars["mid"] = militia_vars["AgentID"].map(ids)
        wide = militia_vars.pivot(index="Step", columns="mid")
        wide = wide.drop(columns=["AgentID"], errors="ignore")
        wide.columns = [f"{mid}.{var}" for var, mid in wide.columns]
        wide = wide.reset_index(drop=True)
        frame = pd.concat([frame, wide.iloc[: len(frame)]], axis=1)
    return frame


def summarise(
    model: EscalationModel,
    events: EventColumns,
    run_index: int,
    seed: int,
    monthly_values: np.ndarray,
    names: list[str],
) -> dict[str, Any]:
    """Run totals: one row of the runs table."""
    attacks = events.eq("action", "attack")
    row: dict[str, Any] = {"scenario": model.cfg.name, "run": run_index, "seed": seed}
    row["attacks"] = int(attacks.sum())
    us_targets = [tid for tid, t in model.targets.items() if t.owner == "us"]
    row["attacks_on_us"] = int((attacks & events.isin("target", us_targets)).sum())
    for tid in model.targets:
        row[f"attacks_{tid}"] = int((attacks & events.eq("target", tid)).sum())
    row["us_wounded"] = int(model.us.wounded)
    row["us_killed"] = int(model.us.killed)
    row["other_killed"] = int(events.other_killed[attacks].sum())
    row["retaliations"] = int(model.us.strikes)
    us = events.eq("actor", "us")
    row["us_strikes"] = int(
        (us & (events.eq("action", "retaliate") | events.eq("action", "strike"))).sum()
    )
    row["iran_direct_strikes"] = int(model.iran.direct_strikes)
    row["truce_days"] = int(truce_days_on(events.cols["action"], events.day, model.n_days).sum())
    row["truces"] = int(events.eq("action", "truce_declare").sum())
    row["crackdowns"] = int(model.iraq.crackdowns)
    row["us_withdrawals"] = int((events.eq("actor", "us") & events.eq("action", "withdraw")).sum())
    row["final_us_sites"] = int(model.us.sites)
    row["final_us_troops"] = float(model.us.troops)
    row["final_us_mission"] = model.us.mission
    row["peak_war_fear"] = round(float(model.iran.peak_war_fear), 4)
    row["spiral"] = int(spiralled(model, events))
    j = names.index("attacks_on_us")
    row["peak_monthly_attacks_on_us"] = (
        float(monthly_values[:, j].max()) if len(monthly_values) else 0.0
    )
    return row


def spiralled(model: EscalationModel, events: EventColumns) -> bool:
    """Whether attacks on US targets rose despite repeated US strikes (``scenario.analysis``)."""
    a = model.cfg.analysis
    w = a.spiral_window_days
    n = model.n_days
    if n < 2 * w:
        return False
    attacks = np.zeros(n + 1)
    strikes = np.zeros(n + 1)
    us_targets = [t for t, c in model.targets.items() if c.owner == "us"]
    on_us = events.eq("action", "attack") & events.isin("target", us_targets)
    np.add.at(attacks, events.day[on_us] + 1, 1)
    hits = events.eq("action", "retaliate") & events.eq("actor", "us")
    np.add.at(strikes, events.day[hits] + 1, 1)
    ca, cs = np.cumsum(attacks), np.cumsum(strikes)
    end = np.arange(2 * w, n + 1)
    now = ca[end] - ca[end - w]
    before = ca[end - w] - ca[end - 2 * w]
    struck = cs[end] - cs[end - w]
    hit = (struck >= a.spiral_strikes) & (now >= a.spiral_min_attacks)
    hit &= now >= a.spiral_growth * before
    return bool(hit.any())


# --------------------------------------------------------------------------- ensembles


def run_task(
    args: tuple[Shared[C.Scenario], int, int, Mapping[str, C.SeriesSpec] | None, bool],
) -> RunResult:
    """One run of an ensemble (in a worker), from a task of :func:`ensemble_tasks`."""
    scenario, seed, index, series, daily = args
    return run(scenario.get(), seed, run_index=index, series=series, daily=daily)


def imap_runs(
    fn: Callable[[Any], Any],
    tasks: Iterable[Any],
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    cancel: threading.Event | None = None,
) -> Generator[tuple[int, Any], None, None]:
    """``(task index, fn(task))`` for every task as its run finishes (in completion order), on
    local processes (or a Dask cluster). Setting ``cancel`` stops the runs within a fraction of
    a second, raising :class:`~escalation.experiments.executors.RunsCancelled`."""
    tasks = list(tasks)
    executor = make_executor(1 if len(tasks) <= 1 else jobs, scheduler, cancel)
    try:
        yield from executor.imap(fn, tasks)
    finally:
        executor.close()


def map_runs(
    fn: Callable[[Any], Any],
    tasks: Iterable[Any],
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[Any], None] | None = None,
    cancel: threading.Event | None = None,
) -> list[Any]:
    """Apply ``fn`` to every task (see :func:`imap_runs`); results in task order.

    ``progress`` is called with each result as it completes (in completion order).
    """
    tasks = list(tasks)
    results: list[Any] = [None] * len(tasks)
    for i, result in imap_runs(fn, tasks, jobs=jobs, scheduler=scheduler, cancel=cancel):
        results[i] = result
        if progress:
            progress(result)
    return results


def ensemble_tasks(
    scenario: C.Scenario,
    seeds: list[int],
    series: Mapping[str, C.SeriesSpec] | None = None,
    daily: bool = False,
) -> list[tuple]:
    """The tasks of an ensemble's runs, for :func:`run_task` (the scenario is sent to each
    worker process once, not with every run)."""
    shared = Shared(scenario)
    return [(shared, s, i, series, daily) for i, s in enumerate(seeds)]


@dataclass
class Ensemble:
    """Replicates of one scenario."""

    scenario: C.Scenario
    master_seed: int
    seeds: list[int]
    results: list[RunResult] = field(repr=False)

    @property
    def runs(self) -> pd.DataFrame:
        """One row per run: seed and totals."""
        return pd.DataFrame([r.summary for r in self.results])

    @property
    def monthly(self) -> pd.DataFrame:
        """Tidy: run, month, series, value."""
        frames = [r.monthly.assign(run=r.run) for r in self.results]
        out = pd.concat(frames, ignore_index=True)
        return out[["run", "month", "series", "value"]]

    @property
    def events(self) -> pd.DataFrame:
        """Every run's event log, with a run column."""
        frames = [r.events.assign(run=r.run) for r in self.results]
        out = pd.concat(frames, ignore_index=True)
        return out[["run", *[c for c in out.columns if c != "run"]]]

    def band(self, series: str, quantiles: tuple[float, ...] = (0.05, 0.5, 0.95)) -> pd.DataFrame:
        """Per month, quantiles of ``series`` across runs (columns named by quantile)."""
        m = self.monthly
        wide = m[m["series"] == series].pivot(index="month", columns="run", values="value")
        return wide.quantile(list(quantiles), axis=1).T

    def to_xarray(self) -> Any:
        """The ensemble as an ``xarray.Dataset``: ``monthly`` over (run, month, series), the
        observed values (months as the first day of each month), and each total of the runs
        table over run; the scenario's name and the master seed as attributes.

        xarray is an optional extra (``pip install 'proxy-escalation[xarray]'``), imported here.
        """
        try:
            import xarray as xr
        except ImportError:
            raise ImportError(
                "Ensemble.to_xarray needs the optional package xarray; install it with "
                "pip install 'proxy-escalation[xarray]' (or pip install xarray)"
            ) from None
        runs = self.runs.set_index("run")
        data: dict[str, Any] = {
            col: ("run", runs[col].to_numpy()) for col in runs.columns if col != "scenario"
        }
        coords: dict[str, Any] = {"run": runs.index.to_numpy()}
        values = [v for r in self.results if (v := r.monthly_values) is not None]
        if values and len(values) == len(self.results):
            first = self.results[0]
            data["monthly"] = (("run", "month", "series"), np.stack(values))
            coords["month"] = pd.PeriodIndex(first.months, freq="M").to_timestamp()
            coords["series"] = list(first.series_names)
        attrs = {"scenario": self.scenario.name, "master_seed": self.master_seed}
        return xr.Dataset(data, coords=coords, attrs=attrs)


def run_ensemble(
    scenario: C.Scenario,
    replicates: int = 100,
    seed: int = 0,
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    series: Mapping[str, C.SeriesSpec] | None = None,
    daily: bool = False,
    progress: Callable[[RunResult], None] | None = None,
    cancel: threading.Event | None = None,
) -> Ensemble:
    """Run ``replicates`` runs with seeds spawned from ``seed``.

    Runs go to ``jobs`` local processes (default: all cores) or to the Dask scheduler at
    ``scheduler``; the results are the same either way. ``cancel`` stops them (see
    :func:`map_runs`).
    """
    seeds = spawn_seeds(seed, replicates)
    tasks = ensemble_tasks(scenario, seeds, series, daily)
    results = map_runs(
        run_task, tasks, jobs=jobs, scheduler=scheduler, progress=progress, cancel=cancel
    )
    return Ensemble(scenario=scenario, master_seed=seed, seeds=seeds, results=results)
