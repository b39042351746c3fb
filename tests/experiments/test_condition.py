"""Conditions on outcomes are parsed by a small grammar, never evaluated as Python."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from escalation.experiments.condition import ConditionError, parse_condition

KNOWN = ["attacks_on_us", "spiral", "us_wounded"]
TABLE = pd.DataFrame(
    {
        "attacks_on_us": [900.0, 1000.0, 1100.0, np.nan],
        "spiral": [0.0, 0.5, 1.0, 0.0],
        "us_wounded": [100.0, 200.0, 50.0, 10.0],
    }
)


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        ("attacks_on_us < 1000", [True, False, False, False]),
        ("attacks_on_us <= 1000 and spiral < 0.2", [True, False, False, False]),
        ("spiral >= 1 or us_wounded < 20", [False, False, True, True]),
        ("not (spiral == 0)", [False, True, True, False]),
        ("950 < attacks_on_us <= 1100", [False, True, True, False]),
        ("attacks_on_us / 50 < 19", [True, False, False, False]),
        ("us_wounded * 2 > attacks_on_us / 5", [True, True, False, False]),
        ("spiral != 0.5 and (us_wounded > 60 or spiral > 0.9)", [True, False, True, False]),
        ("spiral < 1 and us_wounded > 1e1 and attacks_on_us > -5", [True, True, False, False]),
    ],
)
def test_conditions_select_the_rows_they_say(text, rows):
    assert parse_condition(text, KNOWN).evaluate(TABLE).tolist() == rows


def test_and_binds_tighter_than_or():
    a = parse_condition("spiral > 0.9 or spiral < 0.1 and us_wounded > 50", KNOWN)
    b = parse_condition("spiral > 0.9 or (spiral < 0.1 and us_wounded > 50)", KNOWN)
    assert a.evaluate(TABLE).tolist() == b.evaluate(TABLE).tolist() == [True, False, True, False]


def test_an_unknown_outcome_is_refused_naming_the_known_ones():
    with pytest.raises(ConditionError) as info:
        parse_condition("attacks_on_uss < 10", KNOWN)
    text = str(info.value)
    assert "'attacks_on_uss'" in text and "did you mean 'attacks_on_us'" in text
    assert "expected one of: attacks_on_us, spiral, us_wounded" in text


def test_a_parameter_is_named_as_such():
    with pytest.raises(ConditionError, match="swept parameter, not an outcome"):
        parse_condition("us.doctrine.severity > 2", KNOWN, not_outcomes=["us.doctrine.severity"])


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "is empty"),
        ("spiral <", "ends too early"),
        ("spiral < 1 and", "ends too early"),
        ("(spiral < 1", "')'"),
        ("spiral < 1)", "unexpected ')'"),
        ("spiral 1", "a comparison"),
        ("spiral = 1", "unexpected '='"),
        ("1 < 2", "names no outcome"),
        ("__import__('os').system('true') < 1", "unexpected"),
        ("spiral < 1; print(1)", "unexpected ';'"),
        ("spiral < attacks_on_us < us_wounded < 3", "'and', 'or' or the end"),
    ],
)
def test_what_is_not_the_grammar_is_one_error_saying_what_was_expected(text, says):
    with pytest.raises(ConditionError) as info:
        parse_condition(text, KNOWN)
    assert says in str(info.value) and "\n" not in str(info.value)


def test_counts_say_how_many_rows_meet_each_comparison():
    condition = parse_condition("attacks_on_us < 950 and spiral > 0.7", KNOWN)
    assert condition.counts(TABLE) == [("attacks_on_us < 950", 1), ("spiral > 0.7", 1)]
    assert not condition.evaluate(TABLE).any()
