"""Chart filters as a SQL ``WHERE`` with bound parameters only.

The SQL text holds quoted column names and ``$name`` placeholders, nothing a user typed:
every filter value is converted to the column's type in Python and bound. A value of a
``values`` filter that cannot be of the column's type matches nothing (it equals no row);
a ``range`` bound that cannot be is an :class:`InvalidRequest` saying so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa

from engines.errors import InvalidRequest
from orchestrator.results.charts.request import ChartFilter, Kind, display_names, kind_of, resolve


def quote(name: str) -> str:
    """A column name as a DuckDB identifier (double quotes, inner ones doubled)."""
    return '"' + name.replace('"', '""') + '"'


def where_clause(schema: pa.Schema, filters: Iterable[ChartFilter]) -> tuple[str, dict[str, Any]]:
    """``(sql, params)``: the conditions ANDed (``TRUE`` without filters)."""
    names = display_names(schema)
    conditions: list[str] = []
    params: dict[str, Any] = {}
    for i, flt in enumerate(filters):
        flt.check()
        fld = resolve(schema, flt.column, "a filter")
        kind = kind_of(fld.type)
        if not kind.groupable:
            raise InvalidRequest(f"column {names[fld.name]} holds {kind.value} data and "
                                 "cannot be filtered")
        col = quote(fld.name)
        if flt.kind == "range":
            parts = []
            for bound, op, value in (("lo", ">=", flt.min), ("hi", "<=", flt.max)):
                if value is None:
                    continue
                try:
                    params[f"f{i}{bound}"] = _coerce(value, fld.type, kind)
                except ValueError:
                    raise InvalidRequest(
                        f"the filter on {names[fld.name]} needs {_a(kind)}, not {value!r}"
                    ) from None
                parts.append(f"{col} {op} ${f'f{i}{bound}'}")
            conditions.append("(" + " AND ".join(parts) + ")")
        else:
            wanted = []
            for j, value in enumerate(flt.values):
                if value is None:
                    continue
                try:
                    params[f"f{i}v{j}"] = _coerce(value, fld.type, kind)
                except ValueError:
                    continue  # no row of this column can equal it
                wanted.append(f"$f{i}v{j}")
            alternatives = [f"{col} IN ({', '.join(wanted)})"] if wanted else []
            if any(v is None for v in flt.values):
                alternatives.append(f"{col} IS NULL")
            conditions.append("(" + (" OR ".join(alternatives) or "FALSE") + ")")
    return (" AND ".join(conditions) or "TRUE"), params


def _coerce(value: Any, typ: pa.DataType, kind: Kind) -> Any:
    """``value`` as a Python value DuckDB compares with the column; ValueError if it
    cannot be one."""
    if kind is Kind.TEXT:
        return value if isinstance(value, str) else str(value)
    if kind is Kind.NUMBER:
        return _number(value)
    if kind is Kind.BOOL:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise ValueError(value)
    if kind is Kind.TIME_OF_DAY:
        if isinstance(value, dt.time):
            return value
        return dt.time.fromisoformat(str(value))
    if kind is Kind.TEMPORAL:
        return _moment(value, typ)
    raise ValueError(value)


def _number(value: Any) -> int | float | Decimal:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            return Decimal(text) if "e" not in text.lower() else float(text)
        except (InvalidOperation, ValueError):
            raise ValueError(value) from None
    raise ValueError(value)


def _moment(value: Any, typ: pa.DataType) -> dt.datetime | dt.date:
    """A date or timestamp for a comparison with the column: naive UTC for naive columns
    and dates, UTC-aware for time-zone-aware columns."""
    if isinstance(value, dt.datetime):
        moment: dt.datetime | dt.date = value
    elif isinstance(value, dt.date):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            moment = dt.date.fromisoformat(text) if len(text) == 10 \
                else dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(value) from None
    else:
        raise ValueError(value)
    aware = pa.types.is_timestamp(typ) and typ.tz is not None
    if not isinstance(moment, dt.datetime):
        if not aware:
            return moment
        moment = dt.datetime.combine(moment, dt.time())
    if aware:
        if moment.tzinfo is None:
            return moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC)
    if moment.tzinfo is not None:
        return moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def _a(kind: Kind) -> str:
    return {Kind.NUMBER: "a number", Kind.TEMPORAL: "a date or time (ISO 8601)",
            Kind.BOOL: "true or false", Kind.TIME_OF_DAY: "a time of day (HH:MM:SS)"}.get(
                kind, "a value")
