"""``escalation dashboard``: settings validation, and the JSON API with its background worker, its
state per browser tab and its downloads (the page itself is driven in a browser by
``test_page.py``)."""

from __future__ import annotations

import json
import threading
import time
import typing
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from escalation import ScenarioError, UserError
from escalation.cli.main import main
from escalation.dashboard.library import HOLD_EVENT, Library
from escalation.dashboard.server import make_server
from escalation.scenario import schema as C

ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- settings


@pytest.fixture(scope="module")
def library() -> Library:
    return Library(ROOT / "scenarios")


def test_unchanged_values_give_the_scenario_itself(library):
    values = library.describe("baseline")["values"]
    s = library.settings({"scenario": "baseline", "values": values, "replicates": 5, "seed": 3})
    assert s.overrides == {}
    assert s.variant is s.base
    assert s.command() == "escalation run " + str(ROOT / "scenarios" / "baseline.yaml") + (
        " -n 5 --seed 3"
    )


def test_changed_values_and_hold_become_overrides(library):
    s = library.settings(
        {
            "scenario": "baseline",
            "values": {"us.doctrine.severity": 2.0, "deniability.facades": False},
            "hold": True,
        }
    )
    assert s.overrides == {
        "us.doctrine.severity": 2.0,
        "deniability.facades": False,
        f"events.{HOLD_EVENT}": None,
    }
    assert s.variant.us.doctrine.severity == 2.0
    assert HOLD_EVENT not in s.variant.events
    assert "--set events.biden_doctrine=null" in s.command()
    assert "--set deniability.facades=false" in s.command()


def test_a_value_the_schema_rejects_is_a_one_paragraph_error(library):
    with pytest.raises(ScenarioError) as info:
        library.settings({"scenario": "baseline", "values": {"us.doctrine.severity": -1}})
    text = str(info.value)
    assert "us.doctrine.severity" in text and "expected a number > 0" in text
    assert "\n" not in text


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        ({"scenario": "nowhere"}, "no such file"),
        ({"scenario": "baseline", "replicates": 0}, "replicates: expected a whole number"),
        ({"scenario": "baseline", "replicates": "many"}, "replicates: expected a whole number"),
        ({"scenario": "baseline", "seed": -2}, "seed: expected a whole number"),
        ({"scenario": "baseline", "values": {"us.doctrine.bogus": 1}}, "not a parameter"),
    ],
)
def test_bad_requests_say_what_was_expected(library, request_, expected):
    with pytest.raises(UserError, match=expected):
        library.settings(request_)


def schema_field(key: str):
    """The schema's field behind a control's key (``militia_defaults`` holds militia fields)."""
    parts = key.split(".")
    model = C.Scenario
    if parts[0] == "militia_defaults":
        model, parts = C.Militia, parts[1:]
    for part in parts[:-1]:
        model = model.model_fields[part].annotation
    return model.model_fields[parts[-1]]


def test_controls_take_their_help_and_slider_ends_from_the_schema(library, api):
    _, config = call(api + "api/config")
    for control in config["params"]:
        info = schema_field(control["key"])
        assert control["help"].startswith(info.description), control["key"]
        assert control["default"] == info.get_default(call_default_factory=True)
        if control["kind"] == "number":  # both ends of a slider are values the schema accepts
            for end in (control["low"], control["high"]):
                values = {control["key"]: end}
                library.settings({"scenario": "baseline", "values": values})


def test_every_menu_offers_exactly_the_schema_choices(api):
    _, config = call(api + "api/config")
    menus = {c["key"]: c["choices"] for c in config["params"] if c["kind"] == "choice"}
    literal = {
        c["key"]
        for c in config["params"]
        if typing.get_origin(schema_field(c["key"]).annotation) is typing.Literal
    }
    assert set(menus) == literal
    for key, choices in menus.items():
        assert choices == list(typing.get_args(schema_field(key).annotation)), key
    assert menus["us.doctrine.trigger"] == list(typing.get_args(C.Trigger))
    assert "casualties_or_attacks" in menus["us.doctrine.trigger"]


