"""UI fixtures: one real stack (Redis, workers, scheduler, local provisioner) for the whole
UI suite, and AppTest apps signed in as a user of your choice. Browser tests get, per
module, a stack of their own, its Streamlit server, Chromium, and a fresh page per test
(helpers in ``tests/ui/browser.py``).

AppTest runs the app in this process, so the stack's ``DBPLAY_*`` settings are put into
``os.environ`` for the test; ``ui.session`` keys its cached orchestrator on them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.orchestrator.conftest import Stack
from tests.servers import free_port, unavailable
from tests.ui.browser import CHROMIUM, CHROMIUM_ARGS, REPO
from ui.session import USER_KEY

APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"
SQLITE_TEMPLATE = "chinook-sqlite"
TIMEOUT = 120


@pytest.fixture(scope="session")
def ui_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(tmp_path_factory.mktemp("dbplay-ui-home"))
    try:
        yield stack.start()
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def api(ui_stack: Stack) -> Any:
    return ui_stack.api()


def use_settings(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        if name.startswith("DBPLAY_"):
            monkeypatch.setenv(name, value)


@pytest.fixture
def stack_env(ui_stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Stack:
    use_settings(monkeypatch, ui_stack.env)
    return ui_stack


@pytest.fixture
def user() -> str:
    """A fresh user name per test: every test sees only its own things."""
    return f"u{uuid.uuid4().hex[:10]}"


@pytest.fixture
def app(stack_env: Stack) -> Callable[..., AppTest]:
    """``app(user, page=None)``: an AppTest signed in as ``user``, run once."""

    def make(user: str | None, page: str | None = None, **state: Any) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        if user is not None:
            at.session_state[USER_KEY] = user
        for key, value in state.items():
            at.session_state[key] = value
        at.run()
        if page is not None:
            at.switch_page(f"app_pages/{page}.py").run()
        return at

    return make


@pytest.fixture
def sandbox(api: Any, user: str) -> Any:
    """A ready chinook-sqlite sandbox of ``user``."""
    return api.create_sandbox(user, SQLITE_TEMPLATE)


# -- browser tests -----------------------------------------------------------------
@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(tmp_path_factory.mktemp("dbplay-e2e-home"))
    try:
        yield stack.start()
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def app_url(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = (tmp_path_factory.mktemp("streamlit") / "streamlit.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "ui/app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal"],
        cwd=REPO, env=stack.env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            unavailable(f"streamlit did not start (see {log.name})")
        time.sleep(0.2)
    yield url
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if shutil.which(CHROMIUM) is None:
        unavailable("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page, 1400 x 1400."""
    context = browser.new_context(viewport={"width": 1400, "height": 1400})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def texts(at: AppTest, kind: str) -> list[str]:
    """Every value of one element kind (``error``, ``info``, ``markdown``...) as text."""
    return [str(e.value) for e in getattr(at, kind)]


def all_text(at: AppTest) -> str:
    parts = []
    for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "error",
                 "success", "code"):
        parts += texts(at, kind)
    return "\n".join(parts)


def no_crash(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not [e for e in texts(at, "error") if "Unexpected error" in e]


def vega_charts(at: AppTest) -> list[tuple[dict[str, Any], int]]:
    """Each Altair chart on the page: its Vega-Lite spec and how many rows it ships."""
    import pyarrow as pa

    charts = []
    for element in at.get("vega_lite_chart"):
        proto = element.proto
        blobs = [d.data.data for d in proto.datasets] or [proto.data.data]
        rows = sum(pa.ipc.open_stream(b).read_all().num_rows for b in blobs if b)
        charts.append((json.loads(proto.spec), rows))
    return charts
