"""Result tables in Parquet (the default) or CSV: written whole or piece by piece as runs
finish, and read back by one function whatever their format.

A results folder holds each table once, as ``<name>.parquet`` or ``<name>.csv``. Parquet is
compressed and columnar: a 1,000-run ensemble's monthly table takes about 2 MB against 150 MB
of CSV, and a reader takes only the columns and rows it asks for. CSV is there for tools that
read nothing else. Both formats are written and read through Arrow, so a table reads back with
the same columns and types from either, and :func:`read_table` is the one way to read a table
of a results folder. Every table is written to a temporary file moved into place when it is
complete (:func:`escalation.files.atomic_path`): a killed command never leaves half a table.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from escalation.errors import UserError
from escalation.files import atomic_path

FORMATS = ("parquet", "csv")
"""The formats a table can be written in."""

DEFAULT_FORMAT = "parquet"

ROW_GROUP_ROWS = 200_000
"""Rows gathered before a streamed table writes them (one Parquet row group): large enough to
compress well and read fast, small enough to keep a writer's memory a few megabytes."""

COMPRESSION = "zstd"


def check_format(fmt: str) -> str:
    """``fmt`` if it is one of :data:`FORMATS`, else a :class:`UserError`."""
    if fmt not in FORMATS:
        raise UserError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}")
    return fmt


def table_file(folder: Path, name: str, fmt: str = DEFAULT_FORMAT) -> Path:
    """Where table ``name`` of ``folder`` is written in format ``fmt``."""
    return Path(folder) / f"{name}.{check_format(fmt)}"


def find_table(folder: Path, name: str) -> Path | None:
    """The file holding table ``name`` of ``folder`` in either format (the newer if both are
    there, as after a command killed between writing one and removing the other), else None."""
    found = [p for p in (table_file(folder, name, f) for f in FORMATS) if p.is_file()]
    return max(found, key=lambda p: p.stat().st_mtime_ns) if found else None


def read_table(
    folder: Path,
    name: str,
    *,
    columns: Sequence[str] | None = None,
    where: Mapping[str, Iterable[Any]] | None = None,
) -> pd.DataFrame:
    """Table ``name`` of a results folder, from ``<name>.parquet`` or ``<name>.csv``.

    Args:
        folder: the results folder.
        name: the table (``runs``, ``monthly``, ``events``, ``metrics``, ...).
        columns: only these columns (all by default).
        where: only the rows whose column holds one of the given values, e.g.
            ``{"series": ["attacks_us_base"]}`` (Parquet skips the rest without reading it).

    A missing table, or a file that is not a readable table, is a :class:`UserError` naming it.
    """
    path = find_table(folder, name)
    if path is None:
        raise UserError(
            f"{folder}: has no {name} table ({name}.parquet or {name}.csv); expected a results "
            "folder written by escalation run, compare or sweep"
        )
    try:
        names = _names(path)
        missing = [c for c in [*(columns or ()), *(where or {})] if c not in names]
        if missing:
            raise UserError(
                f"{path}: has no column {missing[0]!r}; expected one of {', '.join(names)}"
            )
        table = _read(path, columns, where)
    except (pa.ArrowException, OSError) as exc:
        raise UserError(
            f"{path}: cannot be read as a table ({str(exc).splitlines()[0]}); expected a "
            f"{path.suffix[1:]} table written by escalation run, compare or sweep"
        ) from None
    return table.to_pandas(date_as_object=False)


def _names(path: Path) -> list[str]:
    """The columns of a table file."""
    if path.suffix == ".parquet":
        return list(pq.read_schema(path).names)
    if path.stat().st_size == 0:
        return []
    return list(pcsv.open_csv(path).schema.names)


def _read(
    path: Path, columns: Sequence[str] | None, where: Mapping[str, Iterable[Any]] | None
) -> pa.Table:
    wanted = None if columns is None else list(dict.fromkeys([*columns, *(where or {})]))
    # an empty field is missing, but a quoted one is an empty string (Arrow quotes every
    # string it writes; pandas writes a missing string as an empty field)
    convert = pcsv.ConvertOptions(
        include_columns=wanted, strings_can_be_null=True, quoted_strings_can_be_null=False
    )
    if path.suffix == ".parquet":
        if where:  # batch by batch: memory holds the rows kept, not the table
            source = pq.ParquetFile(path)
            schema = source.schema_arrow
            if wanted is not None:
                schema = pa.schema([schema.field(name) for name in wanted])
            table = _chosen(source.iter_batches(BATCH_ROWS, columns=wanted), where, schema)
        else:
            table = pq.read_table(path, columns=wanted)
    elif path.stat().st_size == 0:  # a table without columns
        table = pa.table({})
    elif where:
        try:
            with pcsv.open_csv(path, convert_options=convert) as reader:
                table = _chosen(reader, where, reader.schema)
        except pa.ArrowInvalid:  # later rows do not fit the types the first ones gave
            whole = pcsv.read_csv(path, convert_options=convert)
            table = _chosen(whole.to_batches(), where, whole.schema)
    else:
        table = pcsv.read_csv(path, convert_options=convert)
    if columns is not None:
        table = table.select(list(columns))
    return table


