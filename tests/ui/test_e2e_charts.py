"""End to end in a real browser: a month-binned chart of Pagila's rental dates, drawn from
the stored result, shows months on its time axis.

The browser runs in New York time on purpose: a chart that let the browser shift UTC
month starts into local time would label May's bin "Apr" (the old bug showed
February to August data as "01 AM - 05:15"). The chart's axis labels are read from the drawn SVG.
A screenshot goes to ``test-artifacts/screenshots/09-month-chart.png``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.orchestrator.conftest import Stack
from tests.servers import unavailable
from tests.ui.browser import SHOTS, SLOW_S, create_first_account, go, settle, shot, widget
from tests.ui.editor_driver import press, set_text

pytestmark = pytest.mark.e2e

SHOT = "09-month-chart"
RENTALS = "SELECT rental_date FROM rental;"
AXIS_TEXT = ("() => Array.from(document.querySelectorAll("
             "'[data-testid=\"stVegaLiteChart\"] svg text')).map(t => t.textContent)")


def select_option(page: Any, label: str, option: str) -> None:
    """Pick ``option`` in the select box labelled ``label``."""
    page.get_by_test_id("stSelectbox").filter(has_text=label).first.click()
    page.get_by_role("option", name=option, exact=True).click()
    settle(page)


def rental_months(stack: Stack) -> list[str]:
    """The months Pagila's rentals fall in, as the chart should label them ("May 2005";
    Pagila 3 moved its dates to 2022), asked of the database itself."""
    api = stack.api()
    (sandbox,) = [s for s in api.list_sandboxes("alice") if s.template == "pagila"]
    (months,) = api.run_query("alice", sandbox.id, """
        SELECT DISTINCT to_char(date_trunc('month', rental_date), 'Mon YYYY') AS label,
               date_trunc('month', rental_date) AS month
        FROM rental ORDER BY month""")
    return [row[0] for row in months.rows]


def month_before(label: str) -> str:
    """ "Jan 2022" for "Feb 2022": where a bin lands when the browser shifts it west."""
    moment = dt.datetime.strptime(label, "%b %Y") - dt.timedelta(days=1)
    return moment.strftime("%b %Y")


def test_month_binned_rental_chart_labels_months_not_hours(stack: Stack, app_url: str,
                                                           browser: Any):
    if "postgres" not in stack.api().provisioner_info()["engines"]:
        unavailable("the provisioner offers no PostgreSQL here: Pagila cannot be launched")
    (SHOTS / f"{SHOT}.png").unlink(missing_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1300},
                            timezone_id="America/New_York")
    page.set_default_timeout(60_000)
    create_first_account(page, stack, app_url)
    widget(page, "launch_pagila", "button").click()
    page.get_by_text("to answer its first query").first.wait_for(timeout=SLOW_S)

    go(page, "Playground")
    press(set_text(page, RENTALS), "Control+Enter")  # the Ace editor: run it all
    page.get_by_test_id("stDataFrame").first.wait_for()
    widget(page, "pg_r0_chart", "button").click()
    page.get_by_role("heading", name="Charts").first.wait_for()
    settle(page)
    # the suggestion for timestamps alone is a monthly count; say so explicitly anyway
    select_option(page, "Time bin", "month")
    select_option(page, "Aggregate", "count")
    select_option(page, "Chart type", "line")
    chart = page.get_by_test_id("stVegaLiteChart").first
    chart.locator("svg").first.wait_for()
    shot(page, SHOT)

    labels = [t.strip() for t in page.evaluate(AXIS_TEXT) if t and t.strip()]
    months = rental_months(stack)
    assert len(months) >= 3
    for month in months:
        assert month in labels, (month, labels)
    # a UTC month start shifted into New York time would land in the month before
    assert month_before(months[0]) not in labels, labels
    assert not [t for t in labels if "AM" in t or "PM" in t or ":" in t], labels
    assert page.get_by_test_id("stException").count() == 0
    caption = page.get_by_text("16,044 rows").first
    caption.wait_for()
