"""End to end in a real browser: a table created by the Design page's form, previewed and
applied to a sandbox, then opened in the form by a click on the design's diagram.
Screenshots go to ``test-artifacts/screenshots/design-*.png``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.orchestrator.conftest import Stack
from tests.ui.browser import SHOTS, create_first_account, go, settle, widget

pytestmark = pytest.mark.e2e


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    settle(page)
    page.screenshot(path=str(SHOTS / f"design-{name}.png"), full_page=True)


def test_a_table_created_by_form_is_applied_to_the_sandbox(
        stack: Stack, app_url: str, browser: Any) -> None:
    api = stack.api()
    for name in ("1-form", "2-preview", "3-applied", "4-clicked"):
        (SHOTS / f"design-{name}.png").unlink(missing_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    page.set_default_timeout(60_000)
    create_first_account(page, stack, app_url)  # this module's own stack
    sandbox = api.create_sandbox("alice", "empty-sqlite")
    try:
        page.reload()
        page.get_by_text("Signed in as").wait_for()
        go(page, "Design")
        page.get_by_text("nothing to migrate").wait_for()
        name = widget(page, f"design_form_{sandbox.id}_new_name", "input")
        name.fill("wishlist")
        name.press("Enter")
        settle(page)
        _shot(page, "1-form")
        widget(page, f"design_form_{sandbox.id}_put", "button").click()
        page.get_by_text("CREATE TABLE wishlist").first.wait_for()
        _shot(page, "2-preview")
        assert "wishlist" not in {t.name for t in api.schema("alice", sandbox.id).tables}
        widget(page, f"design_apply_{sandbox.id}", "button").click()
        page.get_by_text("Applied: the sandbox now matches the design.").wait_for()
        page.get_by_text("nothing to migrate").wait_for()
        _shot(page, "3-applied")
        assert page.get_by_test_id("stException").count() == 0
        assert "wishlist" in {t.name for t in api.schema("alice", sandbox.id).tables}
        # the diagram's one box is its centre: a click opens the table in the form
        diagram = page.locator(f".st-key-design_diagram_{sandbox.id}")
        diagram.locator("canvas, svg").first.wait_for()
        diagram.click()
        # the form's fields for an existing table (keyed by its name) replace the new one's
        opened = widget(page, f"design_form_{sandbox.id}_wishlist_name", "input")
        opened.wait_for()
        _shot(page, "4-clicked")
        assert opened.input_value() == "wishlist"
        assert page.get_by_text("Remove from the design").count() == 1
    finally:
        api.delete_sandbox("alice", sandbox.id)
