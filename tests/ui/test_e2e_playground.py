"""End to end in a real browser: the Playground's editor, panels that belong to their run,
sessions that survive a reload and links that open a sandbox.

Ctrl+Enter with a selection runs only the selection; typing offers a column from the
sandbox's schema; a plan or download of an earlier run (or another sandbox) never shows;
a reload keeps the sign-in and signing out ends it; ``/playground?sandbox=ID`` opens that
sandbox. Screenshots go to ``test-artifacts/screenshots/playground-*.png``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.orchestrator.conftest import Stack
from tests.ui.browser import clear_shots, settle, shot, sign_in, widget
from tests.ui.editor_driver import ace_frame, press, select_line, set_text

pytestmark = pytest.mark.e2e

USER, PASSWORD = "alice", "correct horse battery staple"
TEMPLATE = "chinook-sqlite"
SHOT_NAMES = tuple(f"playground-{name}" for name in (
    "1-selection", "2-autocomplete", "3-fresh-panels", "4-other-sandbox", "5-reloaded",
    "6-deep-link", "7-signed-out"))


@pytest.fixture(scope="module", autouse=True)
def fresh_shots() -> None:
    clear_shots(*SHOT_NAMES)


@pytest.fixture(scope="module")
def account(stack: Stack) -> str:
    api = stack.api()
    api.create_first_admin(api.issue_setup_code(), USER, PASSWORD)
    return USER


@pytest.fixture(scope="module")
def sandboxes(stack: Stack, account: str) -> list[Any]:
    api = stack.api()
    return [api.create_sandbox(account, TEMPLATE), api.create_sandbox(account, TEMPLATE)]


def sign_in_alice(page: Any, url: str) -> None:
    sign_in(page, url, USER, PASSWORD)


def open_playground(page: Any, url: str, sandbox_id: str) -> None:
    page.goto(f"{url}/playground?sandbox={sandbox_id}")
    page.get_by_role("heading", name="Playground").first.wait_for()
    ace_frame(page)
    settle(page)


def picked_sandbox(page: Any) -> str:
    """What the Playground's sandbox picker shows (its text and its input's value)."""
    picker = page.locator(".st-key-pg_sandbox")
    values = [i.input_value() for i in picker.locator("input").all()]
    return " ".join([picker.inner_text(), *values])


def tab_labels(page: Any) -> list[str]:
    return [t.inner_text() for t in page.get_by_role("tab").all()]


def wait_for_tabs(page: Any, first: str) -> list[str]:
    page.get_by_role("tab").filter(has_text=first).first.wait_for()
    settle(page)
    return tab_labels(page)


def test_ctrl_enter_runs_only_the_selection_and_autocomplete_offers_a_column(
        app_url: str, page: Any, sandboxes: list[Any]) -> None:
    sign_in_alice(page, app_url)
    open_playground(page, app_url, sandboxes[0].id)
    frame = set_text(page, "SELECT 1 AS one;\nSELECT Name FROM Genre ORDER BY GenreId;")
    select_line(frame, 2)
    press(frame, "Control+Enter")
    labels = wait_for_tabs(page, "SELECT Name FROM Genre")
    assert len(labels) == 1 and labels[0].startswith("✓ 1: SELECT Name FROM Genre"), labels
    rows = page.get_by_test_id("stMetricValue").first.inner_text()
    assert rows == "25", rows  # the 25 genres: the selected statement's result
    shot(page, "playground-1-selection")

    # nothing selected: Ctrl+Enter runs everything
    frame = set_text(page, "SELECT 1 AS one;\nSELECT 2 AS two;")
    press(frame, "Control+End")
    press(frame, "Control+Enter")
    labels = wait_for_tabs(page, "SELECT 2 AS two")
    assert labels == ["✓ 1: SELECT 1 AS one;", "✓ 2: SELECT 2 AS two;"], labels

    # typing part of a column name offers the column, from the sandbox's schema
    frame = set_text(page, "SELECT ")
    press(frame, "Control+End")
    frame.locator(".ace_text-input").type("Millis", delay=80)
    popup = frame.locator(".ace_autocomplete")
    popup.wait_for()
    popup.get_by_text("Milliseconds").first.wait_for()
    shot(page, "playground-2-autocomplete")


def test_panels_of_an_earlier_run_or_another_sandbox_never_show(
        app_url: str, page: Any, sandboxes: list[Any]) -> None:
    first, second = sandboxes
    sign_in_alice(page, app_url)
    open_playground(page, app_url, first.id)
    frame = set_text(page, "SELECT TrackId, Name FROM Track;")
    press(frame, "Control+Enter")
    wait_for_tabs(page, "SELECT TrackId")
    widget(page, "pg_r0_explain", "button").click()
    page.get_by_text("Query plan").first.wait_for()
    widget(page, "pg_r0_prepare", "button").click()
    download = widget(page, "pg_r0_download", "button")
    download.wait_for()
    assert "Download" in download.inner_text()

    frame = set_text(page, "SELECT Name FROM Genre;")
    press(frame, "Control+Enter")
    assert wait_for_tabs(page, "SELECT Name FROM Genre") == ["✓ 1: SELECT Name FROM Genre;"]
    assert page.get_by_text("Query plan").count() == 0
    assert page.locator(".st-key-pg_r0_download").count() == 0
    shot(page, "playground-3-fresh-panels")

    # another sandbox: the first one's results are not shown under it
    open_playground(page, app_url, second.id)
    assert second.id[:8] in picked_sandbox(page)
    assert page.get_by_role("tab").count() == 0
    assert page.get_by_text("Query plan").count() == 0
    assert page.locator(".st-key-pg_r0_download").count() == 0
    shot(page, "playground-4-other-sandbox")


def test_a_reload_keeps_the_session_and_signing_out_ends_it(
        app_url: str, page: Any, sandboxes: list[Any], stack: Stack) -> None:
    sign_in_alice(page, app_url)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert "dbplay_session" in cookies
    page.reload()
    page.get_by_text("Signed in as").wait_for()
    assert page.get_by_role("button", name="Sign in").count() == 0
    shot(page, "playground-5-reloaded")

    # a deep link opens the sandbox it names, still signed in
    open_playground(page, app_url, sandboxes[1].id)
    assert sandboxes[1].id[:8] in picked_sandbox(page)
    assert f"sandbox={sandboxes[1].id}" in page.url
    shot(page, "playground-6-deep-link")

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()
    assert stack.api().web_session_user(cookies["dbplay_session"]) is None
    page.reload()
    page.get_by_role("button", name="Sign in").wait_for()
    assert page.get_by_text("Signed in as").count() == 0
    shot(page, "playground-7-signed-out")
