"""The banner every page shows when the job queue (Redis, a worker queue) is down, and the
provisioner with its engines in the sidebar: against a real stack, stopped and restarted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from tests.orchestrator.conftest import Stack
from tests.ui.conftest import APP, TIMEOUT, no_crash, texts, use_settings
from ui.session import USER_KEY
from ui.stack_banner import START_HINT

ALL_WORKERS = {"interactive": True, "provision": True, "background": True}


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of this module's own: the tests stop parts of it."""
    stack = Stack(tmp_path_factory.mktemp("dbplay-banner-home"))
    try:
        yield stack.start()
    finally:
        stack.stop()


def page(stack: Stack, monkeypatch: pytest.MonkeyPatch, name: str | None = None) -> AppTest:
    use_settings(monkeypatch, stack.env)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.session_state[USER_KEY] = "banner-user"
    at.run()
    if name is not None:
        at.switch_page(f"app_pages/{name}.py").run()
    no_crash(at)
    return at


def banner(at: AppTest) -> str | None:
    return next((e for e in texts(at, "error") if START_HINT in e), None)


def wait_until(stack: Stack, redis: bool, workers: dict[str, bool]) -> None:
    api = stack.api()
    stack.wait_for(lambda: (s := api.stack_status())["redis"] == redis
                   and s["workers"] == workers, timeout=40, what=f"workers {workers}")


def test_everything_up_shows_no_banner_and_the_provisioner_in_the_sidebar(own_stack, monkeypatch):
    wait_until(own_stack, True, ALL_WORKERS)
    at = page(own_stack, monkeypatch)
    assert banner(at) is None
    sidebar = " ".join(str(c.value) for c in at.sidebar.caption)
    assert "Provisioner: **local**" in sidebar
    assert "SQLite" in sidebar and "PostgreSQL" in sidebar


@pytest.mark.parametrize("name", ["templates", "playground", "charts", "schema", "sandboxes",
                                  "dashboards"])
def test_a_stopped_worker_queue_is_named_on_every_page(own_stack, monkeypatch, name):
    own_stack.stop_service("worker-interactive")
    try:
        wait_until(own_stack, True, {**ALL_WORKERS, "interactive": False})
        text = banner(page(own_stack, monkeypatch, name))
        assert text is not None, name
        assert "the interactive worker" in text and "provision worker" not in text
    finally:
        own_stack.start_services("worker-interactive")
    wait_until(own_stack, True, ALL_WORKERS)
    assert banner(page(own_stack, monkeypatch, name)) is None


def test_redis_down_is_named_and_the_banner_goes_once_it_is_back(own_stack, monkeypatch):
    own_stack.stop_redis()
    try:
        at = page(own_stack, monkeypatch)
        text = banner(at)
        assert text is not None and "Redis" in text
        assert "dbplay up" in text
    finally:
        own_stack.start_redis()
    wait_until(own_stack, True, ALL_WORKERS)
    assert banner(page(own_stack, monkeypatch)) is None


def test_the_sign_in_screen_shows_the_banner_too(own_stack, monkeypatch):
    own_stack.stop_service("worker-provision")
    try:
        wait_until(own_stack, True, {**ALL_WORKERS, "provision": False})
        use_settings(monkeypatch, own_stack.env)
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
        no_crash(at)
        text = banner(at)
        assert text is not None and "the provision worker (launching" in text
    finally:
        own_stack.start_services("worker-provision")