def test_missing_scenario_folder_is_a_user_error(tmp_path, capsys):
    code = main(["dashboard", "--no-browser", "--scenarios", str(tmp_path / "none")])
    assert code == 2
    err = capsys.readouterr().err
    assert "no such folder" in err and "Traceback" not in err


# --------------------------------------------------------------------------- the JSON API


def call(url: str, body: dict | None = None, tab: str | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    req.add_header("Content-Type", "application/json")
    if tab is not None:
        req.add_header("X-Tab", tab)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_until(url: str, done, timeout: float = 60, tab: str | None = None) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, status = call(url + "api/status", tab=tab)
        if done(status):
            return status
        time.sleep(0.1)
    raise AssertionError(f"timed out; last status {status}")


@pytest.fixture
def api(small, tmp_path) -> Iterator[str]:
    """A dashboard on a free port over a folder holding the small scenario, serial runs."""
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "baseline.yaml").write_text(yaml.safe_dump(small), encoding="utf-8")
    server = make_server("127.0.0.1", 0, scenarios=folder, replicates=3, jobs=1)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()
        server.dashboard.close()
        thread.join()


def test_api_runs_in_the_background_and_compares_with_the_scenario(api):
    code, config = call(api + "api/config")
    assert code == 200 and config["scenarios"] == ["baseline"]
    code, sc = call(api + "api/scenario?id=baseline")
    assert code == 200 and sc["values"]["us.doctrine.severity"] == 1.0
    bad_values = {"us.doctrine.delay_days": 2.5}
    code, bad = call(api + "api/run", {"scenario": "baseline", "values": bad_values})
    assert code == 400 and "us.doctrine.delay_days" in bad["error"]
    body = {"scenario": "baseline", "values": {"us.doctrine.trigger": "every_attack"}}
    code, job = call(api + "api/run", {**body, "replicates": 3})
    assert code == 200
    t0 = time.monotonic()
    code, _ = call(api + "api/status")  # answered while the ensemble runs
    assert code == 200 and time.monotonic() - t0 < 1.0
    status = wait_until(api, lambda s: s["state"] == "done" and s["result"] == job["job"])
    assert status["done"] == status["total"] == 6  # your settings, then the scenario
    code, result = call(api + "api/result")
    assert result["complete"] and result["overrides"] == {"us.doctrine.trigger": "every_attack"}
    assert result["events"]["rows"] and result["events"]["columns"][0] == "date"
    overall = [r for r in result["differences"]["rows"] if r["period"] == "overall"]
    assert {r["metric"] for r in overall} >= {"attacks_on_us", "us_wounded", "retaliations"}
    strikes = next(r for r in overall if r["metric"] == "retaliations")
    assert strikes["mean"] >= strikes["reference_mean"]
    with urllib.request.urlopen(api + "api/tempo.png", timeout=10) as r:
        assert r.read(8) == b"\x89PNG\r\n\x1a\n"


def test_the_page_and_its_files_are_served(api):
    with urllib.request.urlopen(api, timeout=10) as r:
        assert r.headers.get_content_type() == "text/html"
        page = r.read().decode()
    assert '<script src="app.js">' in page and 'href="style.css"' in page
    assert '<script src="tempo.js">' in page
    for name, ctype in (
        ("app.js", "text/javascript"),
        ("tempo.js", "text/javascript"),
        ("style.css", "text/css"),
    ):
        with urllib.request.urlopen(api + name, timeout=10) as r:
            assert r.headers.get_content_type() == ctype and r.read()
    for path in ("server.py", "static/app.js", "../pyproject.toml"):
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(api + path, timeout=10)
        assert info.value.code == 404


def test_posts_must_be_json(api):
    req = urllib.request.Request(api + "api/run", data=b"scenario=baseline", method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=10)
    assert info.value.code == 400
    assert "expected JSON" in json.loads(info.value.read())["error"]


