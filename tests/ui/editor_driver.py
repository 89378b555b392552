"""Driving the Playground's code editor from tests.

AppTest renders no custom component: a test sets what the component would have sent (the
page's copy of the text while typing, or a Ctrl/Cmd+Enter answer). In a real browser the
editor is Ace inside the component's iframe: text goes in through Ace's own API and keys
are pressed in its input, as a user's would be.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

EDITOR_IFRAME = "iframe[title='code_editor.code_editor']"


# -- AppTest ------------------------------------------------------------------------------
def type_script(at: Any, text: str) -> None:
    """What the editor reports while the user types: the page's copy of the text."""
    at.session_state["pg_editor"] = text


def press_ctrl_enter(at: Any, text: str, selected: str = "") -> None:
    """What the editor sends on Ctrl/Cmd+Enter (the text and the selection)."""
    version = int(at.session_state["pg_editor_version"]) \
        if "pg_editor_version" in at.session_state else 0
    at.session_state[f"pg_code_{version}"] = {
        "id": uuid.uuid4().hex[:8], "type": "submit", "lang": "", "text": text,
        "selected": selected, "cursor": ""}


def editor_args(at: Any) -> dict[str, Any]:
    """The arguments the page gave the editor component (language, completions...)."""
    for element in at.get("component_instance"):
        if element.proto.component_name.endswith("code_editor"):
            args: dict[str, Any] = json.loads(element.proto.json_args)
            return args
    raise AssertionError("no code editor on the page")


# -- a real browser (Playwright) ----------------------------------------------------------
def ace_frame(page: Any) -> Any:
    """The editor's iframe, once Ace is up in it."""
    handle = page.locator(EDITOR_IFRAME).first
    handle.wait_for()
    frame = handle.element_handle().content_frame()
    frame.wait_for_selector(".ace_editor")
    return frame


def set_text(page: Any, text: str) -> Any:
    """Replace the editor's text (as a paste would); returns the iframe."""
    frame = ace_frame(page)
    frame.evaluate("t => document.querySelector('.ace_editor').env.editor.setValue(t, 1)", text)
    return frame


def select_line(frame: Any, line: int) -> None:
    """Select the whole of line ``line`` (1-based) in the editor."""
    frame.evaluate("""n => { const e = document.querySelector('.ace_editor').env.editor;
        e.gotoLine(n, 0, false); e.selection.selectLineEnd(); e.focus(); }""", line)


def press(frame: Any, keys: str) -> None:
    frame.locator(".ace_text-input").press(keys)
