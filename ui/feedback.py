"""How the UI reports problems: a short ``Type: message`` line and what to do next.

No page shows a raw traceback. Expected failures are :class:`DBPlayError` subclasses;
failures of the stack itself (Redis or the workers not answering) are recognised by
where their exception class comes from and get the ``dbplay up`` hint.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

from engines.errors import DBPlayError

STACK_HINT = (
    "Start it with `dbplay up` (starts Redis and the query workers), then reload this page."
)

#: what to do next, by error type
HINTS: dict[str, str] = {
    "NotFound": "It may have expired or been deleted: check **My sandboxes**.",
    "Conflict": "The message above says what is in the way (a sandbox that is busy or has "
    "ended, a name already taken); the page shows only the actions its state allows.",
    "QuotaExceeded": "Delete a sandbox you no longer need (**My sandboxes**) and try again.",
    "InvalidRequest": "Check the values you entered and try again.",
    "ProvisionError": "Try launching again; if it keeps failing, check that the engine is "
    "available here (see the note on **Templates**).",
    "RestoreError": "The dump could not be restored: check that the file is a valid dump "
    "for the engine you chose.",
    "QuerySyntaxError": "Fix the statement near the position shown and run it again.",
    "UnsupportedCommand": "Rewrite the statement using the supported commands listed above.",
    "QueryTimeout": "Make the query cheaper (add a filter or LIMIT) and run it again.",
    "QueryCancelled": "The query was stopped on request. Run it again when ready.",
    "ExecutionError": "The database refused the statement; check names and values.",
    "PermissionDenied": "Sandbox users may not do that; only statements on your own data "
    "are allowed.",
    "EngineUnavailable": "The sandbox's database is not answering: reset it from "
    "**My sandboxes** or launch a new one.",
    "DumpError": "The snapshot could not be written; try again, or reset the sandbox.",
    "ImportRowError": "Fix the row named above in your file and import again.",
    "ServiceUnavailable": STACK_HINT,
}


def is_stack_error(exc: BaseException) -> bool:
    """True when ``exc`` says the broker or the workers cannot be reached."""
    if isinstance(exc, DBPlayError):
        return False
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    return any(
        cls.__module__.split(".")[0] in {"redis", "dramatiq"} for cls in type(exc).__mro__
    )


def position(error: dict[str, Any]) -> str:
    """``"line 3, column 7"`` (or just the line) when the error says where it is."""
    line, column = error.get("line"), error.get("column")
    if line is None:
        return ""
    return f"line {line}, column {column}" if column is not None else f"line {line}"


def excerpt(text: str, line: int, column: int | None = None, context: int = 2) -> str | None:
    """The lines of ``text`` up to ``line`` (1-based), numbered, with a caret under
    ``column`` (1-based): where the error is, as a compiler shows it. None when ``line``
    is not in ``text``."""
    lines = text.splitlines()
    if not 1 <= line <= len(lines):
        return None
    first = max(1, line - context)
    width = len(str(line))
    out = [f"{n:>{width}} | {lines[n - 1]}" for n in range(first, line + 1)]
    if column is not None and column >= 1:
        out.append(" " * (width + 3 + column - 1) + "^")
    return "\n".join(out)


def show_error_dict(error: dict[str, Any], hint: str | None = None) -> None:
    """Show an error that crossed a process boundary (``{"type", "message", ...}``)."""
    kind = str(error.get("type", "Error"))
    where = position(error)
    text = f"**{kind}**: {error.get('message', '')}"
    if where:
        text += f"  \n_at {where}_"
    if "row" in error:
        text += f"  \n_row {error['row']}_"
    st.error(text)
    if hint or kind in HINTS:
        st.caption(hint or HINTS[kind])


def show_error(exc: DBPlayError, hint: str | None = None) -> None:
    show_error_dict(exc.to_dict(), hint)


def show_stack_down(exc: BaseException | None = None) -> None:
    detail = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
    st.error(f"The DB Playground stack is not reachable{detail}.")
    st.info(STACK_HINT)


@contextmanager
def guard(hint: str | None = None) -> Iterator[None]:
    """Run an action; show any failure as a short error with what to do next.

    Code after the ``with`` block runs either way; callers check their own results.
    """
    try:
        yield
    except DBPlayError as exc:
        show_error(exc, hint)
    except Exception as exc:
        if is_stack_error(exc):
            show_stack_down(exc)
        else:
            st.error(f"Unexpected error: {type(exc).__name__}: {exc}")
            st.caption("This is a bug in DB Playground; please report it with the steps above.")


FLASH = "flash_message"


def flash(message: str) -> None:
    """Keep a success message for the next run (call ``st.rerun()`` after it): shown once,
    at the top of the page, by :func:`show_flash`."""
    st.session_state[FLASH] = message


def show_flash() -> None:
    """The message left by :func:`flash`, if any; it is shown once."""
    message: str | None = st.session_state.pop(FLASH, None)
    if message:
        st.success(message, icon=":material/check_circle:")