def test_a_new_run_supersedes_the_one_in_flight(api):
    first = call(api + "api/run", {"scenario": "baseline", "replicates": 40})[1]["job"]
    second = call(api + "api/run", {"scenario": "baseline", "replicates": 2, "seed": 5})[1]["job"]
    status = wait_until(api, lambda s: s["state"] == "done")
    assert status["job"] == status["result"] == second != first
    _, result = call(api + "api/result")
    assert result["replicates"] == 2 and result["seed"] == 5


def test_cancel_stops_the_run(api):
    call(api + "api/run", {"scenario": "baseline", "replicates": 200})
    assert call(api + "api/cancel", {})[1]["cancelled"]
    status = wait_until(api, lambda s: s["state"] == "cancelled", timeout=20)
    assert status["result"] is None


TAB_A, TAB_B = "tab-aaaaaaaa", "tab-bbbbbbbb"


def download(url: str, name: str, tab: str | None = None) -> tuple[int, str, bytes]:
    """A download of a tab's result: status, Content-Disposition and body."""
    query = f"?tab={tab}" if tab else ""
    try:
        with urllib.request.urlopen(f"{url}api/download/{name}{query}", timeout=30) as r:
            return r.status, r.headers.get("Content-Disposition", ""), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, "", exc.read()


def test_each_tab_has_its_own_run_and_result(api):
    severe = {"us.doctrine.severity": 2.0}
    _, a = call(api + "api/run", {"scenario": "baseline", "replicates": 2, "seed": 1}, TAB_A)
    _, b = call(
        api + "api/run",
        {"scenario": "baseline", "replicates": 3, "seed": 5, "values": severe},
        TAB_B,
    )
    for tab, job in ((TAB_A, a), (TAB_B, b)):
        wait_until(api, lambda s, j=job: s["state"] == "done" and s["result"] == j["job"],
                   tab=tab)  # fmt: skip
    _, mine = call(api + "api/result", tab=TAB_A)
    _, theirs = call(api + "api/result", tab=TAB_B)
    assert (mine["seed"], mine["replicates"], mine["overrides"]) == (1, 2, {})
    assert (theirs["seed"], theirs["replicates"], theirs["overrides"]) == (5, 3, severe)
    # a client that names no tab has its own (shared) state, untouched by the tabs
    assert call(api + "api/result")[0] == 404
    assert call(api + "api/status")[1]["result"] is None


def test_a_cancel_in_one_tab_leaves_the_other_tabs_run(api):
    _, a = call(api + "api/run", {"scenario": "baseline", "replicates": 300}, TAB_A)
    wait_until(api, lambda s: s["stage"] == "variant", tab=TAB_A)
    call(api + "api/run", {"scenario": "baseline", "replicates": 300}, TAB_B)
    status_b = call(api + "api/status", tab=TAB_B)[1]
    assert status_b["state"] == "running" and "other pages" in status_b["message"]
    assert call(api + "api/cancel", {}, TAB_B)[1]["cancelled"]
    assert call(api + "api/status", tab=TAB_B)[1]["state"] == "cancelled"
    status_a = call(api + "api/status", tab=TAB_A)[1]
    assert status_a["state"] == "running" and status_a["job"] == a["job"]
    assert call(api + "api/cancel", {}, TAB_A)[1]["cancelled"]
    wait_until(api, lambda s: s["state"] == "cancelled", tab=TAB_A, timeout=30)


def test_tabs_are_bounded_and_the_oldest_is_dropped_with_its_run(small, tmp_path):
    from escalation.dashboard.jobs import Dashboard

    (tmp_path / "baseline.yaml").write_text(yaml.safe_dump(small), encoding="utf-8")
    dash = Dashboard(tmp_path, replicates=2, jobs=1, max_tabs=2)
    try:
        dash.submit("first-tab", {"scenario": "baseline", "replicates": 300})
        job = dash.tabs["first-tab"].pending
        dash.status("second-tab")
        assert list(dash.tabs) == ["first-tab", "second-tab"]
        dash.status("first-tab")  # seen again: now the most recent
        dash.status("third-tab")
        assert list(dash.tabs) == ["first-tab", "third-tab"]
        dash.status("fourth-tab")
        assert list(dash.tabs) == ["third-tab", "fourth-tab"]
        assert job.cancel.is_set() or job.superseded  # the dropped tab's run is stopped
        assert job not in dash.queue
    finally:
        dash.close()


