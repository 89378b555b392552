"""Templates: the gallery, launching with live progress, importing a dump."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streamlit.runtime.forward_msg_queue import ForwardMsgQueue
from streamlit.testing.v1 import AppTest

from tests.ui.conftest import APP, SQLITE_TEMPLATE, TIMEOUT, all_text, no_crash, texts
from ui.formatting import human_size
from ui.session import USER_KEY

CHINOOK = Path(__file__).resolve().parents[2] / "orchestrator" / "store" / "builtin_templates" / \
    "chinook-sqlite" / "Chinook_Sqlite.sqlite"


def test_gallery_groups_templates_by_engine_with_their_facts(app, user, api):
    at = app(user)
    no_crash(at)
    assert "SQLite" in texts(at, "subheader")
    text = all_text(at)
    assert "**chinook-sqlite**" in text
    chinook = next(t for t in api.list_templates(user) if t.name == SQLITE_TEMPLATE)
    card = next(c for c in texts(at, "caption") if f"License: {chinook.license}" in c)
    assert card.startswith(human_size(chinook.size_bytes))
    assert f"Source: {chinook.source}" in card


def test_launch_follows_events_and_reports_the_time_to_ready(app, user, api):
    at = app(user)
    at.button(key=f"launch_{SQLITE_TEMPLATE}").click().run()
    no_crash(at)
    status = at.status[0]
    assert "is ready (took" in status.label
    steps = "\n".join(m.value for m in status.markdown)
    assert "**provisioning**" in steps and "**ready**" in steps
    assert any("to answer its first query" in s for s in texts(at, "success"))
    (sandbox,) = api.list_sandboxes(user)
    assert sandbox.state == "ready" and sandbox.ready_ms is not None
    assert at.session_state["current_sandbox"] == sandbox.id


def test_importing_a_dump_adds_a_launchable_template(app, user, api):
    at = app(user)
    at.text_input(key="import_name").input(f"mine-{user}")
    at.selectbox(key="import_engine").set_value("sqlite")
    at.text_input(key="import_description").input("my copy")
    at.file_uploader(key="import_file").upload("copy.sqlite", CHINOOK.read_bytes())
    at.button(key="FormSubmitter:import_template-Import").click().run()
    no_crash(at)
    assert any(f"mine-{user}" in s and "under **SQLite** above" in s
               for s in texts(at, "success")), all_text(at)
    names = [t.name for t in api.list_templates(user)]
    assert f"mine-{user}" in names
    # the gallery is drawn again at once: the new card is there without another run
    assert at.button(key=f"launch_mine-{user}") is not None
    assert at.button(key=f"delete_mine-{user}") is not None


def test_a_broken_dump_is_refused_with_a_restore_error(app, user, api):
    at = app(user)
    at.text_input(key="import_name").input(f"broken-{user}")
    at.selectbox(key="import_engine").set_value("sqlite")
    at.file_uploader(key="import_file").upload("broken.sql", b"CREATE TABLE (;\n")
    at.button(key="FormSubmitter:import_template-Import").click().run()
    assert not at.exception
    errors: list[Any] = texts(at, "error")
    assert errors and "Error" in errors[0] and "Traceback" not in errors[0]
    assert f"broken-{user}" not in [t.name for t in api.list_templates(user)]


def test_import_without_a_file_says_what_is_missing(app, user):
    at = app(user)
    at.text_input(key="import_name").input("x")
    at.button(key="FormSubmitter:import_template-Import").click().run()
    assert any("choose a dump file" in e for e in texts(at, "error"))


Sent = list[tuple[tuple[int, ...], str, str]]


def _title(sent: Sent) -> int:
    """The page title's top-level place (a stack banner above it may come and go)."""
    return next(path[1] for path, what, _ in sent if what == "new_element:heading")


def test_a_new_launch_clears_the_previous_ready_message_before_it_starts(app, user, api):
    """The browser keeps a previous run's elements (faded) until something replaces their
    place: the place of the last "ready" message must be replaced by a plain element before
    the new launch's progress is drawn (a new block would keep the old message inside)."""
    sent: Sent = []

    def record(msg: Any) -> None:
        if msg.HasField("delta") and msg.metadata.delta_path[0] == 0:  # main area
            kind = msg.delta.WhichOneof("type")
            what = (msg.delta.add_block.WhichOneof("type") if kind == "add_block"
                    else msg.delta.new_element.WhichOneof("type"))
            body = msg.delta.new_element.alert.body if what == "alert" else ""
            sent.append((tuple(msg.metadata.delta_path), f"{kind}:{what}", body))

    at = app(user)
    ForwardMsgQueue.on_before_enqueue_msg(record)
    try:
        at.button(key=f"launch_{SQLITE_TEMPLATE}").click().run()
        ready = next(path for path, _, body in sent if "to answer its first query" in body)
        below_title = ready[1] - _title(sent)
        sent.clear()
        at.button(key=f"launch_{SQLITE_TEMPLATE}").click().run()
    finally:
        ForwardMsgQueue.on_before_enqueue_msg(None)
    no_crash(at)
    status = next(i for i, (_, what, _) in enumerate(sent) if what == "add_block:expandable")
    # the top-level place that held the old message is first filled with an empty element
    place = (0, _title(sent) + below_title)
    first = next(i for i, (path, _, _) in enumerate(sent) if path == place)
    assert sent[first][1] == "new_element:empty" and first < status
    assert len(api.list_sandboxes(user)) == 2
    assert sum("to answer its first query" in s for s in texts(at, "success")) == 1


def test_a_template_link_shows_its_card_first_and_a_launch_names_its_template(stack_env,
                                                                             user):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.session_state[USER_KEY] = user
    at.query_params["template"] = SQLITE_TEMPLATE
    at.run()
    no_crash(at)
    assert texts(at, "subheader")[0] == "Linked template"
    at.button(key=f"linked_launch_{SQLITE_TEMPLATE}").click().run()
    no_crash(at)
    assert any("to answer its first query" in s for s in texts(at, "success"))
    assert at.query_params["template"] in (SQLITE_TEMPLATE, [SQLITE_TEMPLATE])


def test_a_link_to_an_unknown_template_says_so_and_shows_the_gallery(stack_env, user):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.session_state[USER_KEY] = user
    at.query_params["template"] = "no-such-template"
    at.run()
    no_crash(at)
    assert any("No template named **no-such-template**" in w for w in texts(at, "warning"))
    assert "Linked template" not in texts(at, "subheader")
    assert at.button(key=f"launch_{SQLITE_TEMPLATE}") is not None
