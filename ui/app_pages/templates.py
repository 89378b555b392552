"""Templates: the gallery of sample databases, launching sandboxes, importing dumps.

Launching follows the sandbox's state-change events live inside ``st.status`` until it is
ready (or failed), then shows how long it took.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from engines.registry import descriptor_for, kinds
from ui import feedback, links, picker, session
from ui.formatting import engine_label, human_ms, human_size

if TYPE_CHECKING:
    from orchestrator.store.views import SandboxView, TemplateView

LAUNCH_TIMEOUT_S = 300.0
NO_WORKER_WARNING_S = 10.0
SLOW_LAUNCH_S = 20.0
LAST_LAUNCH = "last_launch"
LAUNCH_REQUEST = "launch_request"
CARDS_PER_ROW = 3
IMPORTED = "template_imported"


def _follow_launch(user: str, sandbox: SandboxView) -> SandboxView:
    """Show the sandbox's events as they happen; returns its final view."""
    orch = session.orchestrator()
    last_event, started, told_slow = 0, time.monotonic(), False
    with st.status(f"Launching **{sandbox.template}** ({sandbox.id[:8]})…",
                   expanded=True) as status:
        while True:
            for event in orch.sandbox_events(user, sandbox.id, after_id=last_event):
                last_event = max(last_event, event.id)
                status.write(f"`{event.at[11:19]}` {event.from_state or 'new'} → "
                             f"**{event.to_state}** {event.reason}")
            sandbox = orch.get_sandbox(user, sandbox.id)
            if sandbox.state in ("ready", "busy"):
                status.update(label=f"**{sandbox.template}** is ready "
                              f"(took {human_ms(sandbox.ready_ms)})", state="complete",
                              expanded=False)
                return sandbox
            if sandbox.state in ("failed", "deleted", "expired"):
                status.update(label=f"Launching **{sandbox.template}** failed", state="error")
                return sandbox
            waited = time.monotonic() - started
            if sandbox.state == "requested" and waited > NO_WORKER_WARNING_S:
                status.update(label=f"Waiting {waited:.0f} s for a worker to start the "
                              "sandbox: are the workers running? Start them with `dbplay up`.")
            else:
                status.update(label=f"Launching **{sandbox.template}** ({sandbox.id[:8]}): "
                              f"{sandbox.state}, {waited:.0f} s so far…")
            if waited > SLOW_LAUNCH_S and not told_slow:
                told_slow = True
                status.write("Still starting: a big template or a cold engine can take a "
                             "minute or more. You may leave this page; the sandbox keeps "
                             "starting and appears on **My sandboxes**.")
            if waited > LAUNCH_TIMEOUT_S:
                status.update(label="Still starting…", state="running")
                st.warning("The sandbox is taking unusually long to start. It keeps going in "
                           "the background: watch it on **My sandboxes**.")
                return sandbox
            time.sleep(0.3)


def _launch(user: str, template: TemplateView) -> None:
    with feedback.guard():
        sandbox = session.orchestrator().create_sandbox(user, template.name, wait=False)
        sandbox = _follow_launch(user, sandbox)
        st.session_state[LAST_LAUNCH] = sandbox.to_dict()
        if sandbox.state in ("ready", "busy"):
            st.session_state[picker.CURRENT] = sandbox.id


def _show_last_launch() -> None:
    last: dict[str, Any] | None = st.session_state.get(LAST_LAUNCH)
    if not last:
        return
    if last["state"] in ("ready", "busy"):
        st.success(f"Sandbox **{last['id'][:8]}** from **{last['template']}** is ready: it "
                   f"took **{human_ms(last['ready_ms'])}** to answer its first query.")
        st.page_link("app_pages/playground.py", label="Open it in the Playground",
                     icon=":material/terminal:")
    elif last["state"] == "failed":
        st.error(f"Sandbox from **{last['template']}** failed to start: {last.get('error')}")
        st.caption("Try again; if it keeps failing, the engine may not be available here.")
    else:
        st.info(f"Sandbox **{last['id'][:8]}** is **{last['state']}**: follow it on "
                "**My sandboxes**.")


def _request_launch(name: str) -> None:
    st.session_state[LAUNCH_REQUEST] = name
    links.link_template(name)  # the URL names the template launched


def _card(user: str, template: TemplateView, available: bool, prefix: str = "") -> None:
    """A template's card; ``prefix`` keeps the widget keys of a second card of the same
    template (the linked one, drawn first) apart."""
    with st.container(border=True, height="stretch"):
        owner = "built-in" if template.owner is None else (
            "yours" if template.owner == user else f"shared by {template.owner}")
        st.markdown(f"**{template.name}** · _{owner}_")
        st.write(template.description or "No description.")
        tables = ", ".join(template.tables[:12]) + (" …" if len(template.tables) > 12 else "")
        noun = "collection" if descriptor_for(template.engine).document_store else "table"
        noun += "" if len(template.tables) == 1 else "s"
        listed = f"{len(template.tables)} {noun}: {tables}" if tables else f"no {noun} yet"
        st.caption(f"{human_size(template.size_bytes)} · {listed}  \n"
                   f"Source: {template.source or 'unknown'} · "
                   f"License: {template.license or 'unknown'}")
        launch, delete = st.columns(2)
        launch.button("Launch", key=f"{prefix}launch_{template.name}", type="primary",
                      disabled=not available, icon=":material/rocket_launch:",
                      on_click=_request_launch, args=(template.name,))
        if template.owner == user and delete.button("Delete",
                                                     key=f"{prefix}delete_{template.name}",
                                                     icon=":material/delete:"):
            with feedback.guard():
                session.orchestrator().delete_template(user, template.name)
                st.rerun()


