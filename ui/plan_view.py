"""The Explain panel's plan: a graphical tree, what to look at first, and how it compares
with the previous plan of the same statement.

:func:`remember` keeps each plan fetched in this browser session (a few per statement and
sandbox); :func:`show` draws one, and when the same statement was explained before in the
same sandbox (say, before an index was added) it shows the difference node by node.
:func:`show_diff` draws any two plans' difference (the index advisor's proof uses it).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from engines.plans.annotate import estimate_error_text, hot_nodes, misestimates
from engines.plans.diff import diff_plans
from engines.plans.nodes import label
from engines.result import ExplainResult, PlanNode
from ui.plans import diff_rows, plan_dot, plan_tree

HISTORY = "plan_history"
KEPT_PER_STATEMENT = 5
KEPT_STATEMENTS = 30


def _history_key(sandbox_id: str, statement: str) -> str:
    return f"{sandbox_id}\n{statement.strip()}"


def remember(sandbox_id: str, plan: ExplainResult) -> None:
    """Keep ``plan`` as the newest plan of its statement in this sandbox."""
    history: dict[str, list[dict[str, Any]]] = st.session_state.setdefault(HISTORY, {})
    kept = history.pop(_history_key(sandbox_id, plan.statement), [])
    kept.append({"at": dt.datetime.now().strftime("%H:%M:%S"), "plan": plan.to_dict()})
    del kept[:-KEPT_PER_STATEMENT]
    history[_history_key(sandbox_id, plan.statement)] = kept  # newest last
    for stale in list(history)[:-KEPT_STATEMENTS]:
        del history[stale]


def _previous(sandbox_id: str, plan: ExplainResult) -> dict[str, Any] | None:
    """The plan of the same statement fetched just before ``plan``, if any."""
    history: dict[str, list[dict[str, Any]]] = st.session_state.get(HISTORY, {})
    kept = history.get(_history_key(sandbox_id, plan.statement), [])
    current = plan.to_dict()
    for i, entry in enumerate(kept):
        if entry["plan"] == current:
            return kept[i - 1] if i > 0 else None
    return None


def _highlights(root: PlanNode) -> None:
    hot = hot_nodes(root)
    if hot and root.time_ms:
        names = ", ".join(f"{label(n)} ({100 * (n.self_time_ms or 0) / root.time_ms:.0f}%)"
                          for n in hot)
        st.markdown(f":red[**Most time:**] {names}")
    for node in misestimates(root):
        st.warning(f"{label(node)}: {estimate_error_text(node)}. The planner's statistics "
                   "may be stale (ANALYZE) or the condition is hard to estimate.",
                   icon=":material/warning:")


def show_diff(before: PlanNode, after: PlanNode, key: str) -> None:
    """What changed from ``before`` to ``after``: a sentence, the changes, a table."""
    diff = diff_plans(before, after)
    st.markdown(f"**{diff.summary()}**")
    for change in diff.changes:
        st.markdown(f"- {change}")
    st.dataframe(diff_rows(diff), hide_index=True, width="stretch", key=f"{key}_diff")


def show(sandbox_id: str, plan: ExplainResult, key: str) -> None:
    """One plan: how it was obtained, the graph, highlights, and the comparison with the
    previous plan of the statement; the text tree and the raw output on demand."""
    if plan.mode:
        st.caption(f"How: {plan.mode}.")
    if plan.plan is None:
        st.info(plan.message or "This engine has no plan for this statement.")
    else:
        if plan.message:
            st.caption(plan.message)
        _highlights(plan.plan)
        st.graphviz_chart(plan_dot(plan.plan))  # natural size: a one-box plan stays small
        earlier = _previous(sandbox_id, plan)
        if earlier is not None and earlier["plan"].get("plan"):
            with st.expander(f"Compared with the plan explained at {earlier['at']}",
                             expanded=True):
                show_diff(PlanNode.from_dict(earlier["plan"]["plan"]), plan.plan, key)
        with st.expander("Plan as text"):
            st.code(plan_tree(plan.plan), language=None)
    if plan.raw is not None:
        with st.expander("Raw plan output"):
            st.json(plan.raw)
