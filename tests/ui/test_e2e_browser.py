"""End to end in a real browser: the Streamlit app on the real stack, driven by Chromium.

Signs in (creating the first account), launches a sandbox (pagila when the provisioner
offers PostgreSQL, else chinook-sqlite), runs a query, sees the table and a chart, saves
the chart to a dashboard and opens it. A screenshot of every page goes to
``test-artifacts/screenshots/`` (sign-in, templates, playground, charts, dashboards,
schema, my sandboxes), each taken once the page's own content is there and no script run
is in flight: Streamlit's first paint is only a shell, so load events prove nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.orchestrator.conftest import Stack
from tests.ui.browser import SHOTS, SLOW_S, clear_shots, go, shot, widget
from tests.ui.editor_driver import press, set_text

pytestmark = pytest.mark.e2e

QUERIES = {
    "pagila": "SELECT c.name AS category, count(*) AS films\nFROM film_category fc\n"
              "JOIN category c USING (category_id)\nGROUP BY c.name ORDER BY films DESC;",
    "chinook-sqlite": "SELECT g.Name AS genre, count(*) AS tracks\nFROM Track t\n"
                      "JOIN Genre g USING (GenreId)\nGROUP BY g.Name ORDER BY tracks DESC;",
}
PAGES_SHOT = ("01-sign-in", "02-templates", "03-launched", "04-playground", "05-charts",
              "06-dashboards", "07-schema", "08-my-sandboxes")


@pytest.fixture(scope="module", autouse=True)
def fresh_shots() -> None:
    clear_shots(*PAGES_SHOT)


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
