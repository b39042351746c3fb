"""An ensemble written as its runs finish: the same tables as in memory, in either format, and
nothing half-written when the runs stop."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from escalation import run_ensemble, scenario_from_dict
from escalation.experiments.stream import write_ensemble
from escalation.tables import read_table


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_the_written_tables_are_the_ensembles(small, tmp_path, fmt):
    scenario = scenario_from_dict(small)
    ens = run_ensemble(scenario, 5, seed=4, jobs=1, daily=True)
    written = write_ensemble(scenario, 5, 4, tmp_path, fmt=fmt, jobs=2, daily=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(written.outputs)
    assert written.seeds == ens.seeds
    # rows in run order whatever order the two workers finished in
    pd.testing.assert_frame_equal(read_table(tmp_path, "events"), ens.events, check_dtype=False)
    pd.testing.assert_frame_equal(read_table(tmp_path, "monthly"), ens.monthly, check_dtype=False)
    pd.testing.assert_frame_equal(read_table(tmp_path, "runs"), ens.runs, check_dtype=False)
    daily = read_table(tmp_path, "daily")
    assert list(daily.columns[:2]) == ["run", "date"] and sorted(set(daily["run"])) == list(
        range(5)
    )
    first = ens.results[0].daily
    pd.testing.assert_frame_equal(
        daily[daily["run"] == 0].drop(columns="run").reset_index(drop=True),
        first,
        check_dtype=False,
    )


def test_a_stopped_ensemble_leaves_the_earlier_tables_whole(small, tmp_path):
    scenario = scenario_from_dict(small)
    before = write_ensemble(scenario, 3, 0, tmp_path, jobs=1)
    events = read_table(tmp_path, "events")
    seen = []

    def stop_after_two(result):
        seen.append(result.run)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_ensemble(scenario, 50, 1, tmp_path, jobs=1, progress=stop_after_two)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before.outputs)  # no .part
    pd.testing.assert_frame_equal(read_table(tmp_path, "events"), events)


def test_a_new_format_replaces_the_other_and_an_old_daily_table(small, tmp_path):
    scenario = scenario_from_dict(small)
    write_ensemble(scenario, 2, 0, tmp_path, fmt="csv", jobs=1, daily=True)
    written = write_ensemble(scenario, 2, 0, tmp_path, jobs=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(written.outputs)
    assert all(name.endswith(".parquet") for name in written.outputs)


def test_to_xarray_holds_the_monthly_values_and_the_totals(small):
    xr = pytest.importorskip("xarray")
    ens = run_ensemble(scenario_from_dict(small), 4, seed=2, jobs=1)
    ds = ens.to_xarray()
    assert isinstance(ds, xr.Dataset)
    assert ds.sizes["run"] == 4 and ds.attrs == {"scenario": "small", "master_seed": 2}
    wide = ens.monthly.pivot_table(index=["run", "month"], columns="series", values="value")
    got = ds["monthly"].sel(series="attacks_us_base").to_numpy()
    want = wide["attacks_us_base"].to_numpy().reshape(4, -1)
    np.testing.assert_array_equal(got, want)
    assert str(ds["month"].to_numpy()[0])[:10] == "2020-01-01"
    np.testing.assert_array_equal(ds["attacks_on_us"].to_numpy(), ens.runs["attacks_on_us"])
    # a month's attacks on US bases summed over the run are the run's total
    np.testing.assert_array_equal(got.sum(axis=1), ens.runs["attacks_us_base"])


def test_to_xarray_without_xarray_says_how_to_install_it(small, monkeypatch):
    ens = run_ensemble(scenario_from_dict(small), 1, seed=2, jobs=1)
    monkeypatch.setitem(sys.modules, "xarray", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"pip install 'proxy-escalation\[xarray\]'"):
        ens.to_xarray()
