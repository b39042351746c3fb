"""Property-based fuzzing of what a user can type: random YAML documents and mutated scenario
files fed to ``escalation validate``, random ``--set`` strings, random sweep files. Whatever the
input: exit 0 or 2 (never a traceback), a bounded time per input, bounded memory, and nothing
written anywhere. Bounded to well under a minute: a fixed number of examples, derandomized so CI
sees the same inputs every run."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import io
import os
import resource
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalation.cli.main import main
from escalation.errors import UserError
from escalation.experiments.sweep import load_sweep

FUZZ = settings(
    max_examples=250,
    deadline=None,  # timed below, with a bound that a loaded machine still meets
    derandomize=True,
    # the `small` fixture is only read (mutations work on copies), so one per test is right
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
PER_INPUT_SECONDS = 10

KEYS = [
    "name", "start", "end", "step_days", "context", "tension", "militias", "A", "B",
    "compliance", "resolve", "rivals", "repertoire", "us", "doctrine", "severity", "trigger",
    "delay_days", "events", "date", "type", "set", "weapons", "rocket", "sizes", "extends",
    "iran", "resupply", "amounts", "militia_defaults", "motives", "base",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
    st.sampled_from(["never", "casualties", "2020-02-30", "0001-01-01", "", "x" * 300]),
    st.text(max_size=20),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(min_size=1, max_size=12))
trees = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=25,
)
# YAML fragments that break parsers: anchors, aliases, tags, flow nesting, odd dates
fragments = st.sampled_from(
    [
        "&a [x, x]", "*a", "[" * 300, "{" * 60, "!!python/object:os.system", "!!binary ###",
        "2020-02-30", "2020-13-01 10:00:00", ".inf", "-.nan", "1e309", "<<: *a", "? [a]\n: b",
        "'unclosed", "a: b: c", "\t", "\x00", "- x\ny: 1", "~", "@x", "`x", "%YAML 9.9",
    ]
)  # fmt: skip
paths = st.lists(st.sampled_from(KEYS), min_size=1, max_size=5).map(".".join)


@contextlib.contextmanager
def bounded(workdir: Path) -> Iterator[None]:
    """Run one input from ``workdir``; fail if it takes too long or writes any file."""
    before = {p for p in workdir.rglob("*")}
    cwd = Path.cwd()
    os.chdir(workdir)
    t0 = time.perf_counter()
    try:
        yield
    finally:
        os.chdir(cwd)
    assert time.perf_counter() - t0 < PER_INPUT_SECONDS
    assert {p for p in workdir.rglob("*")} == before


def validate(argv: list[str]) -> int:
    """``escalation validate`` as the command line runs it: the exit code, output swallowed.
    Anything but a user error propagates and fails the test."""
    with (
        contextlib.redirect_stderr(io.StringIO()) as err,
        contextlib.redirect_stdout(io.StringIO()),
    ):
        code = main(["validate", *argv])
    assert "Traceback" not in err.getvalue()
    return code


def mutated(data: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    node: Any = out
    for part in path[:-1]:
        if not isinstance(node, dict):
            return out
        node = node.setdefault(part, {})
    if isinstance(node, dict):
        node[path[-1]] = value
    return out


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@FUZZ
@given(tree=trees, fragment=st.one_of(st.none(), fragments), raw=st.text(max_size=200))
def test_random_yaml_documents(tree: Any, fragment: str | None, raw: str) -> None:
    rss = max_rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        text = yaml.safe_dump(tree) if fragment is None else f"x: {fragment}\n{raw}"
        (folder / "s.yaml").write_text(text, encoding="utf-8")
        with bounded(folder):
            assert validate(["s.yaml"]) in (0, 2)
    assert max_rss_mb() - rss < 500


@FUZZ
@given(path=st.lists(st.sampled_from(KEYS), min_size=1, max_size=4), value=trees)
def test_mutated_scenarios(small: dict[str, Any], path: list[str], value: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        text = yaml.safe_dump(mutated(small, path, value), sort_keys=False)
        (folder / "s.yaml").write_text(text, encoding="utf-8")
        with bounded(folder):
            assert validate(["s.yaml"]) in (0, 2)


@FUZZ
@given(
    key=st.one_of(paths, st.text(max_size=20)),
    value=st.one_of(fragments, st.text(max_size=40), scalars.map(str)),
)
def test_random_set_strings(small: dict[str, Any], key: str, value: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "s.yaml").write_text(yaml.safe_dump(small), encoding="utf-8")
        with bounded(folder):
            assert validate(["s.yaml", "--set", f"{key}={value}"]) in (0, 2)


sweep_values = st.fixed_dictionaries(
    {
        "name": st.one_of(st.just("w"), scalars),
        "scenario": st.one_of(st.just("s.yaml"), scalars),
        "parameters": st.one_of(
            trees,
            st.dictionaries(
                paths,
                st.one_of(
                    trees,
                    st.fixed_dictionaries(
                        {"low": scalars, "high": scalars},
                        optional={"levels": scalars, "type": scalars, "log": scalars},
                    ),
                    st.fixed_dictionaries({"values": st.lists(scalars, max_size=5)}),
                ),
                max_size=3,
            ),
        ),
    },
    optional={
        "design": st.one_of(
            trees,
            st.fixed_dictionaries(
                {"method": st.sampled_from(["grid", "lhs", "sobol", "x"])},
                optional={"samples": scalars, "seed": scalars},
            ),
        ),
        "replicates": scalars,
        "set": st.dictionaries(paths, trees, max_size=3),
        "outcomes": trees,
    },
)


@FUZZ
@given(sweep=sweep_values, fragment=st.one_of(st.none(), fragments))
def test_random_sweep_files(
    small: dict[str, Any], sweep: dict[str, Any], fragment: str | None
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "s.yaml").write_text(yaml.safe_dump(small), encoding="utf-8")
        text = yaml.safe_dump(sweep) + (f"extra: {fragment}\n" if fragment else "")
        (folder / "w.yaml").write_text(text, encoding="utf-8")
        with bounded(folder), contextlib.suppress(UserError):
            load_sweep("w.yaml")
