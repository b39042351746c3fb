"""``escalation dashboard``: settings validation, the JSON API with its background worker, and
the page itself driven in headless Chromium (slow: the browser tests need Chromium and the
``playwright`` package, which ``make test`` installs)."""

from __future__ import annotations

import hashlib
import json
import os
import select
import shutil
import subprocess
import sys
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
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


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


def call(url: str, body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_until(url: str, done, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, status = call(url + "api/status")
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
    for name, ctype in (("app.js", "text/javascript"), ("style.css", "text/css")):
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


# --------------------------------------------------------------------------- the page


def chromium_path() -> str | None:
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        found = name and shutil.which(name)
        if found:
            return found
    return None


def need(what: str) -> None:
    """Skip on a developer's machine without the browser; fail in CI, where it must run."""
    message = f"the dashboard's browser test needs {what} (make test installs it)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def dashboard_url() -> Iterator[str]:
    """``escalation dashboard`` in a subprocess on a free loopback port."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "escalation.cli",
            "dashboard",
            "--no-browser",
            "--port",
            "0",
            "-n",
            "8",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        line = proc.stdout.readline() if ready else ""
        if "http://" not in line:
            proc.kill()
            raise AssertionError(f"the dashboard did not start: {line}{proc.stderr.read()}")
        yield "http://" + line.split("http://", 1)[1].split()[0]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need("the playwright package")
    path = chromium_path()
    if path is None:
        need("Chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=BROWSER_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, dashboard_url):
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(dashboard_url)
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


FINISHED = """job => document.body.dataset.complete === 'true'
  && Number(document.body.dataset.result) >= job
  && document.body.dataset.state !== 'running'
  && document.querySelector('#tempo')
  && document.querySelector('#tempo').dataset.loaded === document.body.dataset.result"""


def plot_hash(page) -> str:
    src = page.get_attribute("#tempo", "src")
    body = page.request.get(page.url.rstrip("/") + src).body()
    assert body[:4] == b"\x89PNG"
    return hashlib.sha256(body).hexdigest()


@pytest.mark.slow
def test_slider_run_changes_the_plot(page, tmp_path):
    page.wait_for_function(FINISHED, arg=1, timeout=60_000)  # the page runs the scenario on load
    before = plot_hash(page)
    first = int(page.get_attribute("body", "data-result"))
    assert "The scenario as written" in page.inner_text("#changes")
    assert page.locator("#warnings li").count() == 0

    slider = page.locator("#us-doctrine-severity")
    slider.focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    assert page.input_value("#us-doctrine-severity-box") == "2.0"
    assert "changed" in page.get_attribute('.field[data-key="us.doctrine.severity"]', "class")
    page.select_option("#us-doctrine-trigger", "every_attack")
    page.select_option("#us-doctrine-theatre", "leadership")
    page.click("#run")
    page.wait_for_function(FINISHED, arg=first + 1, timeout=60_000)

    assert plot_hash(page) != before
    changes = page.inner_text("#changes")
    assert "us.doctrine.severity" in changes and "every_attack" in changes
    # the theatre set here holds only until the timeline's change of doctrine in 2021
    assert "biden_doctrine" in page.inner_text("#warnings")
    assert page.locator("#events tbody tr").count() > 10
    page.select_option("#action", "retaliate")
    shown = page.locator("#events tbody tr")
    assert shown.count() > 0
    assert all(t == "retaliate" for t in shown.locator("td:nth-child(3)").all_inner_texts())
    rows = page.locator("#diff-body tbody tr")
    assert rows.count() == 5
    strikes = page.inner_text('#diff-body tr[data-metric="retaliations"] td:nth-child(4)')
    assert strikes.startswith("+")  # retaliating after every attack means more strikes
    assert page.locator("#error").is_hidden()
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    assert (tmp_path / "dashboard.png").stat().st_size > 50_000


@pytest.mark.slow
def test_menus_on_the_page_offer_the_schema_choices(page):
    page.wait_for_selector("body[data-ready]")
    menus = page.eval_on_selector_all(
        "#controls select[data-key]",
        "els => els.map(e => [e.dataset.key, [...e.options].map(o => o.value)])",
    )
    assert menus, "no menus on the page"
    for key, options in menus:
        assert options == list(typing.get_args(schema_field(key).annotation)), key
    assert "casualties_or_attacks" in dict(menus)["us.doctrine.trigger"]
    assert page.inner_text('#us-doctrine-trigger option[value="casualties_or_attacks"]') == (
        "casualties or attacks"
    )


@pytest.mark.slow
def test_invalid_setting_shows_the_message_not_a_traceback(page):
    page.wait_for_selector("body[data-ready]")  # controls hold the scenario's values
    page.fill("#us-doctrine-severity-box", "-1")
    page.click("#run")
    error = page.locator("#error")
    error.wait_for(state="visible", timeout=10_000)
    text = error.inner_text()
    assert "us.doctrine.severity" in text and "expected a number > 0" in text
    assert "Traceback" not in text
    page.fill("#replicates", "0")
    page.fill("#us-doctrine-severity-box", "1.0")
    page.click("#run")
    page.wait_for_function(
        "document.querySelector('#error').textContent.includes('replicates')", timeout=10_000
    )


def test_a_setting_the_timeline_replaces_is_reported_unless_held(library):
    from escalation.scenario.superseded import superseded_settings

    loose = library.settings(
        {"scenario": "baseline", "values": {"us.doctrine.theatre": "leadership"}}
    )
    (warning,) = superseded_settings(loose.variant)
    assert "us.doctrine.theatre" in warning and HOLD_EVENT in warning
    held = library.settings(
        {"scenario": "baseline", "values": {"us.doctrine.theatre": "leadership"}, "hold": True}
    )
    assert superseded_settings(held.variant) == []


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
