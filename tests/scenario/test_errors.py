"""Bad scenario files give one clear paragraph (file, key path, what was expected), exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from escalation import ScenarioError, load_scenario
from escalation.cli.main import main


def error_of(path: Path, overrides=()) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    return info.value


def test_unknown_key_names_file_line_path_and_suggests(small, write_yaml):
    small["us"] = {"doctrin": {"trigger": "never"}}
    err = error_of(write_yaml("s.yaml", small))
    text = str(err)
    assert "s.yaml" in text and "line" in text
    assert err.path == "us.doctrin"
    assert "unknown key" in text and "did you mean 'doctrine'" in text


def test_unknown_key_in_militia_lists_allowed_keys(small, write_yaml):
    small["militias"]["A"]["complience"] = 0.5
    err = error_of(write_yaml("s.yaml", small))
    assert err.path == "militias.A.complience"
    assert "compliance" in err.message and "expected one of" in err.message


def test_wrong_type(small, write_yaml):
    small["militias"]["A"]["compliance"] = "high"
    err = error_of(write_yaml("s.yaml", small))
    assert err.path == "militias.A.compliance"
    assert "expected a number" in err.message and "'high'" in err.message


def test_negative_rate(small, write_yaml):
    small["iran"]["resupply"]["amounts"]["rocket"] = -5
    err = error_of(write_yaml("s.yaml", small))
    assert err.path == "iran.resupply.amounts.rocket"
    assert ">= 0" in err.message and "-5" in err.message


def test_probability_above_one(small, write_yaml):
    small["us"] = {"doctrine": {"strike_unattributed": 1.5}}
    err = error_of(write_yaml("s.yaml", small))
    assert err.path == "us.doctrine.strike_unattributed"
    assert "<= 1" in err.message


def test_unknown_actor_in_event(small, write_yaml):
    small["events"]["strike"] = {
        "date": "2020-03-01",
        "type": "leadership_strike",
        "label": "x",
        "militia": "KHH",
    }
    err = error_of(write_yaml("s.yaml", small))
    assert err.path == "events.strike.militia"
    assert "unknown militia 'KHH'" in err.message and "A, B" in err.message


def test_unknown_rival(small, write_yaml):
    small["militias"]["A"]["rivals"] = ["Z"]
    err = error_of(write_yaml("s.yaml", small))
    assert err.path == "militias.A.rivals[0]"
    assert "unknown militia 'Z'" in err.message


def test_appeal_of_an_unknown_brand(small, write_yaml):
    small["militias"]["A"]["brands"] = [{"name": "Umbrella", "targets": ["us_base"]}]
    small["deniability"] = {"brand_appeal": {"Umbrela": 1.0}}
    err = error_of(write_yaml("s.yaml", small))
    assert err.path == "deniability.brand_appeal.Umbrela"
    assert "unknown facade brand 'Umbrela'" in err.message and "'Umbrella'" in err.message


def test_unknown_event_type(small, write_yaml):
    small["events"]["x"] = {"date": "2020-03-01", "type": "invasion", "label": "x"}
    err = error_of(write_yaml("s.yaml", small))
    assert err.path == "events.x.type"
    assert "unknown event type 'invasion'" in err.message and "leadership_strike" in err.message


def test_event_date_outside_run(small, write_yaml):
    small["events"]["late"] = {
        "date": "2024-05-01",
        "type": "context",
        "label": "late",
        "set": {"tension": 0.0},
    }
    err = error_of(write_yaml("s.yaml", small))
    assert err.path == "events.late.date"
    assert "outside the run" in err.message and "2020-12-31" in err.message


def test_undeclared_context_driver(small, write_yaml):
    small["events"]["x"] = {
        "date": "2020-02-01",
        "type": "context",
        "label": "x",
        "set": {"tenshun": 1.0},
    }
    err = error_of(write_yaml("s.yaml", small))
    assert err.path == "events.x.set.tenshun"
    assert "did you mean 'tension'" in err.message


def test_broken_yaml(write_yaml):
    path = write_yaml("broken.yaml", "name: x\nmilitias: {A: [unclosed\n")
    err = error_of(path)
    assert "broken.yaml" in str(err) and "not valid YAML" in str(err)


def test_missing_file(tmp_path):
    err = error_of(tmp_path / "nope.yaml")
    assert "nope.yaml" in str(err) and "not found" in str(err)


def test_not_a_mapping(write_yaml):
    err = error_of(write_yaml("list.yaml", "- a\n- b\n"))
    assert "expected a mapping" in str(err)


def test_extends_cycle(write_yaml, small):
    write_yaml("a.yaml", "extends: b.yaml\nname: a\n")
    path = write_yaml("b.yaml", "extends: a.yaml\nname: b\n")
    err = error_of(path)
    assert err.path == "extends" and "cycle" in err.message
    assert "a.yaml" in err.message and "b.yaml" in err.message


def test_extends_missing_parent(write_yaml):
    err = error_of(write_yaml("child.yaml", "extends: nowhere.yaml\n"))
    assert err.path == "extends" and "does not exist" in err.message


def test_error_in_parent_is_located_in_parent(write_yaml, small):
    small["militias"]["A"]["compliance"] = 2.0
    write_yaml("base.yaml", small)
    child = write_yaml("child.yaml", "extends: base.yaml\nname: child\n")
    err = error_of(child)
    assert "base.yaml, line" in err.where and err.path == "militias.A.compliance"


def test_error_from_command_line_override_names_the_override(write_yaml, small):
    path = write_yaml("s.yaml", small)
    err = error_of(path, ["us.doctrine.delay_days=-2"])
    assert err.where == "--set us.doctrine.delay_days=-2"
    assert err.path == "us.doctrine.delay_days"


def test_override_of_a_misspelt_militia_names_the_militias(write_yaml, small):
    path = write_yaml("s.yaml", small)
    err = error_of(path, ["militias.AA.resolve=-3"])
    assert err.where == "--set militias.AA.resolve=-3"
    assert err.path == "militias.AA.resolve"
    assert "no militia named 'AA'" in err.message and "expected one of" in err.message
    for name in small["militias"]:
        assert name in err.message


def test_override_of_a_misspelt_event_suggests_the_event():
    err = error_of(Path("scenarios/baseline.yaml"), {"events.soleimani_strik.date": "2020-01-04"})
    assert err.path == "events.soleimani_strik.date"
    assert "no event named 'soleimani_strik'" in err.message
    assert "did you mean 'soleimani_strike'" in err.message


def test_malformed_override():
    with pytest.raises(ScenarioError, match=r"expected key\.path=value"):
        load_scenario(Path("scenarios/baseline.yaml"), ["us.doctrine.trigger"])


def test_militia_defaults_error_points_at_defaults(write_yaml, small):
    small["militia_defaults"]["weights"] = {"fear": -1}
    err = error_of(write_yaml("s.yaml", small))
    assert "line" in err.where
    assert err.path == "militia_defaults.weights.fear" and ">= 0" in err.message


def test_misspelt_militia_defaults_key_is_named_where_it_is_written(write_yaml, small):
    small["militia_defaults"]["grievance_halflife_days"] = 90
    path = write_yaml("s.yaml", small)
    err = error_of(path)
    assert err.path == "militia_defaults.grievance_halflife_days"
    assert "grievance_half_life_days" in err.message
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "halflife" in text)
    assert err.where.endswith(f"line {line}")


def test_misspelt_militia_defaults_key_counts_as_one_problem(write_yaml, small):
    assert len(small["militias"]) > 1  # every militia inherits the misspelt key
    small["militia_defaults"]["grievance_halflife_days"] = 90
    err = error_of(write_yaml("s.yaml", small))
    assert err.path == "militia_defaults.grievance_halflife_days"
    assert "more problem" not in err.message


def test_two_bad_militia_defaults_keys_count_as_two_problems(write_yaml, small):
    small["militia_defaults"]["grievance_halflife_days"] = 90
    small["militia_defaults"]["reengage_margn"] = -3
    err = error_of(write_yaml("s.yaml", small))
    assert err.path.startswith("militia_defaults.")
    assert err.message.endswith(" (1 more problem after this one)")


def test_a_militia_own_value_is_still_named_under_the_militia(write_yaml, small):
    mid = next(iter(small["militias"]))
    small["militias"][mid]["resolve"] = "high"
    err = error_of(write_yaml("s.yaml", small))
    assert err.path == f"militias.{mid}.resolve"


@pytest.mark.parametrize(
    "content",
    [
        "name: x\nstart: 2020-01-01\nend: 2020-12-31\nmilitias: {}\n",
        "name: x\nstart: 2020-01-01\nend: 2019-12-31\nmilitias: {A: {name: a, repertoire: {}}}\n",
        "name: [1\n",
        "start: 2020-01-01\n",
    ],
)
def test_cli_validate_exits_2_with_one_paragraph_and_no_traceback(write_yaml, content, capsys):
    path = write_yaml("bad.yaml", content)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "bad.yaml" in err
    assert "Traceback" not in err
    assert err.count("\n") == 1  # one paragraph


def test_cli_run_bad_file_in_a_subprocess_has_no_traceback(write_yaml, small):
    small["militias"]["A"]["compliance"] = -1
    path = write_yaml("bad.yaml", small)
    proc = subprocess.run(
        [sys.executable, "-m", "escalation.cli", "run", str(path), "-n", "2"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "militias.A.compliance" in proc.stderr and ">= 0" in proc.stderr


def test_cli_rejects_bad_replicates(capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", "scenarios/baseline.yaml", "-n", "0"])
    assert info.value.code == 2
    assert "at least 1" in capsys.readouterr().err


def test_the_markdown_reference_is_one_table_row_per_key():
    from escalation.scenario.reference import describe

    lines = describe(markdown=True).splitlines()
    assert len(lines) > 100
    assert all(line.startswith("|") and line.endswith("|") for line in lines)


def test_validate_names_an_event_restating_a_target_the_record_lacks(write_yaml, small, capsys):
    small["events"] = {
        "hit": {
            "date": "2020-06-01",
            "type": "us_strike",
            "label": "hit",
            "restates": ["us_strike_oct_26_2032"],
        }
    }
    path = write_yaml("restates.yaml", small)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "events.hit.restates" in err and "us_strike_oct_26_2023" in err  # the suggestion
    small["events"]["hit"]["restates"] = ["us_strike_oct_26_2023"]
    assert main(["validate", str(write_yaml("restates.yaml", small))]) == 0
