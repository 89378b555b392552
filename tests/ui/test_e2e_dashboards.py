"""End to end in a real browser: a dashboard outlives its sandbox and refreshes with a
filter. The Streamlit app on the real stack, driven by Chromium (fixtures shared with
``test_e2e_browser``); screenshots go to ``test-artifacts/screenshots/``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.orchestrator.conftest import Stack
from tests.ui.browser import SHOTS, create_first_account, go, settle, shot, widget

pytestmark = pytest.mark.e2e

TEMPLATE = "chinook-sqlite"
SALES = "SELECT BillingCountry AS country, Total AS total FROM Invoice"


def chart_drawn(page: Any) -> None:
    page.get_by_test_id("stVegaLiteChart").first.locator("canvas, svg").first.wait_for()


def test_a_dashboard_survives_deleting_its_sandbox_and_refreshes_with_a_filter(
        stack: Stack, app_url: str, browser: Any):
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.set_default_timeout(120_000)
    try:
        survives_and_filters(stack, page, app_url)
    except BaseException:  # what the page showed when it went wrong
        page.screenshot(path=str(SHOTS / "dashboard-e2e-failure.png"), full_page=True)
        raise


def survives_and_filters(stack: Stack, page: Any, url: str) -> None:
    api = stack.api()
    create_first_account(page, stack, url)

    sandbox = api.create_sandbox("alice", TEMPLATE)
    query = api.save_query("alice", "sales by country", SALES, sandbox_id=sandbox.id)
    board = api.create_dashboard("alice", "Sales board")
    api.add_to_dashboard("alice", board.id, query.id,
                         chart={"x": "country", "y": "total", "agg": "sum"}, width=8)

    # first shown: the new item runs on the template's live sandbox and is drawn
    go(page, "Dashboards")
    page.get_by_role("heading", name="Sales board").wait_for()
    chart_drawn(page)
    (item,) = api.get_dashboard("alice", board.id).items
    assert item.output["sandbox_id"] == sandbox.id and len(item.output["rows"]) == 24

    # the sandbox goes: the dashboard still shows the chart it kept, without an error
    api.delete_sandbox("alice", sandbox.id)
    go(page, "My sandboxes")  # away and back (a reload would sign out): drawn again
    go(page, "Dashboards")
    page.get_by_role("heading", name="Sales board").wait_for()
    chart_drawn(page)
    settle(page)
    assert page.get_by_text("last refreshed", exact=False).count() >= 1
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_test_id("stAlertContentError").count() == 0
    assert "pick another" not in page.inner_text("body").lower()
    shot(page, "dashboard-after-its-sandbox-is-deleted")

    # a value filter on country, added on the page, then Refresh: a fresh sandbox of the
    # template runs it and the chart keeps only that country's exact sum
    page.get_by_role("button", name="Add a filter").click()
    column = widget(page, f"dash_new_filter_column_{board.id}", "input")
    column.fill("country")
    column.press("Enter")
    settle(page)
    page.get_by_text("A list of values").click()
    settle(page)
    widget(page, f"dash_new_filter_add_{board.id}", "button").click()
    settle(page)
    # the click's script run may not have started when settle() looks: wait for the save
    (picked,) = stack.wait_for(lambda: api.get_dashboard("alice", board.id).filters,
                               timeout=60, what="the new filter saved")
    assert picked["column"] == "country" and len(picked["values"]) == 1
    country = picked["values"][0]
    widget(page, "dash_refresh", "button").click()
    stack.wait_for(lambda: [s for s in api.list_sandboxes("alice") if s.state == "ready"],
                   timeout=240, what="a fresh sandbox of the template")
    (item,) = stack.wait_for(
        lambda: [i for i in api.get_dashboard("alice", board.id).items
                 if i.output and i.output["sandbox_id"] != sandbox.id],
        timeout=240, what="the filtered refresh")
    settle(page)
    chart_drawn(page)
    (fresh,) = api.list_sandboxes("alice")
    (expected,) = api.run_query("alice", fresh.id, "SELECT BillingCountry, SUM(Total) FROM "
                                f"Invoice WHERE BillingCountry = '{country}' GROUP BY 1")
    assert [[r[0], round(r[1], 6)] for r in item.output["rows"]] == \
        [[country, round(expected.rows[0][1], 6)]]
    assert page.get_by_test_id("stException").count() == 0
    shot(page, "dashboard-refreshed-with-a-filter")
