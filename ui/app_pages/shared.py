"""Open a share link (``/shared?share=ID``): its script and the results it gave when it
was shared; **Open my own copy** launches a sandbox of the caller's from the share's
frozen state and opens it on the Playground with the script in the editor (the owner's
sandbox is never touched). A public share shows to anyone, signed in or not; a private
one asks to sign in. The owner's links are listed below, each with **Revoke**.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from engines.registry import descriptor_for
from ui import editor, feedback, picker, session

PARAM = "share"
PLAYGROUND = "app_pages/playground.py"


def _results(results: list[dict[str, Any]] | None) -> None:
    if not results:
        return
    st.subheader("Results when shared")
    for n, result in enumerate(results, 1):
        st.caption(f"{n}. `{' '.join(result['statement'].split())[:120]}`")
        if result.get("error"):
            feedback.show_error_dict(result["error"])
        elif result["columns"]:
            st.dataframe(pd.DataFrame(result["rows"], columns=result["columns"]),
                         hide_index=True)
            if result.get("truncated"):
                st.caption("Only the first rows were kept.")
        else:
            st.caption(f"{result.get('rowcount') or 0} rows affected")


def _open_copy(user: str, share_id: str) -> None:
    opened: dict[str, Any] | None = None
    with st.spinner("Launching your own sandbox from the share…"), feedback.guard():
        opened = session.orchestrator().open_share(user, share_id)
    if opened is None:
        return
    st.session_state[picker.CURRENT] = opened["id"]
    editor.load(opened["script"])
    st.switch_page(PLAYGROUND, query_params={"sandbox": opened["id"]})


def _show(user: str | None, share_id: str) -> None:
    view = None
    with feedback.guard("Ask its owner for a new link: this one may have been revoked."):
        view = session.orchestrator().view_share(user, share_id)
    if view is None:
        return
    descriptor = descriptor_for(view.engine)
    st.caption(f"A {descriptor.label} sandbox frozen on "
               f"{view.created_at[:16].replace('T', ' ')} UTC"
               + (" · public" if view.public else ""))
    st.code(view.script or "-- no script", language=descriptor.highlight,
            line_numbers=True)
    _results(view.results)
    if user is None:
        st.info("Sign in (below) to open your own copy of this sandbox with the script.")
    elif st.button("Open my own copy", type="primary", icon=":material/content_copy:",
                   key="share_open"):
        _open_copy(user, share_id)


def _my_shares(user: str) -> None:
    shares = []
    with feedback.guard():
        shares = [s for s in session.orchestrator().list_shares(user) if not s.revoked]
    if not shares:
        return
    st.subheader("My share links")
    for share in shares:
        left, right = st.columns([5, 1])
        left.markdown(f"[{share.url}]({share.url})  \n"
                      f"sandbox `{share.sandbox_id}` · {'public' if share.public else 'private'}")
        if right.button("Revoke", key=f"share_revoke_{share.id}"):
            with feedback.guard():
                session.orchestrator().revoke_share(user, share.id)
                st.rerun()


st.title("Shared sandbox")
current = session.current_user()
wanted = st.query_params.get(PARAM, "")
if current is not None:
    wanted = st.text_input("Share link or id", value=wanted, key="share_wanted").strip()
    wanted = wanted.rsplit(f"{PARAM}=", 1)[-1]
if wanted:
    _show(current, wanted)
if current is not None:
    _my_shares(current)