def _linked_card(user: str, templates: list[TemplateView], available: list[str]) -> None:
    """The template a link named (``?template=NAME``), first; an unknown name says so."""
    linked = links.linked_template()
    if not linked:
        return
    template = next((t for t in templates if t.name == linked), None)
    if template is None:
        st.warning(f"No template named **{linked}** is visible to you: pick one below.")
        return
    st.subheader("Linked template")
    columns = st.columns(CARDS_PER_ROW)
    with columns[0]:
        _card(user, template, template.engine in available, prefix="linked_")


def _dump_kinds(engines: list[str]) -> str:
    """``PostgreSQL (.sql), SQLite (.sqlite, .db, .sql), ...``: what each engine restores."""
    return ", ".join(f"{engine_label(e)} ({', '.join(descriptor_for(e).dump_suffixes)})"
                     for e in engines)


def _import_form(user: str, engines: list[str]) -> None:
    with st.expander("Import a template from a dump file", icon=":material/upload_file:"):
        st.caption(f"Dump files: {_dump_kinds(engines)}. The dump is checked by restoring "
                   "it into a scratch sandbox first; a broken dump is refused and nothing "
                   "is kept.")
        with st.form("import_template", clear_on_submit=False):
            name = st.text_input("Template name", key="import_name")
            engine = st.selectbox("Engine", engines, format_func=engine_label,
                                  key="import_engine")
            description = st.text_input("Description", key="import_description")
            upload = st.file_uploader("Dump file", key="import_file")
            submitted = st.form_submit_button("Import", icon=":material/upload:")
    if not submitted:
        return
    if not name.strip() or upload is None or engine is None:
        st.error("Give the template a name and choose a dump file.")
        return
    with tempfile.TemporaryDirectory() as tmp, feedback.guard():
        path = Path(tmp) / Path(upload.name).name
        path.write_bytes(upload.getvalue())
        with st.spinner("Checking the dump by restoring it into a scratch sandbox…"):
            view = session.orchestrator().import_template(
                user, name.strip(), engine, path, description=description
            )
        st.session_state[IMPORTED] = {"name": view.name, "engine": view.engine,
                                      "size": view.size_bytes, "tables": len(view.tables)}
        st.rerun()  # draw the gallery again, with the new template's card in it


def _show_imported() -> None:
    done: dict[str, Any] | None = st.session_state.pop(IMPORTED, None)
    if not done:
        return
    noun = "table" if descriptor_for(done["engine"]).is_sql else "collection"
    st.success(f"Template **{done['name']}** imported ({human_size(done['size'])}, "
               f"{done['tables']} {noun}{'' if done['tables'] == 1 else 's'}). Launch it from "
               f"its card under **{engine_label(done['engine'])}** above.")


def main() -> None:
    user = session.require_user()
    orch = session.orchestrator()
    st.title("Templates")
    info: dict[str, Any] = {"name": "?", "engines": kinds()}
    templates: list[TemplateView] = []
    with feedback.guard():
        info = orch.provisioner_info()
        templates = orch.list_templates(user)
    available = list(info.get("engines", []))
    st.caption(f"Sandboxes start on the **{info.get('name')}** provisioner here; available "
               f"engines: {', '.join(engine_label(e) for e in available) or 'none'}.")
    requested = st.session_state.pop(LAUNCH_REQUEST, None)
    chosen = next((t for t in templates if t.name == requested), None)
    # The last launch's outcome sits in a placeholder above the launch's progress. The
    # placeholder is an element, so it replaces the previous outcome on screen at once:
    # the old "ready" message does not linger (faded) while a new launch runs. (A
    # container would not do: a new block inherits the old block's children until the
    # run ends.)
    outcome = st.empty()
    if chosen is not None:
        st.session_state.pop(LAST_LAUNCH, None)
        _launch(user, chosen)
    with outcome.container():
        _show_last_launch()
    _linked_card(user, templates, available)
    if not templates:
        st.info("No templates are installed. Import one from a dump file below.")
    by_engine: dict[str, list[TemplateView]] = {}
    for template in templates:
        by_engine.setdefault(template.engine, []).append(template)
    order = {engine: i for i, engine in enumerate(kinds())}
    for engine in sorted(by_engine, key=lambda e: (e not in available, order.get(e, 9), e)):
        st.subheader(engine_label(engine))
        if engine not in available:
            st.caption(f"{engine_label(engine)} is not available on this machine's "
                       "provisioner: these templates cannot be launched here.")
        group = by_engine[engine]
        for start in range(0, len(group), CARDS_PER_ROW):
            for column, template in zip(st.columns(CARDS_PER_ROW),
                                        group[start:start + CARDS_PER_ROW], strict=False):
                with column:
                    _card(user, template, engine in available)
    _import_form(user, available or kinds())
    _show_imported()


main()
