"""Result tables: the same frame back from Parquet and CSV, reads that keep only some rows,
streamed writes, and errors that name the file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from escalation.cli.common import add_format_option
from escalation.errors import UserError
from escalation.tables import (
    DEFAULT_FORMAT,
    FORMATS,
    TableWriter,
    find_table,
    read_table,
    save_table,
)

FRAME = pd.DataFrame(
    {
        "run": [0, 0, 1, 2],
        "date": pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-01", "2020-03-01"]),
        "series": ["a", "b", "a", "c"],
        "brand": ["", "x", "", "y"],  # an empty string is a value, not a missing one
        "landed": [True, False, True, False],
        "value": [0.5, 1 / 3, np.nan, 2.25],
    }
)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_table_reads_back_as_written(tmp_path, fmt):
    path = save_table(tmp_path, "t", FRAME, fmt)
    assert path.name == f"t.{fmt}" and find_table(tmp_path, "t") == path
    pd.testing.assert_frame_equal(read_table(tmp_path, "t"), FRAME, check_dtype=False)
    assert read_table(tmp_path, "t")["date"].dt.year.tolist() == [2020] * 4  # dates, not text


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_read_keeps_the_columns_and_rows_asked_for(tmp_path, fmt):
    save_table(tmp_path, "t", FRAME, fmt)
    got = read_table(tmp_path, "t", columns=["run", "value"], where={"series": ["a", "c"]})
    want = FRAME.loc[FRAME["series"].isin(["a", "c"]), ["run", "value"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    none = read_table(tmp_path, "t", where={"series": ["nothing"]})
    assert none.empty and list(none.columns) == list(FRAME.columns)


def test_a_folder_holds_one_format_of_a_table(tmp_path):
    save_table(tmp_path, "t", FRAME, "csv")
    save_table(tmp_path, "t", FRAME.head(2), "parquet")
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]
    assert len(read_table(tmp_path, "t")) == 2


def test_a_streamed_table_is_written_in_row_groups_and_only_when_complete(tmp_path):
    with TableWriter(tmp_path, "t", rows_per_group=4) as writer:
        for run in range(5):
            writer.write(FRAME.assign(run=run))
            assert not (tmp_path / "t.parquet").exists()  # in place only when complete
    assert pq.ParquetFile(tmp_path / "t.parquet").metadata.num_row_groups == 5
    assert read_table(tmp_path, "t")["run"].tolist() == [r for r in range(5) for _ in range(4)]
    with pytest.raises(RuntimeError), TableWriter(tmp_path, "t") as writer:
        writer.write(FRAME)
        raise RuntimeError("the runs stopped")
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]  # the old table, no .part
    assert len(read_table(tmp_path, "t")) == 20


def test_a_csv_whose_later_rows_change_type_is_read_whole(tmp_path):
    n = 400_000  # more than the first block the streaming reader infers types from
    frame = pd.DataFrame({"key": ["key"] * (n + 1), "x": ["1"] * n + ["1.5"]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    got = read_table(tmp_path, "t", where={"key": ["key"]})
    assert len(got) == n + 1 and got["x"].iloc[-1] == 1.5


def test_missing_tables_columns_and_broken_files_are_user_errors(tmp_path):
    with pytest.raises(UserError, match=r"has no runs table \(runs.parquet or runs.csv\)"):
        read_table(tmp_path, "runs")
    save_table(tmp_path, "t", FRAME)
    with pytest.raises(UserError, match=r"t.parquet: has no column 'nope'; expected one of run"):
        read_table(tmp_path, "t", columns=["nope"])
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(UserError, match=r"bad.parquet: cannot be read as a table"):
        read_table(tmp_path, "bad")


def test_the_command_line_offers_the_formats_the_tables_have():
    import argparse

    parser = argparse.ArgumentParser()
    add_format_option(parser)
    action = next(a for a in parser._actions if a.dest == "format")
    assert tuple(action.choices) == FORMATS and action.default == DEFAULT_FORMAT
