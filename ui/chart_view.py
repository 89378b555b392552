"""Getting a result's rows for a chart, and drawing a chart spec with Streamlit.

Shared by the Charts page and dashboards. Rows are fetched page by page through the
API (never more than :data:`CHART_FETCH_ROWS`), then aggregated on the server by
:mod:`ui.charts` so at most 5,000 points reach the browser.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engines.result import StatementResult
from ui import session
from ui.charts import ChartSpec, build_chart, prepare, project

CHART_FETCH_ROWS = 20_000
CHUNK_ROWS = 5_000


def fetch_for_chart(user: str, sandbox_id: str, statement: str,
                    first: StatementResult | None = None) -> StatementResult:
    """The statement's rows, up to CHART_FETCH_ROWS, starting from ``first`` if given."""
    orch = session.orchestrator()
    if first is None:
        first = orch.fetch_page(user, sandbox_id, statement, offset=0, limit=CHUNK_ROWS)
    result = StatementResult.from_dict(first.to_dict())
    while result.ok and result.truncated and len(result.rows) < CHART_FETCH_ROWS:
        page = orch.fetch_page(user, sandbox_id, statement, offset=len(result.rows),
                               limit=min(CHUNK_ROWS, CHART_FETCH_ROWS - len(result.rows)))
        if not page.ok or not page.rows:
            break
        result.rows.extend(page.rows)
        result.truncated = page.truncated
    return result


def draw(frame: pd.DataFrame, spec: ChartSpec, key: str) -> bool:
    """Draw ``spec`` over ``frame``; explain instead when it cannot be drawn."""
    if frame.empty:
        st.info("The result has no rows to chart.")
        return False
    try:
        prepared = project(frame, spec) if spec.mark == "projection" else prepare(frame, spec)
        chart = build_chart(prepared, spec)
    except (ValueError, KeyError, TypeError) as exc:
        st.warning(f"Cannot draw this chart: {exc}. Pick other columns or another chart type.")
        return False
    st.altair_chart(chart, width="stretch", key=key)
    if prepared.note:
        st.caption(prepared.note)
    return True
