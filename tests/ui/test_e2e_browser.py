"""End to end in a real browser: the Streamlit app on the real stack, driven by Chromium.

Signs in (creating the first account), launches a sandbox (pagila when the provisioner
offers PostgreSQL, else chinook-sqlite), runs a query, sees the table and a chart, saves
the chart to a dashboard and opens it. A screenshot of every page goes to
``test-artifacts/screenshots/`` (sign-in, templates, playground, charts, dashboards,
schema, my sandboxes), each taken once the page's own content is there and no script run
is in flight: Streamlit's first paint is only a shell, so load events prove nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.orchestrator.conftest import Stack
from tests.servers import free_port, unavailable
from tests.ui.editor_driver import press, set_text

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
QUERIES = {
    "pagila": "SELECT c.name AS category, count(*) AS films\nFROM film_category fc\n"
              "JOIN category c USING (category_id)\nGROUP BY c.name ORDER BY films DESC;",
    "chinook-sqlite": "SELECT g.Name AS genre, count(*) AS tracks\nFROM Track t\n"
                      "JOIN Genre g USING (GenreId)\nGROUP BY g.Name ORDER BY tracks DESC;",
}
SLOW_S = 240_000  # ms, for launching a PostgreSQL sandbox on a busy machine


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(tmp_path_factory.mktemp("dbplay-e2e-home"))
    try:
        yield stack.start()
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def app_url(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = (tmp_path_factory.mktemp("streamlit") / "streamlit.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "ui/app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal"],
        cwd=REPO, env=stack.env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            unavailable(f"streamlit did not start (see {log.name})")
        time.sleep(0.2)
    yield url
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if shutil.which(CHROMIUM) is None:
        unavailable("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


PAGES_SHOT = ("01-sign-in", "02-templates", "03-launched", "04-playground", "05-charts",
              "06-dashboards", "07-schema", "08-my-sandboxes")
#: true while a script run is in flight (Streamlit's "Running..." widget) or a skeleton shows
BUSY = ("() => !document.querySelector('[data-testid^=\"stStatusWidgetRunning\"]')"
        " && !document.querySelector('[data-testid=\"stSkeleton\"]')")


@pytest.fixture(scope="module", autouse=True)
def fresh_shots() -> None:
    """No screenshot left over from an earlier run can pass for one of this run."""
    for name in PAGES_SHOT:
        (SHOTS / f"{name}.png").unlink(missing_ok=True)


def settle(page: Any) -> None:
    """Wait until the app is idle: no script run in flight, no placeholder skeleton."""
    page.wait_for_function(BUSY, timeout=60_000)
    page.wait_for_timeout(300)  # let charts finish drawing after the last message
    page.wait_for_function(BUSY, timeout=60_000)


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    settle(page)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def widget(page: Any, key: str, inner: str) -> Any:
    """The element inside the Streamlit widget with ``key`` (Streamlit adds st-key-<key>)."""
    return page.locator(f".st-key-{key} {inner}").first


def create_first_account(page: Any, stack: Stack, url: str, name: str = "alice",
                         password: str = "correct horse") -> None:
    """Open the app on a fresh stack and create the first account with the setup code
    `dbplay up` prints (issued here through the same call)."""
    page.goto(url)
    setup_code = stack.api().issue_setup_code()
    page.get_by_text("Create the first account").wait_for()
    widget(page, "new_setup_code", "input").fill(setup_code)
    widget(page, "new_name", "input").fill(name)
    widget(page, "new_password", "input").fill(password)
    widget(page, "new_repeat", "input").fill(password)
    page.get_by_role("button", name="Create account").click()
    page.get_by_text("Signed in as").wait_for()


def sign_in(page: Any, url: str, name: str, password: str) -> None:
    """Sign in with the form (an account that exists)."""
    page.goto(url)
    widget(page, "login_name", "input").fill(name)
    widget(page, "login_password", "input").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").wait_for()
    settle(page)


def go(page: Any, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    page.get_by_role("heading", name=title).first.wait_for(timeout=60_000)


def test_sign_in_launch_query_chart_and_dashboard(stack: Stack, app_url: str, browser: Any):
    engines = stack.api().provisioner_info()["engines"]
    template = "pagila" if "postgres" in engines else "chinook-sqlite"
    page = browser.new_page(viewport={"width": 1400, "height": 1500})
    page.set_default_timeout(60_000)
    page.goto(app_url)

    # Sign in: the first start offers to create the first account, with the setup code
    # `dbplay up` prints (issued here through the same call).
    setup_code = stack.api().issue_setup_code()
    page.get_by_text("Create the first account").wait_for()
    widget(page, "new_setup_code", "input").fill(setup_code)
    widget(page, "new_name", "input").fill("alice")
    widget(page, "new_password", "input").fill("correct horse")
    widget(page, "new_repeat", "input").fill("correct horse")
    shot(page, "01-sign-in")
    page.get_by_role("button", name="Create account").click()

    # Templates: launch a sandbox and watch it become ready.
    page.get_by_role("heading", name="Templates").first.wait_for()
    page.get_by_text("Signed in as").wait_for()
    widget(page, f"launch_{template}", "button").wait_for()
    page.get_by_text("Provisioner:").wait_for()
    shot(page, "02-templates")
    widget(page, f"launch_{template}", "button").click()
    page.get_by_text("to answer its first query").first.wait_for(timeout=SLOW_S)
    shot(page, "03-launched")

    # Playground: run a query, see one tab with the table.
    go(page, "Playground")
    press(set_text(page, QUERIES[template]), "Control+Enter")  # the Ace editor: run it all
    table = page.get_by_test_id("stDataFrame").first
    table.wait_for()
    assert page.get_by_role("tab").first.inner_text().startswith("✓ 1: SELECT")
    shot(page, "04-playground")

    # Charts: chart the result (suggested: bar), then save it to a new dashboard.
    widget(page, "pg_r0_chart", "button").click()
    page.get_by_role("heading", name="Charts").first.wait_for()
    chart = page.get_by_test_id("stVegaLiteChart").first
    chart.wait_for()
    chart.locator("canvas, svg").first.wait_for()
    shot(page, "05-charts")
    widget(page, "ch_name", "input").fill("per category")
    widget(page, "ch_new_dash", "input").fill("Overview")
    page.get_by_role("button", name="Save to dashboard").click()
    page.get_by_text("to the dashboard.").wait_for()

    # Dashboards: the saved chart is there, drawn from the sandbox.
    go(page, "Dashboards")
    page.get_by_role("heading", name="Overview").wait_for()
    page.get_by_test_id("stVegaLiteChart").first.locator("canvas, svg").first.wait_for()
    assert page.get_by_text("per category").count() >= 1
    shot(page, "06-dashboards")

    # The remaining pages render too.
    go(page, "Schema")
    page.get_by_test_id("stExpander").first.wait_for()
    page.get_by_role("tab", name="ER diagram").click()
    page.get_by_test_id("stGraphVizChart").first.wait_for()
    shot(page, "07-schema")
    go(page, "My sandboxes")
    page.get_by_text("Time left").first.wait_for()
    page.get_by_text(template).first.wait_for()
    shot(page, "08-my-sandboxes")
    errors = page.get_by_test_id("stException")
    assert errors.count() == 0
    assert [n for n in PAGES_SHOT if not (SHOTS / f"{n}.png").is_file()] == []
