"""Helpers of the browser tests (Playwright on Debian's Chromium, driving the Streamlit
app of a real stack): waiting until the app is idle, finding a widget by its key, signing
in, moving between pages, screenshots. The fixtures (a stack, its Streamlit server,
Chromium, a fresh page) are in ``tests/ui/conftest.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.orchestrator.conftest import Stack

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SLOW_S = 240_000  # ms, for launching a PostgreSQL sandbox on a busy machine


#: true while a script run is in flight (Streamlit's "Running..." widget) or a skeleton shows
BUSY = ("() => !document.querySelector('[data-testid^=\"stStatusWidgetRunning\"]')"
        " && !document.querySelector('[data-testid=\"stSkeleton\"]')")


def settle(page: Any) -> None:
    """Wait until the app is idle: no script run in flight, no placeholder skeleton."""
    page.wait_for_function(BUSY, timeout=60_000)
    page.wait_for_timeout(300)  # let charts finish drawing after the last message
    page.wait_for_function(BUSY, timeout=60_000)


def shot(page: Any, name: str) -> None:
    """A full-page screenshot ``test-artifacts/screenshots/<name>.png`` once the app is idle."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    settle(page)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def clear_shots(*names: str) -> None:
    """No screenshot left over from an earlier run can pass for one of this run."""
    for name in names:
        (SHOTS / f"{name}.png").unlink(missing_ok=True)


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
