"""YAML that parses into something harmful is refused with a clear error, not a traceback, a
hang or gigabytes of memory: impossible dates, duplicate keys, deep nesting and alias bombs,
in scenario files, ``--set`` values, sweep and calibration files alike."""

from __future__ import annotations

import time

import pytest

from escalation import ScenarioError, load_scenario
from escalation.calibration.loading import load_calibration
from escalation.cli.main import main
from escalation.experiments.sweep import load_sweep

# a list of nine levels, each ten aliases of the one before: 10**9 values once expanded
BOMB = (
    "[&a0 [x, x, x, x, x, x, x, x, x, x], "
    + ", ".join(f"&a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9))
    + "]"
)


def error_of(load, *args) -> ScenarioError:
    t0 = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        load(*args)
    assert time.perf_counter() - t0 < 5
    assert len(str(info.value)) < 1000  # one paragraph, not the expanded document
    return info.value


def test_impossible_date_in_a_file_names_its_line(small, write_yaml):
    text = write_yaml("s.yaml", small).read_text().replace("'2020-12-31'", "2020-02-30")
    err = error_of(load_scenario, write_yaml("s.yaml", text))
    assert "s.yaml, line" in err.where
    assert "2020-02-30" in err.message and "YYYY-MM-DD" in err.message


def test_impossible_date_in_set(small, write_yaml):
    err = error_of(load_scenario, write_yaml("s.yaml", small), ["end=2020-02-30"])
    assert err.where.startswith("--set") and "2020-02-30" in err.message and "end" in str(err)


def test_duplicate_key_is_an_error(small, write_yaml):
    text = write_yaml("s.yaml", small).read_text() + "name: again\n"
    err = error_of(load_scenario, write_yaml("s.yaml", text))
    assert "line" in err.where and "'name'" in err.message and "more than once" in err.message


def test_duplicate_key_nested(small, write_yaml):
    text = "name: x\nstart: 2020-01-01\nend: 2020-06-01\nus:\n"
    text += "  doctrine: {delay_days: 1, delay_days: 2}\n"
    err = error_of(load_scenario, write_yaml("s.yaml", text))
    assert "line 5" in err.where and "'delay_days'" in err.message


def test_merge_keys_are_not_duplicates(small, write_yaml):
    text = write_yaml("s.yaml", small).read_text()
    text += "iraq: &g {temperature: 0.5}\ntruce: {}\n"
    load_scenario(write_yaml("s.yaml", text))


@pytest.mark.parametrize("depth", [200, 5000])
def test_deep_nesting_in_a_file(small, write_yaml, depth):
    text = write_yaml("s.yaml", small).read_text() + "extra: " + "[" * depth + "]" * depth + "\n"
    err = error_of(load_scenario, write_yaml("s.yaml", text))
    assert "nested" in err.message


def test_deep_nesting_in_set(small, write_yaml):
    err = error_of(load_scenario, write_yaml("s.yaml", small), ["extra=" + "[" * 5000])
    assert err.where == "--set"


def test_alias_bomb_in_a_scenario(small, write_yaml):
    text = write_yaml("s.yaml", small).read_text() + f"events: {{bomb: {BOMB}}}\n"
    err = error_of(load_scenario, write_yaml("s.yaml", text))
    assert "aliases" in err.message


def test_alias_bomb_in_a_sweep_set(small, write_yaml):
    write_yaml("s.yaml", small)
    text = (
        f"name: w\nscenario: s.yaml\nset: {{context.bomb: {BOMB}}}\n"
        "parameters:\n  us.doctrine.severity: {low: 1, high: 2}\n"
    )
    err = error_of(load_sweep, write_yaml("w.yaml", text))
    assert "w.yaml" in err.where and "aliases" in err.message


def test_alias_bomb_in_sweep_values(small, write_yaml):
    write_yaml("s.yaml", small)
    text = f"name: w\nscenario: s.yaml\nparameters:\n  context.x: {{values: {BOMB}}}\n"
    error_of(load_sweep, write_yaml("w.yaml", text))


def test_alias_bomb_in_a_calibration_set(small, write_yaml):
    write_yaml("s.yaml", small)
    text = (
        f"name: c\nscenario: s.yaml\nset: {{context.bomb: {BOMB}}}\nparameters:\n"
        "  us.doctrine.severity: {prior: uniform, low: 1, high: 2}\n"
    )
    error_of(load_calibration, write_yaml("c.yaml", text))


def test_recursive_alias(small, write_yaml):
    text = write_yaml("s.yaml", small).read_text() + "extra: &r [*r]\n"
    error_of(load_scenario, write_yaml("s.yaml", text))


def test_broken_param_value_is_a_clear_error(small, write_yaml, capsys):
    path = write_yaml("s.yaml", small)
    code = main(["sweep", "--scenario", str(path), "--param", "us.doctrine.trigger=[never"])
    err = capsys.readouterr().err
    assert code == 2 and "--param" in err and "Traceback" not in err