@pytest.mark.parametrize("token", ["short", "has space in it", "x" * 65, "../../etc/passwd"])
def test_a_malformed_tab_is_a_400_naming_it(api, token):
    code, answer = call(api + "api/status", tab=token)
    assert code == 400 and answer["error"].startswith("tab: expected 8 to 64")


def test_downloads_are_the_results_tables_figure_and_scenario(api, tmp_path):
    from escalation.scenario.loading import load_scenario

    assert download(api, "monthly.csv", TAB_A)[0] == 404  # no result yet
    values = {"us.doctrine.trigger": "every_attack", "us.doctrine.severity": 2.5}
    body = {"scenario": "baseline", "replicates": 3, "seed": 4, "values": values}
    _, job = call(api + "api/run", body, TAB_A)
    wait_until(api, lambda s: s["state"] == "done" and s["result"] == job["job"], tab=TAB_A)
    _, result = call(api + "api/result", tab=TAB_A)
    months = len(result["tempo"]["panels"][0]["months"])

    code, disposition, monthly = download(api, "monthly.csv", TAB_A)
    assert code == 200 and f'filename="baseline-{job["job"]}-monthly.csv"' in disposition
    lines = monthly.decode().splitlines()
    assert lines[0] == "run,month,series,value"
    series = {line.split(",")[2] for line in lines[1:]}
    assert len(lines) - 1 == 3 * months * len(series)
    assert {line.split(",")[0] for line in lines[1:]} == {"0", "1", "2"}

    _, _, events = download(api, "events.csv", TAB_A)
    rows = events.decode().splitlines()
    assert rows[0].startswith("run,") and "action" in rows[0].split(",")
    first_run = [r for r in rows[1:] if r.startswith("0,")]
    assert len(first_run) == len(result["events"]["rows"]) > 0  # the page's log of run 1

    _, _, png = download(api, "tempo.png", TAB_A)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000

    _, _, text = download(api, "scenario.yaml", TAB_A)
    (tmp_path / "mine.yaml").write_bytes(text)
    loaded = load_scenario(tmp_path / "mine.yaml")
    assert loaded.us.doctrine.trigger == "every_attack" and loaded.us.doctrine.severity == 2.5
    reference = load_scenario(result["file"], values)
    assert loaded.model_dump() == reference.model_dump()  # as configured, no more, no less
    assert main(["validate", str(tmp_path / "mine.yaml")]) == 0

    assert download(api, "monthly.csv", TAB_B)[0] == 404  # another tab has none
    code, _, answer = download(api, "secrets.txt", TAB_A)
    assert code == 404 and "expected one of: monthly.csv" in json.loads(answer)["error"]


def test_the_tempo_chart_data_holds_bands_record_phases_and_events(api):
    _, job = call(api + "api/run", {"scenario": "baseline", "replicates": 3}, TAB_A)
    wait_until(api, lambda s: s["state"] == "done" and s["result"] == job["job"], tab=TAB_A)
    tempo = call(api + "api/result", tab=TAB_A)[1]["tempo"]
    assert tempo["start"] == "2020-01-01" and tempo["runs"] == 3
    for panel in tempo["panels"]:
        n = len(panel["months"])
        assert n == 12 and len(panel["low"]) == len(panel["median"]) == len(panel["high"]) == n
        assert all(lo <= m <= hi for lo, m, hi in zip(panel["low"], panel["median"],
                                                     panel["high"], strict=True))  # fmt: skip
    marks = [m for p in tempo["panels"] for f in p["record"] for m in f["marks"]]
    assert marks and {m["shape"] for m in marks} <= {"line", "box", "up", "down", "zero", "star"}
    assert tempo["phases"] and all(p["start"] <= p["end"] for p in tempo["phases"])


