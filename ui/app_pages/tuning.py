"""Tuning: a sandbox's workload ranked by time, and index advice proven on a throwaway
clone (each suggestion built and timed there; the sandbox changes only on "Apply")."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from engines.registry import descriptor_for
from ui import feedback, picker, session

#: engines index advice covers
ADVISED = ("postgres", "sqlite", "mongodb")


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f} ms"


def _workload(user: str, sandbox_id: str) -> None:
    if st.button("Refresh", key="tuning_workload_refresh", icon=":material/refresh:"):
        st.session_state.pop(f"tuning_workload_{sandbox_id}", None)
    key = f"tuning_workload_{sandbox_id}"
    if key not in st.session_state:
        with feedback.guard(), st.spinner("Reading the workload…"):
            st.session_state[key] = session.orchestrator().tuning_workload(user, sandbox_id)
    rows: list[dict[str, Any]] | None = st.session_state.get(key)
    if rows is None:
        return
    if not rows:
        st.info("No statements yet: run some queries in the **Playground**, then Refresh.")
        return
    st.caption("Statements ranked by total time (statements that differ only in their "
               "constants are one line).")
    st.dataframe(pd.DataFrame([{
        "statement": " ".join(r["statement"].split()), "calls": r["calls"],
        "total": _ms(r["total_ms"]), "mean": _ms(r["mean_ms"]), "source": r["source"],
    } for r in rows]), hide_index=True, width="stretch")


def _suggestion(user: str, sandbox_id: str, n: int, s: dict[str, Any],
                language: str = "sql") -> None:
    verdict = "verified on a clone" if s["verified"] else "not verified"
    title = f"{n}. {s['ddl']}"
    if s["before_ms"] is not None and s["after_ms"] is not None:
        title += f" · {_ms(s['before_ms'])} → {_ms(s['after_ms'])}"
    with st.expander(title, expanded=n <= 3):
        st.code(s["ddl"], language=language)
        st.markdown(s["reason"])
        facts = [verdict]
        if s["size_bytes"] is not None:
            facts.append(f"size {s['size_bytes'] / 2**20:,.1f} MiB")
        if s["write_cost_pct"] is not None:
            facts.append(f"inserts {s['write_cost_pct']:+.0f}%")
        st.caption(" · ".join(facts))
        for statement in s["statements"]:
            st.code(statement, language=language)
        if st.button("Apply", key=f"tuning_apply_{sandbox_id}_{n}", icon=":material/bolt:"):
            with feedback.guard(), st.spinner("Applying…"):
                session.orchestrator().apply_advice(user, sandbox_id, n)
                st.success(f"Applied to the sandbox: {s['ddl']}")


def _advice(user: str, sandbox_id: str, language: str = "sql") -> None:
    api = session.orchestrator()
    key = f"tuning_advice_{sandbox_id}"
    st.caption("Candidates come from the workload's statements; each chosen index is built "
               "on a throwaway clone and every statement it serves is timed before and "
               "after (median of 5 runs). The sandbox changes only when you press Apply.")
    if st.button("Advise", key="tuning_advise", type="primary", icon=":material/insights:"):
        with feedback.guard(), st.spinner("Proving advice on a throwaway clone…"):
            st.session_state[key] = api.advise(user, sandbox_id)
    if key not in st.session_state:
        with feedback.guard():
            st.session_state[key] = api.last_advice(user, sandbox_id)
    advice: dict[str, Any] | None = st.session_state.get(key)
    if advice is None:
        st.info("No advice yet for this sandbox: press **Advise**.")
        return
    if not advice["suggestions"]:
        st.success("No index would make this workload faster.")
    for n, suggestion in enumerate(advice["suggestions"], 1):
        _suggestion(user, sandbox_id, n, suggestion, language)


def main() -> None:
    user = session.require_user()
    st.title("Tuning")
    sandbox = picker.pick_sandbox(user, key="tuning_sandbox")
    if sandbox is None or sandbox.state not in picker.USABLE:
        return
    if sandbox.engine not in ADVISED:
        st.info(f"Workload and index advice cover PostgreSQL, SQLite and MongoDB sandboxes; "
                f"this one is {descriptor_for(sandbox.engine).label}.")
        return
    workload, advice = st.tabs(["Workload", "Advice"])
    with workload:
        _workload(user, sandbox.id)
    with advice:
        _advice(user, sandbox.id, descriptor_for(sandbox.engine).language)


main()
