"""DB Playground web UI: ``streamlit run ui/app.py``.

This entry point only routes: it checks that the stack answers (a banner names any part
that is down, see ``ui.stack_banner``), asks who the user is, and hands over to one page
module under ``ui/app_pages/`` through ``st.navigation``. Pages talk to the orchestrator
API only (``ui.session.orchestrator()``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

_REPO = Path(__file__).resolve().parent.parent
if str(_REPO) not in sys.path:  # `streamlit run ui/app.py` puts only ui/ on the path
    sys.path.insert(0, str(_REPO))

from engines.errors import DBPlayError  # noqa: E402
from orchestrator.config.file_modes import private_umask  # noqa: E402
from ui import (  # noqa: E402
    accounts,
    api_tokens,
    feedback,
    links,
    session,
    signin,
    stack_banner,
)

private_umask()  # files this process writes under DBPLAY_HOME are its user's only

PAGES = Path(__file__).resolve().parent / "app_pages"

st.set_page_config(page_title="DB Playground", page_icon=":material/database:", layout="wide")

try:
    api = session.orchestrator()
except Exception as exc:  # settings or metadata database broken, or the stack is down
    st.title("DB Playground")
    if isinstance(exc, DBPlayError):
        feedback.show_error(exc, "Fix the setting named above and restart the UI.")
    else:
        feedback.show_stack_down(exc)
    st.stop()

PAGE_SET = {
    "Explore": [
        st.Page(PAGES / "templates.py", title="Templates", icon=":material/dataset:",
                default=True),
        st.Page(PAGES / "playground.py", title="Playground", icon=":material/terminal:"),
        st.Page(PAGES / "build.py", title="Build", icon=":material/construction:"),
        st.Page(PAGES / "charts.py", title="Charts", icon=":material/bar_chart:"),
        st.Page(PAGES / "schema.py", title="Schema", icon=":material/schema:"),
        st.Page(PAGES / "design.py", title="Design", icon=":material/architecture:"),
        st.Page(PAGES / "tuning.py", title="Tuning", icon=":material/speed:"),
    ],
    "Manage": [
        st.Page(PAGES / "sandboxes.py", title="My sandboxes", icon=":material/dns:"),
        st.Page(PAGES / "shared.py", title="Shared", icon=":material/share:"),
        st.Page(PAGES / "dashboards.py", title="Dashboards", icon=":material/dashboard:"),
    ],
}

status = stack_banner.read_status(api)
stack_banner.render_banner(status)

user = session.current_user()
session.write_cookie()
if user is None:
    # Keep the pages registered (hidden) so a deep link survives signing in, but show
    # only the sign-in screen whichever page was asked for.
    requested = st.navigation(PAGE_SET, position="hidden")
    if requested.url_path == "shared":  # a share link: a public one needs no account
        requested.run()
    signin.render()
    st.stop()
links.follow()

with st.sidebar:
    st.caption(f"Signed in as **{session.display_name(user)}**")
    if st.button("Sign out", key="sign_out", icon=":material/logout:"):
        session.sign_out()
        st.rerun()
    accounts.render_add_account(user)
    api_tokens.render_api_tokens(user)
    st.divider()
    stack_banner.render_sidebar(status)

page = st.navigation(PAGE_SET)
try:
    page.run()
finally:  # also when the page stopped early: the URL says what it shows
    links.publish(page.url_path)
