"""The Dashboards page's filter widgets: a date or number range on a column, or a list of
values. They only build the filter dicts of ``Orchestrator.refresh_dashboard`` (bound
there as parameters, never pasted into a query); nothing here runs anything."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import streamlit as st

if TYPE_CHECKING:
    from orchestrator.store.views import DashboardView

KINDS = {"range": "A range (dates or numbers)", "values": "A list of values"}


def _date(value: Any) -> dt.date | None:
    if isinstance(value, str) and len(value) >= 10:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def seen_values(dashboard: DashboardView, column: str) -> list[Any]:
    """Values of ``column`` the items' last charts show (their x or colour cells)."""
    seen: list[Any] = []
    for item in dashboard.items:
        output = item.output or {}
        names = list(output.get("columns") or [])
        if column not in names:
            continue
        at = names.index(column)
        for row in output.get("rows") or []:
            if at < len(row) and row[at] not in seen and row[at] is not None:
                seen.append(row[at])
    return seen


def _range(key: str, spec: dict[str, Any]) -> dict[str, Any] | None:
    low, high = spec.get("min"), spec.get("max")
    if _date(low) or _date(high):
        start = _date(low) or dt.date.today() - dt.timedelta(days=30)
        end = _date(high) or dt.date.today()
        picked = st.date_input(f"{spec['column']} between", (start, end), key=key)
        if isinstance(picked, tuple) and len(picked) == 2:
            return {**spec, "min": picked[0].isoformat(), "max": picked[1].isoformat()}
        return None
    left, right = st.columns(2)
    lo = left.number_input(f"{spec['column']} from", value=low, key=f"{key}_min")
    hi = right.number_input(f"{spec['column']} to", value=high, key=f"{key}_max")
    if lo is None and hi is None:
        return None
    return {**spec, "min": lo, "max": hi}


def edit(dashboard: DashboardView,
         filters: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
    """A widget per filter (emptied ones dropped) and a form to add one; returns the
    filters as the widgets now say, and whether one was just added."""
    chosen: list[dict[str, Any]] = []
    for number, spec in enumerate(filters):
        key = f"dash_filter_{dashboard.id}_{number}"
        if spec.get("kind") == "range":
            ranged = _range(key, spec)
            if ranged is not None:
                chosen.append(ranged)
        else:
            options = list(dict.fromkeys([*spec.get("values", []),
                                          *seen_values(dashboard, spec["column"])]))
            values = st.multiselect(f"{spec['column']} is one of", options,
                                    default=spec.get("values", []), key=key,
                                    accept_new_options=True,  # values the charts hide now
                                    help="Pick shown values or type others.")
            if values:
                chosen.append({"column": spec["column"], "kind": "values", "values": values})
    with st.popover("Add a filter", icon=":material/filter_alt:"):
        column = st.text_input("Column", key=f"dash_new_filter_column_{dashboard.id}")
        kind = st.radio("Keep rows with", list(KINDS), format_func=KINDS.__getitem__,
                        key=f"dash_new_filter_kind_{dashboard.id}")
        dates = st.checkbox("The column holds dates", value=True,
                            key=f"dash_new_filter_dates_{dashboard.id}")
        if st.button("Add", key=f"dash_new_filter_add_{dashboard.id}") and column.strip():
            new: dict[str, Any]
            if kind == "range":
                today = dt.date.today()
                new = ({"column": column.strip(), "kind": "range",
                        "min": (today - dt.timedelta(days=365)).isoformat(),
                        "max": today.isoformat()} if dates
                       else {"column": column.strip(), "kind": "range", "min": 0, "max": None})
            else:
                seen = seen_values(dashboard, column.strip())
                new = {"column": column.strip(), "kind": "values",
                       "values": seen[:1] or [""]}
            chosen.append(new)
            return chosen, True
    return chosen, False
