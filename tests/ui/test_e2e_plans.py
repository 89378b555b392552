"""End to end in a real browser: the Explain panel draws the plan as boxes, and explaining
the statement again after an index shows what changed.

Chinook on PostgreSQL when the provisioner offers it (else on SQLite): a filtered read of
Track is explained (a sequential scan), an index is added, the read runs again and is
explained again (an index scan), and the comparison names the change. Screenshots go to
``test-artifacts/screenshots/10-plan.png`` and ``11-plan-diff.png``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.orchestrator.conftest import Stack
from tests.ui.browser import SHOTS, SLOW_S, create_first_account, go, settle, shot, widget

pytestmark = pytest.mark.e2e

SHOT_PLAN, SHOT_DIFF = "10-plan", "11-plan-diff"
BOXES = "[data-testid='stGraphVizChart'] svg g.node"
QUERY = {"chinook": "SELECT name FROM track WHERE composer = 'AC/DC';",
         "chinook-sqlite": "SELECT Name FROM Track WHERE Composer = 'AC/DC';"}
INDEX = {"chinook": "CREATE INDEX track_composer ON track (composer); ANALYZE track;",
         "chinook-sqlite": "CREATE INDEX track_composer ON Track (Composer);"}
SCAN = {"chinook": "Seq Scan on track", "chinook-sqlite": "SCAN on Track"}


def run(page: Any, text: str) -> None:
    """Type ``text`` into the editor (Ace, inside its component frame) and press
    its Run button; wait for the first statement's tab."""
    frame = page.frame_locator("iframe[title*='code_editor']")
    frame.locator(".ace_content").first.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)  # no key events: Ace's auto-pairing stays out of it
    page.wait_for_timeout(1000)  # the editor reports typing after a pause: let that rerun end
    settle(page)
    frame.get_by_text("Run (Ctrl+Enter)").first.click()
    # the tab of this run (the previous run's tab shows until this one is back)
    page.get_by_role("tab").filter(has_text=f"✓ 1: {text[:12]}").first.wait_for()
    settle(page)


def explain(page: Any) -> list[str]:
    """Press Explain on the first statement; the texts of the plan's boxes."""
    page.locator("[class*='_r0_explain'] button").first.click()
    page.locator(BOXES).first.wait_for()
    settle(page)
    texts: list[str] = page.locator(BOXES).evaluate_all(
        "boxes => boxes.map(b => Array.from(b.querySelectorAll('text'))"
        ".map(t => t.textContent).join(' '))")
    return texts


def test_explain_draws_plan_boxes_and_the_change_an_index_made(stack: Stack, app_url: str,
                                                                browser: Any):
    engines = stack.api().provisioner_info()["engines"]
    template = "chinook" if "postgres" in engines else "chinook-sqlite"
    for name in (SHOT_PLAN, SHOT_DIFF):
        (SHOTS / f"{name}.png").unlink(missing_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    page.set_default_timeout(60_000)
    create_first_account(page, stack, app_url)
    widget(page, f"launch_{template}", "button").click()
    page.get_by_text("to answer its first query").first.wait_for(timeout=SLOW_S)

    go(page, "Playground")
    run(page, QUERY[template])
    boxes = explain(page)
    assert any(box.startswith(SCAN[template]) for box in boxes), boxes
    page.get_by_text("How: ").first.wait_for()
    page.locator(BOXES).last.scroll_into_view_if_needed()
    shot(page, SHOT_PLAN)

    run(page, INDEX[template])
    run(page, QUERY[template])
    boxes = explain(page)
    assert any("using track_composer" in box for box in boxes), boxes
    compared = page.get_by_test_id("stExpander").filter(
        has_text="Compared with the plan explained at")
    # Streamlit's markdown draws "->" as an arrow
    compared.get_by_text(re.compile(re.escape(SCAN[template]) + " (->|→) ")).first.wait_for()
    assert "track_composer" in compared.inner_text()
    compared.scroll_into_view_if_needed()
    shot(page, SHOT_DIFF)
    assert page.get_by_test_id("stException").count() == 0
    assert (SHOTS / f"{SHOT_PLAN}.png").is_file() and (SHOTS / f"{SHOT_DIFF}.png").is_file()
