"""Values that parse but make no sense are refused when a scenario is loaded: non-finite
numbers, impossible or far-off dates, runs too long to mean anything, removals of keys that
are not there, duplicate keys."""

from __future__ import annotations

import pytest

from escalation import ScenarioError, load_scenario
from escalation.cli.main import main


def error_of(path, overrides=()) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    return info.value


@pytest.mark.parametrize(
    ("setting", "path"),
    [
        ("us.doctrine.severity=.inf", "us.doctrine.severity"),
        ("us.doctrine.severity=.nan", "us.doctrine.severity"),
        ("context.tension=.nan", "context.tension"),
        ("militias.A.resolve=-.inf", "militias.A.resolve"),
        ("weapons.rocket.lethality=.inf", "weapons.rocket.lethality"),
        ("militias.A.motives.us.context.tension=.nan", "militias.A.motives.us.context.tension"),
    ],
)
def test_non_finite_numbers_are_refused(small, write_yaml, setting, path):
    err = error_of(write_yaml("s.yaml", small), [setting])
    assert err.path == path
    assert "finite number" in err.message


def test_non_finite_number_in_a_file_names_its_line(small, write_yaml):
    small["context"]["tension"] = float("nan")
    err = error_of(write_yaml("s.yaml", small))
    assert err.path == "context.tension" and "line" in err.where


def test_validate_refuses_infinite_severity(small, write_yaml, capsys):
    path = write_yaml("s.yaml", small)
    assert main(["validate", str(path), "--set", "us.doctrine.severity=.inf"]) == 2
    err = capsys.readouterr().err
    assert "us.doctrine.severity" in err and "finite" in err and "Traceback" not in err


def test_null_removing_a_missing_event_is_an_error(small, write_yaml):
    small["events"]["truce_2020"] = {
        "date": "2020-06-01",
        "type": "context",
        "set": {"tension": 0.5},
    }
    err = error_of(write_yaml("s.yaml", small), ["events.truce_202=null"])
    assert err.where == "--set events.truce_202=null"
    assert err.path == "events.truce_202"
    assert "did you mean 'truce_2020'" in err.message


def test_null_removing_a_missing_militia_key_is_an_error(small, write_yaml):
    err = error_of(write_yaml("s.yaml", small), ["militias.A.complience=null"])
    assert err.path == "militias.A.complience" and "did you mean 'compliance'" in err.message


def test_null_in_an_extending_file_names_its_line(small, write_yaml):
    write_yaml("base.yaml", small)
    err = error_of(write_yaml("s.yaml", "extends: base.yaml\nevents:\n  nothing_here: null\n"))
    assert "s.yaml, line 3" in err.where and err.path == "events.nothing_here"


def test_null_removes_what_exists(small, write_yaml):
    path = write_yaml("s.yaml", small)
    sc = load_scenario(path, ["militias.A.compliance=null", "weapons.drone.cluster=null"])
    assert sc.weapons["drone"].cluster == 2.0  # the built-in drone's default
    # a key only militia_defaults gives can be removed from one militia too
    load_scenario(path, ["militias.A.stocks=null"])


@pytest.mark.parametrize(
    ("setting", "path", "words"),
    [
        ("start=0001-01-01", "start", "1950-01-01"),
        ("end=9999-12-31", "end", "2100-12-31"),
        ("end=2060-01-01", "end", "30 years"),
        ("step_days=400", "step_days", "longer than the run"),
    ],
)
def test_dates_and_lengths_outside_the_documented_range(small, write_yaml, setting, path, words):
    err = error_of(write_yaml("s.yaml", small), [setting])
    assert err.path == path and words in err.message


def test_the_limits_are_documented():
    from escalation.scenario.reference import describe

    text = describe("")
    assert "1950-01-01" in text and "2100-12-31" in text and "30 years" in text
