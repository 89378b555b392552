"""End to end in a real browser: a share link.

Alice shares a sandbox publicly with a script. Someone not signed in opens the link and
reads the script and the results it gave; Bob signs in, opens the link, presses
**Open my own copy** and lands on the Playground on a sandbox of his own with the script
in the editor, while Alice's sandbox keeps its data. Screenshots go to
``test-artifacts/screenshots/shares-*.png``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.orchestrator.conftest import Stack
from tests.ui.browser import clear_shots, settle, shot, sign_in
from tests.ui.editor_driver import ace_frame

pytestmark = pytest.mark.e2e

OWNER, OPENER, PASSWORD = "alice", "bob", "correct horse battery staple"
TEMPLATE = "chinook-sqlite"
SCRIPT = "SELECT Name FROM Genre ORDER BY GenreId LIMIT 3"
SHOT_NAMES = tuple(f"shares-{name}" for name in ("1-public-view", "2-signed-in-view", "3-own-copy"))


@pytest.fixture(scope="module", autouse=True)
def fresh_shots() -> None:
    clear_shots(*SHOT_NAMES)


@pytest.fixture(scope="module")
def shared(stack: Stack) -> tuple[str, str]:
    """(Alice's sandbox, a public share of it with SCRIPT)."""
    api = stack.api()
    api.create_first_admin(api.issue_setup_code(), OWNER, PASSWORD)
    api.create_user(OWNER, OPENER, PASSWORD)
    sandbox = api.create_sandbox(OWNER, TEMPLATE)
    return sandbox.id, api.share_sandbox(OWNER, sandbox.id, SCRIPT, public=True).id


def test_a_public_share_shows_its_script_and_results_to_someone_not_signed_in(
        app_url: str, page: Any, shared: tuple[str, str]) -> None:
    page.goto(f"{app_url}/shared?share={shared[1]}")
    page.get_by_role("heading", name="Shared sandbox").wait_for()
    page.get_by_text("Name FROM Genre").first.wait_for()
    page.get_by_test_id("stDataFrame").first.wait_for()  # the results when shared
    page.get_by_text("Sign in (below) to open your own copy").wait_for()
    assert page.get_by_role("button", name="Open my own copy").count() == 0
    shot(page, "shares-1-public-view")


def test_a_share_opened_by_a_second_user_gives_their_own_sandbox_with_the_script_in_the_editor(
        stack: Stack, app_url: str, page: Any, shared: tuple[str, str]) -> None:
    owners, share_id = shared
    sign_in(page, app_url, OPENER, PASSWORD)

    page.goto(f"{app_url}/shared?share={share_id}")
    page.get_by_role("heading", name="Shared sandbox").wait_for()
    page.get_by_role("button", name="Open my own copy").wait_for()
    shot(page, "shares-2-signed-in-view")
    page.get_by_role("button", name="Open my own copy").click()

    page.get_by_role("heading", name="Playground").first.wait_for(timeout=120_000)
    frame = ace_frame(page)
    settle(page)
    text = frame.evaluate("() => document.querySelector('.ace_editor').env.editor.getValue()")
    assert text == SCRIPT
    api = stack.api()
    mine = [s.id for s in api.list_sandboxes(OPENER)]
    assert len(mine) == 1 and mine[0] != owners
    assert f"sandbox={mine[0]}" in page.url
    shot(page, "shares-3-own-copy")
    # the opener's writes stay in the opener's sandbox
    api.run_query(OPENER, mine[0], "DELETE FROM Genre")
    [result] = api.run_query(OWNER, owners, "SELECT count(*) FROM Genre")
    assert result.rows == [[25]]