BATCH_ROWS = 65_536
"""Rows read at a time when a read keeps only some of them."""


def _chosen(
    batches: Iterable[pa.RecordBatch], where: Mapping[str, Iterable[Any]], schema: pa.Schema
) -> pa.Table:
    """The rows of ``batches`` (of ``schema``) whose columns hold one of the values ``where``
    gives them."""
    sets = {key: pa.array(list(values)) for key, values in where.items()}
    kept = []
    for batch in batches:
        mask = None
        for key, values in sets.items():
            column = batch.column(key)
            hit = pc.is_in(column, value_set=values.cast(column.type))
            mask = hit if mask is None else pc.and_(mask, hit)
        kept.append(batch.filter(mask))
    return pa.Table.from_batches(kept, schema=schema)


def to_arrow(frame: pd.DataFrame, schema: pa.Schema | None = None) -> pa.Table:
    """A DataFrame as an Arrow table (of ``schema`` if given). Timestamps that all fall on
    midnight become dates; a column of mixed Python types becomes text."""
    frame = frame.reset_index(drop=True)
    for col in frame.columns:
        values = frame[col]
        if pd.api.types.is_datetime64_dtype(values):
            known = values.dropna()
            if (known.dt.normalize() == known).all():
                frame[col] = values.dt.date
    for col in frame.columns:
        if frame[col].dtype == object:
            try:
                pa.array(frame[col])
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                frame[col] = frame[col].astype(str)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata(None)
    return table.cast(schema) if schema is not None else table


class TableWriter:
    """A table written piece by piece: each :meth:`write` adds rows (a run's, say), which are
    gathered into groups of about :data:`ROW_GROUP_ROWS` and written out, so memory holds at
    most one group whatever the table's size. :meth:`close` moves the finished file into place
    (and removes the table's file in the other format, so a folder holds one copy); leaving
    the ``with`` block by an error removes the unfinished file instead.
    """

    def __init__(
        self,
        folder: Path,
        name: str,
        fmt: str = DEFAULT_FORMAT,
        *,
        schema: pa.Schema | None = None,
        rows_per_group: int = ROW_GROUP_ROWS,
    ) -> None:
        self.path = table_file(folder, name, fmt)
        self.fmt = fmt
        self.schema = schema
        self.rows_per_group = rows_per_group
        self.rows = 0
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._writer: Any = None
        self._closed = False
        self._stack = contextlib.ExitStack()
        self._tmp = self._stack.enter_context(atomic_path(self.path))

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if self._closed:
            return
        if kind is None:
            self.close()
        else:
            self.abort()

    def write(self, rows: pa.Table | pd.DataFrame) -> None:
        """Add ``rows`` (columns as the first rows', or the writer's schema)."""
        table = rows if isinstance(rows, pa.Table) else to_arrow(rows, self.schema)
        if self.schema is None:
            self.schema = table.schema
        elif table.schema != self.schema:
            table = table.select(self.schema.names).cast(self.schema)
        self._pending.append(table)
        self._pending_rows += table.num_rows
        self.rows += table.num_rows
        if self._pending_rows >= self.rows_per_group:
            self._flush()

    def _flush(self) -> None:
        if self._writer is None:
            assert self.schema is not None
            if self.fmt == "parquet":
                self._writer = pq.ParquetWriter(self._tmp, self.schema, compression=COMPRESSION)
            else:
                self._writer = pcsv.CSVWriter(self._tmp, self.schema)
        if self._pending:
            table = pa.concat_tables(self._pending)
            self._pending, self._pending_rows = [], 0
            if table.num_rows:
                self._writer.write_table(table)

    def close(self) -> Path:
        """Write what is gathered and put the finished table in place; returns its path."""
        self._closed = True
        if self.schema is None:
            self.schema = pa.schema([])
        self._flush()
        self._writer.close()
        self._stack.close()
        other = [table_file(self.path.parent, self.path.stem, f) for f in FORMATS]
        for path in other:
            if path != self.path:
                path.unlink(missing_ok=True)
        return self.path

    def abort(self) -> None:
        """Drop the unfinished table (the file in place, if any, is left as it was)."""
        self._closed = True
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
        self._stack.__exit__(RuntimeError, RuntimeError("aborted"), None)


def save_table(folder: Path, name: str, frame: pd.DataFrame, fmt: str = DEFAULT_FORMAT) -> Path:
    """Write a whole table ``name`` of ``folder`` in format ``fmt`` (atomically); returns its
    path."""
    with TableWriter(folder, name, fmt) as writer:
        writer.write(frame)
    return writer.path
