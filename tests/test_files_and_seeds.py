"""Atomic files, resumable logs and the seed scheme."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd

from escalation.files import AppendLog, read_json, read_state, write_json, write_table
from escalation.seeds import Streams, spawn_seeds
from tests.conftest import hold_lock


def test_write_json_takes_numpy_values_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "a.json"
    write_json(path, {"n": np.int64(3), "x": np.float64(0.5), "v": np.arange(2)})
    assert read_json(path) == {"n": 3, "x": 0.5, "v": [0, 1]}
    write_table(tmp_path / "t.csv", pd.DataFrame({"a": [1, 2]}))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "t.csv"]


def test_read_state_resumes_only_the_same_job(tmp_path):
    path = tmp_path / "state.json"
    assert read_state(path, {"job": 1}) is None
    write_json(path, {"identity": {"job": 1, "seeds": (1, 2)}, "done": 5})
    assert read_state(path, {"job": 1, "seeds": [1, 2]})["done"] == 5
    assert read_state(path, {"job": 2, "seeds": [1, 2]}) is None


def test_append_log_drops_a_torn_line_and_repeats_then_goes_on(tmp_path):
    path = tmp_path / "runs.csv"
    log = AppendLog(path, key=2)
    for point, rep in [(1, 0), (0, 1), (0, 0)]:
        log.append({"point": point, "replicate": rep, "value": point + rep})
    log.close()
    with path.open("a", encoding="utf-8") as f:
        f.write("0,0,9\n1,1,")  # a repeated key, then a line cut short by a kill
    again = AppendLog(path, key=2)
    assert again.rows() == [["1", "0", "1"], ["0", "1", "1"], ["0", "0", "0"]]
    assert again.torn == 1
    again.append({"point": 1, "replicate": 1, "value": 2})
    again.sort(key=lambda r: (int(r[0]), int(r[1])))
    frame = pd.read_csv(path)
    assert list(zip(frame["point"], frame["replicate"], strict=True)) == [
        (0, 0), (0, 1), (1, 0), (1, 1)
    ]  # fmt: skip


def test_named_streams_are_reproducible_and_independent():
    s = Streams(7)
    assert s.child("report").seeds(5) == Streams(7).child("report").seeds(5)
    assert s.child("report").seeds(3) == s.child("report").seeds(5)[:3]
    assert s.child("report").seeds(5) != s.child("candidates").seeds(5)
    assert s.child("abc").child(1).seed() != s.child("abc").child(2).seed()
    assert Streams(8).child("report").seeds(5) != s.child("report").seeds(5)
    assert s.child("x").rng().random() == Streams(7).child("x").rng().random()
    # run seeds of an ensemble are the master's first-level children
    assert spawn_seeds(7, 4) == [
        int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
        for c in np.random.SeedSequence(7).spawn(4)
    ]


def test_append_log_with_a_torn_header_starts_afresh(tmp_path):
    # a kill during the very first write leaves part of the header and nothing else
    path = tmp_path / "runs.csv"
    path.write_text("point,replicate,val", encoding="utf-8")
    log = AppendLog(path, key=2)
    assert log.rows() == []
    assert log.torn == 1
    log.append({"point": 0, "replicate": 0, "value": 1})
    log.close()
    frame = pd.read_csv(path)
    assert list(frame.columns) == ["point", "replicate", "value"]
    assert frame["value"].tolist() == [1]


def test_folder_lock_names_its_holder_and_is_taken_over_when_it_dies(tmp_path):
    import pytest

    from escalation.errors import UserError
    from escalation.files import folder_lock

    proc = hold_lock(tmp_path)
    try:
        with pytest.raises(UserError) as err, folder_lock(tmp_path):
            pass
        assert f"in use by another process (pid {proc.pid} on " in str(err.value)
        assert "started 20" in str(err.value)
    finally:
        proc.kill()
        proc.wait()
    assert (tmp_path / ".lock").exists()  # left by the killed holder
    with folder_lock(tmp_path), folder_lock(tmp_path):  # taken over; re-entrant
        assert json.loads((tmp_path / ".lock").read_text())["pid"] == os.getpid()
    assert not (tmp_path / ".lock").exists()


def test_concurrent_writers_of_one_file_each_use_their_own_temporary_file(tmp_path):
    import threading

    path = tmp_path / "t.json"
    errors = []

    def write(i: int) -> None:
        try:
            for k in range(200):
                write_json(path, {"writer": i, "k": k, "pad": list(range(200))})
        except Exception as exc:  # any failure is the finding
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert read_json(path)["k"] == 199
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json"]