def test_a_setting_the_timeline_replaces_is_reported_unless_held(library):
    from escalation.scenario.superseded import superseded_settings

    doctrine = library.settings(
        {"scenario": "baseline", "values": {"us.doctrine.theatre": "leadership"}}
    )
    assert superseded_settings(doctrine.variant) == []  # a doctrine value holds as it is
    assert "theatre" not in doctrine.variant.events[HOLD_EVENT].changes
    posture = library.settings(
        {"scenario": "baseline", "values": {"us.posture.force_protection": 0.7}}
    )
    (warning,) = superseded_settings(posture.variant)
    assert "us.posture.force_protection" in warning and "us_leaves_small_bases" in warning


# --------------------------------------------------------------------------- bad requests


def post_raw(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict, float]:
    """POST ``body`` with exactly ``headers``; the status, the JSON answer and the seconds."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
    t0 = time.monotonic()
    try:
        conn.putrequest("POST", parts.path)
        for key, value in headers.items():
            conn.putheader(key, value)
        conn.endheaders()
        if body:
            conn.send(body)
        r = conn.getresponse()
        return r.status, json.loads(r.read()), time.monotonic() - t0
    finally:
        conn.close()


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"scenario": "baseline", "values": {"us.doctrine.severity": 1e309}}',
         "values.us.doctrine.severity: expected a finite number, got inf"),
        (b'{"scenario": "baseline", "values": {"us.doctrine.severity": NaN}}',
         "values.us.doctrine.severity: expected a finite number, got nan"),
        (b'{"scenario": "baseline", "seed": -Infinity}', "seed: expected a finite number"),
        (b'{"a": ' * 50_000 + b"1" + b"}" * 50_000, "nested more than 16 levels"),
        (b'{"a": [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]}', "nested more than 16 levels"),
    ],
)  # fmt: skip
def test_non_finite_numbers_and_deep_nesting_are_a_400_and_later_runs_still_go(api, body, where):
    code, answer, seconds = post_raw(
        api + "api/run", body, {**JSON, "Content-Length": str(len(body))}
    )
    assert code == 400 and where in answer["error"] and seconds < 5
    code, job = call(api + "api/run", {"scenario": "baseline", "replicates": 2})
    assert code == 200
    assert wait_until(api, lambda s: s["state"] == "done", timeout=30)["result"] == job["job"]


@pytest.mark.parametrize(
    ("length", "body", "status", "where"),
    [
        ("abc", b"{}", 400, "Content-Length: expected a whole number of bytes, got 'abc'"),
        ("-1", b"{}", 400, "Content-Length: expected a whole number of bytes, got '-1'"),
        ("2000000", b"", 413, "expected at most 1,000,000"),
    ],
)
def test_bad_content_lengths_are_refused_at_once(api, length, body, status, where):
    code, answer, seconds = post_raw(api + "api/run", body, {**JSON, "Content-Length": length})
    assert code == status and where in answer["error"]
    assert seconds < 2
    assert call(api + "api/status")[0] == 200  # and the server goes on


def _spin(task):
    """A run that never ends (as a non-finite value once made one)."""
    while True:
        pass


def test_cancel_stops_a_run_that_would_never_end(api, monkeypatch):
    import multiprocessing

    import escalation.experiments.runner as runner

    monkeypatch.setattr(runner, "run_task", _spin)
    call(api + "api/run", {"scenario": "baseline", "replicates": 2})
    wait_until(api, lambda s: s["state"] == "running" and s["stage"] == "variant")
    time.sleep(0.5)
    t0 = time.monotonic()
    assert call(api + "api/cancel", {})[1]["cancelled"]
    wait_until(api, lambda s: s["state"] == "cancelled", timeout=5)
    assert time.monotonic() - t0 < 5
    deadline = time.monotonic() + 5
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert multiprocessing.active_children() == []
    monkeypatch.undo()
    _, job = call(api + "api/run", {"scenario": "baseline", "replicates": 2})
    assert wait_until(api, lambda s: s["state"] == "done", timeout=30)["result"] == job["job"]
