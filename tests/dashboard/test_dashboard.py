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
def open_page(browser, dashboard_url):
    """Open the dashboard in a browser context of its own (its own tab state) at a width."""
    contexts, errors = [], []

    def opener(width: int = 1600, height: int = 1000):
        context = browser.new_context(
            viewport={"width": width, "height": height}, accept_downloads=True
        )
        contexts.append(context)
        pg = context.new_page()
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        pg.goto(dashboard_url)
        return pg

    yield opener
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def page(open_page):
    return open_page()


FINISHED = """job => document.body.dataset.complete === 'true'
  && Number(document.body.dataset.result) >= job
  && document.body.dataset.state !== 'running'
  && document.querySelector('#tempo-svg')
  && document.querySelector('#tempo-svg').dataset.job === document.body.dataset.result"""


def plot_hash(page) -> str:
    """A digest of the tempo chart as drawn."""
    svg = page.eval_on_selector("#tempo-svg", "e => e.outerHTML")
    assert svg.startswith("<svg")
    return hashlib.sha256(svg.encode()).hexdigest()


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
    shots = os.environ.get("DASHBOARD_SCREENSHOTS")  # a folder: keep the pictures of the page
    if shots:
        page.set_viewport_size({"width": 1024, "height": 900})
        page.wait_for_function("document.querySelector('#tempo-box').dataset.width < 800")
        page.screenshot(path=str(Path(shots) / "dashboard.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_function("document.querySelector('#tempo-box').dataset.width < 390")
        page.locator("main").screenshot(path=str(Path(shots) / "dashboard-390.png"))


LABEL_BOXES = """() => [...document.querySelectorAll(
  '#tempo-svg .event-badge, #tempo-svg .phase-label, #tempo-svg .panel-title, #event-key li')]
  .map(e => { const r = e.getBoundingClientRect();
    return [e.getAttribute('class') || e.tagName, r.left, r.top, r.right, r.bottom]; })"""


def overlapping(boxes: list) -> list:
    """Pairs of boxes (name, left, top, right, bottom) whose areas overlap."""
    return [
        (a[0], b[0])
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]
    ]


@pytest.mark.slow
@pytest.mark.parametrize("width", [1024, 390])
def test_the_tempo_charts_labels_never_overlap_and_hovering_explains(open_page, width):
    page = open_page(width, 900)
    page.wait_for_function(FINISHED, arg=1, timeout=60_000)
    events = page.evaluate("() => RESULT.tempo.events.length")
    assert events > 10  # the baseline's timeline marks its events
    boxes = page.evaluate(LABEL_BOXES)
    kinds = [b[0] for b in boxes]
    assert kinds.count("event-badge") == kinds.count("LI") == events
    assert kinds.count("panel-title") >= page.evaluate("() => RESULT.tempo.panels.length")
    assert overlapping(boxes) == []
    chart = page.eval_on_selector("#tempo-svg", "e => e.getBoundingClientRect().right")
    assert chart <= width  # the chart fits the screen: nothing to scroll sideways
    assert all(b[3] <= width for b in boxes)

    first = page.evaluate("() => RESULT.tempo.events[0]")
    page.hover('#tempo-svg .event-badge[data-event="1"]')
    tip = page.locator("#tempo-box .tip")
    assert tip.is_visible() and first["label"] in tip.inner_text()
    assert "lit" in page.get_attribute('#event-key li[data-event="1"]', "class")
    box = page.locator('#tempo-svg .panel[data-panel="0"] path').first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] - 2)
    assert "90% band" in tip.inner_text()


@pytest.mark.slow
def test_two_tabs_run_different_scenarios_and_each_sees_its_own(open_page):
    first, second = open_page(1024, 900), open_page(1024, 900)
    for pg in (first, second):  # each tab runs the baseline when it opens
        pg.wait_for_function(FINISHED, arg=1, timeout=60_000)
    before = int(first.get_attribute("body", "data-result"))
    second.select_option("#scenario", "no_facades")
    second.wait_for_function("!document.querySelector('#deniability-facades').checked")
    job = int(second.get_attribute("body", "data-result"))
    second.click("#run")
    second.wait_for_function(FINISHED, arg=job + 1, timeout=60_000)
    assert "no_facades" in second.inner_text("#changes")
    first.reload()  # the first tab's own result, not the second tab's latest
    first.wait_for_function(FINISHED, arg=before, timeout=60_000)
    assert int(first.get_attribute("body", "data-result")) == before
    assert "baseline" in first.inner_text("#changes")
    assert first.input_value("#scenario") == "baseline"
    assert plot_hash(first) != plot_hash(second)


def fetch_download(page, selector: str, folder: Path) -> Path:
    """Click a download link and keep the file it gives."""
    with page.expect_download() as info:
        page.click(selector)
    path = folder / info.value.suggested_filename
    info.value.save_as(path)
    return path


@pytest.mark.slow
def test_downloads_give_the_tables_figures_and_the_scenario_as_set(open_page, tmp_path):
    from escalation.dashboard.controls import CONTROLS, scenario_value
    from escalation.scenario.loading import load_scenario

    page = open_page(1024, 900)
    page.wait_for_function(FINISHED, arg=1, timeout=60_000)
    job = int(page.get_attribute("body", "data-result"))
    page.select_option("#us-doctrine-trigger", "casualties")
    page.fill("#us-doctrine-delay_days-box", "5")
    page.check("#hold")
    page.click("#run")
    page.wait_for_function(FINISHED, arg=job + 1, timeout=60_000)
    tempo = page.evaluate("() => RESULT.tempo")
    runs = tempo["runs"]

    monthly = fetch_download(page, "#dl-monthly-csv", tmp_path).read_text().splitlines()
    assert monthly[0] == "run,month,series,value"
    series = {line.split(",")[2] for line in monthly[1:]}
    assert {p["series"] for p in tempo["panels"]} <= series
    assert len(monthly) - 1 == runs * len(tempo["panels"][0]["months"]) * len(series)

    events = fetch_download(page, "#dl-events-csv", tmp_path).read_text().splitlines()
    assert events[0].startswith("run,") and "action" in events[0].split(",")
    shown = page.evaluate("() => RESULT.events.rows.length")
    assert sum(1 for row in events[1:] if row.startswith("0,")) == shown

    yaml_file = fetch_download(page, "#dl-scenario-yaml", tmp_path)
    loaded = load_scenario(yaml_file)
    assert loaded.us.doctrine.trigger == "casualties" and loaded.us.doctrine.delay_days == 5
    assert HOLD_EVENT not in loaded.events
    for control in CONTROLS:  # every value equals the one set on the page
        sel = "#" + control.key.replace(".", "-")
        if control.kind == "number":
            on_page = pytest.approx(float(page.input_value(sel + "-box")))
        elif control.kind == "choice":
            on_page = page.input_value(sel)
        else:
            on_page = page.is_checked(sel)
        assert scenario_value(loaded, control.key) == on_page, control.key
    assert main(["validate", str(yaml_file)]) == 0

    png = fetch_download(page, "#dl-tempo-png", tmp_path).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    svg = fetch_download(page, "#dl-svg", tmp_path)
    import xml.etree.ElementTree as ET

    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg") and float(root.get("width")) == 1100
    circles = root.findall(".//{http://www.w3.org/2000/svg}circle")
    assert len(circles) == len(tempo["events"])
    text = "".join(root.itertext())
    assert all(e["label"] in text for e in tempo["events"])  # the figure keys its events


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

    monkeypatch.setattr(runner, "_task", _spin)
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
