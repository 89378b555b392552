"""End to end in a real browser: on the Build page, a grouped, joined query made by clicks
only (source, a join offered from a foreign key, a group key; the count aggregate is
there by default), run, and its chart drawn. The chart's axis labels are read from the
drawn SVG. A screenshot goes to ``test-artifacts/screenshots/12-build-chart.png``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.orchestrator.conftest import Stack
from tests.ui.browser import SHOTS, SLOW_S, create_first_account, go, settle, shot, widget

pytestmark = pytest.mark.e2e

SHOT = "12-build-chart"
AXIS_TEXT = ("() => Array.from(document.querySelectorAll("
             "'[data-testid=\"stVegaLiteChart\"] svg text')).map(t => t.textContent)")


def pick(page: Any, testid: str, label: str, option: str) -> None:
    """Choose ``option`` in the select box or multiselect (``testid``) labelled ``label``."""
    page.get_by_test_id(testid).filter(has_text=label).first.click()
    page.get_by_role("option", name=option, exact=True).click()
    if testid == "stMultiSelect":  # its list stays open for more choices
        page.keyboard.press("Escape")
    settle(page)


def test_a_grouped_joined_query_built_by_clicks_is_charted(stack: Stack, app_url: str,
                                                          browser: Any):
    (SHOTS / f"{SHOT}.png").unlink(missing_ok=True)
    page = browser.new_page(viewport={"width": 1500, "height": 1600})
    page.set_default_timeout(60_000)
    create_first_account(page, stack, app_url)
    widget(page, "launch_chinook-sqlite", "button").click()
    page.get_by_text("to answer its first query").first.wait_for(timeout=SLOW_S)

    go(page, "Build")
    settle(page)
    pick(page, "stSelectbox", "1 · Source", "Genre")
    join = 'Track on Genre.GenreId = Track.GenreId'
    pick(page, "stMultiSelect", "2 · Joins", join)
    pick(page, "stMultiSelect", "4 · Group by", "Genre.Name")
    page.get_by_text("GROUP BY").first.wait_for()
    page.get_by_role("button", name="Run and chart").click()
    chart = page.get_by_test_id("stVegaLiteChart").first
    chart.locator("svg").first.wait_for()
    shot(page, SHOT)

    labels = {t.strip() for t in page.evaluate(AXIS_TEXT) if t and t.strip()}
    api = stack.api()
    (sandbox,) = [s for s in api.list_sandboxes("alice") if s.template == "chinook-sqlite"]
    (genres,) = api.run_query("alice", sandbox.id, "SELECT g.Name FROM Genre g "
                              "JOIN Track t ON t.GenreId = g.GenreId GROUP BY g.Name")
    assert {row[0] for row in genres.rows} <= labels, labels
    assert page.get_by_test_id("stException").count() == 0
