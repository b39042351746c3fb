"""The survey of bad and unusual inputs (`data/survey.yaml`): every case a careful user or an
attacker might type, across scenario files, ``--set``, ``run`` options, sweep files, calibration
files, ACLED imports and the dashboard's HTTP API, with the outcome it must have. A case fails
on a traceback, on the wrong exit code or HTTP status, on an error that does not name what was
wrong, or on a file written outside the case's folder or its ``results/``."""

from __future__ import annotations

import contextlib
import csv
import http.client
import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from escalation.cli.main import main
from escalation.dashboard.server import make_server
from escalation.record.acled import REQUIRED_COLUMNS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SURVEY: dict[str, list[dict[str, Any]]] = yaml.safe_load(
    (HERE / "data" / "survey.yaml").read_text(encoding="utf-8")
)
COMMAND_CASES = [
    pytest.param(case, id=f"{category}:{case['id']}")
    for category, cases in SURVEY.items()
    if category != "dashboard"
    for case in cases
]
HTTP_CASES = [pytest.param(case, id=f"dashboard:{case['id']}") for case in SURVEY["dashboard"]]


def _bomb(levels: int = 7) -> str:
    """A billion-laughs document: each level ten aliases of the one before."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        refs = ", ".join([f"*l{i - 1}"] * 10)
        lines.append(f"l{i}: &l{i} [{refs}]")
    return "\n".join(lines) + "\n"


def _acled(date: str) -> str:
    """An ACLED export of one convoy IED on ``date``."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(REQUIRED_COLUMNS))
    writer.writeheader()
    row = dict.fromkeys(REQUIRED_COLUMNS, "")
    row |= {
        "event_id_cnty": "IRQ1",
        "event_date": date,
        "event_type": "Explosions/Remote violence",
        "sub_event_type": "Remote explosive/landmine/IED",
        "actor1": "Unidentified Armed Group (Iraq)",
        "actor2": "Civilians (Iraq)",
        "notes": "An IED targeted a convoy carrying logistical supplies for the US-led coalition.",
    }
    writer.writerow(row)
    return buffer.getvalue()


def _sweep_bomb(where: str, small: str) -> str:
    bomb = _bomb().replace("\n", "\n  ")
    body = f"name: w\nscenario: {small}\n"
    if where == "set":
        return body + f"bombs:\n  {bomb}\nset: {{context: *l6}}\nparameters: {{}}\n"
    return body + f"bombs:\n  {bomb}\nparameters: {{us.doctrine.severity: {{values: *l6}}}}\n"


def _special(text: str, small: str) -> str:
    """The contents that are easier to make than to write down."""
    deep = "[" * 5000 + "]" * 5000
    return {
        "@deep": f"extends: {small}\ncontext: {deep}\n",
        "@bomb-set": _sweep_bomb("set", small),
        "@bomb-values": _sweep_bomb("values", small),
        "@bomb-cal": (
            f"name: c\nscenario: {small}\nbombs:\n  {_bomb().replace(chr(10), chr(10) + '  ')}"
            "set: {context: *l6}\nparameters: {militias.A.resolve: {low: -5, high: -1}}\n"
        ),
        "@acled-9999": _acled("9999-01-01"),
        "@acled-feb-30": _acled("2021-02-30"),
        "@acled-valid": _acled("2021-02-20"),
    }.get(text, text)


def _set_value(arg: str) -> str:
    """``--set KEY=@deep`` and ``KEY=@bomb``: a value nested 5,000 deep, or an alias bomb."""
    key, _, value = arg.partition("=")
    if value == "@deep":
        return f"{key}={'[' * 5000}{']' * 5000}"
    if value == "@bomb":
        levels = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
        levels += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 7)]
        return f"{key}={{{', '.join(levels)}}}"
    return arg


def _fill(text: str, folder: Path, small: Path) -> str:
    return (
        text.replace("{HIST}", str(ROOT / "scenarios" / "historical.yaml"))
        .replace("{BASE}", str(ROOT / "scenarios" / "baseline.yaml"))
        .replace("{SMALL}", str(small))
        .replace("{DIR}", str(folder))
    )


def _snapshot(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


@contextlib.contextmanager
def _outside_unchanged(folder: Path) -> Iterator[None]:
    """Nothing may be written beside the case's folder (its parent holds only it)."""
    parent = folder.parent
    before = {p.name for p in parent.iterdir()}
    yield
    assert {p.name for p in parent.iterdir()} == before, "wrote beside the case's folder"


@pytest.mark.parametrize("case", COMMAND_CASES)
def test_command_case(case, small, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "case"
    folder.mkdir()
    small_path = folder / "small.yaml"
    small_path.write_text(yaml.safe_dump(small), encoding="utf-8")
    for name, content in (case.get("files") or {}).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(_fill(_special(content, str(small_path)), folder, small_path), "utf-8")
    argv = [_set_value(_fill(a, folder, small_path)) for a in case["argv"]]
    monkeypatch.chdir(folder)
    written_before = _snapshot(folder)
    with _outside_unchanged(folder):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code
    out = capsys.readouterr()
    assert "Traceback" not in out.err + out.out
    assert code == case["exit"], out.err[-2000:]
    for fragment in case.get("says", []):
        assert _fill(fragment, folder, small_path) in out.err, out.err[-2000:]
    new = _snapshot(folder) - written_before
    stray = [p for p in new if not p.is_relative_to(folder / "results")]
    assert not stray, f"wrote outside results/: {stray}"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    """A dashboard over a folder holding a one-year scenario named baseline, serial runs."""
    from tests.conftest import SMALL

    folder = tmp_path_factory.mktemp("scenarios")
    (folder / "baseline.yaml").write_text(yaml.safe_dump(SMALL), encoding="utf-8")
    httpd = make_server("127.0.0.1", 0, scenarios=folder, replicates=2, jobs=1)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _body(text: str) -> bytes:
    if text == "@deep-json":
        return ('{"scenario": "baseline", "values": ' + "[" * 5000 + "]" * 5000 + "}").encode()
    if text == "@big-json":
        return ('{"scenario": "baseline", "pad": "' + "x" * 2_000_000 + '"}').encode()
    return text.encode()


@pytest.mark.parametrize("case", HTTP_CASES)
def test_http_case(case, server):
    host, port = server.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    body = _body(case["body"]) if "body" in case else None
    headers = {"Content-Type": "application/json"}
    if body is not None:
        headers["Content-Length"] = str(len(body))
    headers |= case.get("headers", {})
    try:
        conn.putrequest(case["method"], case["path"], skip_accept_encoding=True)
        for key, value in headers.items():
            conn.putheader(key, value)
        conn.endheaders()
        if body is not None:
            with contextlib.suppress(OSError):  # a server that refuses early may close first
                conn.send(body)
        response = conn.getresponse()
        status, text = response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()
    assert status == case["status"], text[:500]
    assert "Traceback" not in text
    if status >= 400 and text.strip().startswith("{"):
        message = json.loads(text).get("error", "")
        for fragment in case.get("says", []):
            assert fragment in message, message
