"""An ensemble written to a results folder as its runs finish.

Each run's rows go to the folder's tables (``events``, ``monthly`` and, when asked, ``daily``)
as soon as the run arrives, in run order, and the run is then dropped: memory holds a few runs
and one row group per table however large the ensemble, and no writing is left for the end.
Only the runs' totals (one row each) are kept, for the ``runs`` table. The tables are the ones
:class:`~escalation.experiments.runner.Ensemble` builds in memory, row for row.
"""

from __future__ import annotations

import contextlib
import threading
import time
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from escalation.experiments.runner import RunResult, ensemble_tasks, imap_runs, run_task
from escalation.model.log import LOG_COLUMNS, LogRecord
from escalation.scenario import schema as C
from escalation.seeds import spawn_seeds
from escalation.tables import DEFAULT_FORMAT, FORMATS, TableWriter, save_table, table_file

TABLES = {
    "runs": "one row per run: seed and totals",
    "monthly": "one row per run, month and observed series",
    "events": "every run's event log",
    "daily": "every run's daily state",
}
"""The tables of an ensemble's folder and what each holds."""

_ARROW_TYPES = {int: pa.int64(), str: pa.string(), bool: pa.bool_()}


def event_schema() -> pa.Schema:
    """Columns of the events table: the run, then the log's fields with the date after the day
    (as ``Ensemble.events``)."""
    fields = [pa.field("run", pa.int64())]
    types = typing.get_type_hints(LogRecord)
    for name in LOG_COLUMNS:
        fields.append(pa.field(name, _ARROW_TYPES[types[name]]))
        if name == "day":
            fields.append(pa.field("date", pa.date32()))
    return pa.schema(fields)


MONTHLY_SCHEMA = pa.schema(
    [("run", pa.int64()), ("month", pa.string()), ("series", pa.string()), ("value", pa.float64())]
)
"""Columns of the monthly table (as ``Ensemble.monthly``)."""


def events_table(result: RunResult, schema: pa.Schema) -> pa.Table:
    """A run's event log as rows of the events table (the log's records are read by Arrow in
    one pass, as a struct per record)."""
    fields = [f for f in schema if f.name not in ("run", "date")]
    table = pa.Table.from_struct_array(pa.array(result.log, type=pa.struct(fields)))
    day = table.column("day").to_numpy()
    date = np.datetime64(result.start, "D") + day.astype("timedelta64[D]")
    table = table.add_column(0, "run", pa.array(np.full(len(day), result.run, dtype=np.int64)))
    return table.add_column(2, "date", pa.array(date, pa.date32())).select(schema.names)


def monthly_table(result: RunResult) -> pa.Table:
    """A run's monthly observed series as rows of the monthly table."""
    values = result.monthly_values
    if values is None:
        values = np.zeros((0, len(result.series_names)))
    n_months, n_series = values.shape
    return pa.table(
        [
            pa.array(np.full(n_months * n_series, result.run, dtype=np.int64)),
            _repeated(result.months[:n_months], np.repeat(np.arange(n_months), n_series)),
            _repeated(result.series_names, np.tile(np.arange(n_series), n_months)),
            pa.array(values.ravel(), pa.float64()),
        ],
        schema=MONTHLY_SCHEMA,
    )


def _repeated(labels: list[str], index: np.ndarray) -> pa.Array:
    """The strings ``labels[i]`` for each ``i`` of ``index``, built without a Python string
    per row."""
    codes = pa.array(index.astype(np.int32))
    return pa.DictionaryArray.from_arrays(codes, pa.array(labels, pa.string())).dictionary_decode()


def daily_table(result: RunResult) -> pd.DataFrame:
    """A run's daily state with the run in front."""
    assert result.daily is not None
    frame = result.daily.copy()
    frame.insert(0, "run", result.run)
    return frame


@dataclass(frozen=True)
class WrittenEnsemble:
    """An ensemble written to a folder: what its command reports and its manifest records."""

    folder: Path
    format: str
    seeds: list[int]
    runs: pd.DataFrame
    """One row per run: seed and totals (the ``runs`` table)."""
    outputs: dict[str, str]
    """The files written, each with what it holds."""
    writing_seconds: float
    """Time spent turning runs into rows and writing them (while the runs went on)."""


def write_ensemble(
    scenario: C.Scenario,
    replicates: int,
    seed: int,
    folder: Path,
    *,
    fmt: str = DEFAULT_FORMAT,
    jobs: int | None = None,
    scheduler: str | None = None,
    series: Mapping[str, C.SeriesSpec] | None = None,
    daily: bool = False,
    progress: Callable[[RunResult], None] | None = None,
    cancel: threading.Event | None = None,
) -> WrittenEnsemble:
    """Run ``replicates`` runs with seeds spawned from ``seed`` (as ``run_ensemble``) and write
    the ``runs``, ``monthly``, ``events`` (and with ``daily`` the ``daily``) tables to ``folder``
    in format ``fmt``, each run's rows as soon as it finishes. A table in place is replaced
    only when its new version is complete."""
    seeds = spawn_seeds(seed, replicates)
    tasks = ensemble_tasks(scenario, seeds, series, daily)
    names = ["monthly", "events", *(["daily"] if daily else [])]
    schemas = {"monthly": MONTHLY_SCHEMA, "events": event_schema()}
    summaries: list[dict[str, Any]] = []
    seconds = 0.0
    with contextlib.ExitStack() as stack:
        writers = {
            name: stack.enter_context(TableWriter(folder, name, fmt, schema=schemas.get(name)))
            for name in names
        }
        arrivals = imap_runs(run_task, tasks, jobs=jobs, scheduler=scheduler, cancel=cancel)
        stack.enter_context(contextlib.closing(arrivals))
        waiting: dict[int, dict[str, Any]] = {}  # runs that finished before an earlier one
        for i, result in arrivals:
            if progress:
                progress(result)
            t0 = time.perf_counter()
            waiting[i] = _rows(result, schemas["events"], daily)
            while len(summaries) in waiting:
                rows = waiting.pop(len(summaries))
                summaries.append(rows.pop("summary"))
                for name, table in rows.items():
                    writers[name].write(table)
            seconds += time.perf_counter() - t0
        t0 = time.perf_counter()
        for writer in writers.values():
            writer.close()
    runs = pd.DataFrame(summaries)
    save_table(folder, "runs", runs, fmt)
    if not daily:  # a daily table left by an earlier command is not of these runs
        for f in FORMATS:
            table_file(folder, "daily", f).unlink(missing_ok=True)
    seconds += time.perf_counter() - t0
    outputs = {f"{name}.{fmt}": TABLES[name] for name in ["runs", *names]}
    return WrittenEnsemble(Path(folder), fmt, seeds, runs, outputs, seconds)


def _rows(result: RunResult, events: pa.Schema, daily: bool) -> dict[str, Any]:
    """A finished run as the rows of each table, and its totals."""
    rows: dict[str, Any] = {
        "summary": result.summary,
        "monthly": monthly_table(result),
        "events": events_table(result, events),
    }
    if daily:
        rows["daily"] = daily_table(result)
    return rows
