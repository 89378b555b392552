"""UI fixtures: one real stack (Redis, workers, scheduler, local provisioner) for the whole
UI suite, and AppTest apps signed in as a user of your choice.

AppTest runs the app in this process, so the stack's ``DBPLAY_*`` settings are put into
``os.environ`` for the test; ``ui.session`` keys its cached orchestrator on them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.orchestrator.conftest import Stack
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
