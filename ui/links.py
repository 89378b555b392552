"""Links to what a page shows: the sandbox, saved query, dashboard or template is in the URL.

``?sandbox=ID`` opens that sandbox on the Playground, Schema and Tuning pages;
``?query=ID`` loads a saved query into the Playground's editor; ``?dashboard=ID`` opens a
dashboard; ``?template=NAME`` shows that template's card first on the Templates page
(which names the template last launched from it). :func:`follow` applies a link's
parameters once (before the page runs: the pages' pickers then start on that object),
:func:`publish` writes what the page shows back into the URL (after it ran), so the
address bar can always be copied and shared with oneself. Ownership is checked where the
object is read: another user's id is simply not found.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import picker

SANDBOX, QUERY, DASHBOARD, TEMPLATE = "sandbox", "query", "dashboard", "template"
#: the link values already applied (or published), so a stale URL never overrides a
#: choice made on the page since
APPLIED = "links_applied"
#: a saved query id the Playground should load into its editor
WANTED_QUERY = "links_wanted_query"
#: the select boxes that remember a sandbox or dashboard choice of their own
SANDBOX_PICKERS = ("pg_sandbox", "schema_sandbox", "tuning_sandbox")
DASHBOARD_KEY, DASHBOARD_PICKER = "dash_selected", "dash_pick"
#: the template a link named, or the one last launched from the Templates page
LINKED_TEMPLATE = "links_template"
#: pages (by URL path; the Templates page is the default, "") and the parameters that
#: say what they show
PAGE_PARAMS = {"playground": (SANDBOX,), "schema": (SANDBOX,),
               "tuning": (SANDBOX,), "dashboards": (DASHBOARD,),
               "": (TEMPLATE,), "templates": (TEMPLATE,)}


def _applied() -> dict[str, str]:
    applied: dict[str, str] = st.session_state.setdefault(APPLIED, {})
    return applied


def follow() -> None:
    """Apply the URL's parameters that were not applied yet."""
    applied = _applied()
    params = st.query_params
    sandbox = params.get(SANDBOX)
    if sandbox and applied.get(SANDBOX) != sandbox:
        applied[SANDBOX] = sandbox
        if st.session_state.get(picker.CURRENT) != sandbox:
            st.session_state[picker.CURRENT] = sandbox
            for key in SANDBOX_PICKERS:
                st.session_state.pop(key, None)
    query = params.get(QUERY)
    if query and applied.get(QUERY) != query:
        applied[QUERY] = query
        st.session_state[WANTED_QUERY] = query
    dashboard = params.get(DASHBOARD)
    if dashboard and applied.get(DASHBOARD) != dashboard and dashboard.isdigit():
        applied[DASHBOARD] = dashboard
        st.session_state[DASHBOARD_KEY] = int(dashboard)
        st.session_state.pop(DASHBOARD_PICKER, None)
    template = params.get(TEMPLATE)
    if template and applied.get(TEMPLATE) != template:
        applied[TEMPLATE] = template
        st.session_state[LINKED_TEMPLATE] = template


def _shown(param: str) -> Any:
    if param == SANDBOX:
        return st.session_state.get(picker.CURRENT)
    if param == DASHBOARD:
        return st.session_state.get(DASHBOARD_KEY)
    if param == TEMPLATE:
        return st.session_state.get(LINKED_TEMPLATE)
    return None


def publish(page: str) -> None:
    """Put what ``page`` (its URL path) shows into the URL."""
    applied = _applied()
    for param in PAGE_PARAMS.get(page, ()):
        value = _shown(param)
        if value is None:
            continue
        value = str(value)
        applied[param] = value
        if st.query_params.get(param) != value:
            st.query_params[param] = value


def linked_template() -> str | None:
    """The template a link named (or the one last launched from the Templates page)."""
    name: str | None = st.session_state.get(LINKED_TEMPLATE)
    return name


def link_template(name: str) -> None:
    """Make ``name`` the Templates page's linked template (it goes into the URL)."""
    st.session_state[LINKED_TEMPLATE] = name


def take_wanted_query() -> str | None:
    """The saved query id a link asked the Playground to load (once)."""
    wanted: str | None = st.session_state.pop(WANTED_QUERY, None)
    return wanted
