"""``escalation dashboard``: the page itself, driven in headless Chromium (slow: the browser tests
need Chromium and the ``playwright`` package, which ``make test`` installs): running from the
controls, the tempo chart (labels that never overlap at 1,024 and 390 px, hover explanations),
two tabs with their own results, and every download."""

from __future__ import annotations

import hashlib
import os
import select
import shutil
import subprocess
import sys
import typing
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from escalation.cli.main import main
from escalation.dashboard.library import HOLD_EVENT
from tests.dashboard.test_dashboard import schema_field

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
    # the theatre set here holds over the timeline's change of doctrine in 2021: no warning
    assert page.locator("#warnings li").count() == 0
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
