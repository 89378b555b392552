"""Results as pandas frames: for display (``st.dataframe``) and for charts.

Values arrive JSON-safe (see :func:`engines.result.jsonable`): dates are ISO strings,
decimals are strings, documents are dicts, and MongoDB's BSON values come as relaxed
extended JSON (``{"$oid": ...}``, ``{"$date": ...}``, ``{"$numberDecimal": ...}``).
:func:`typed_frame` unwraps those and turns values back into numbers and timestamps where
every value agrees, so charts get real types (a ``$date`` column charts as time).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from engines.result import StatementResult

_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?([+-]\d{2}:?\d{2}|Z)?$"
)
_SAMPLE = 200


#: extended-JSON wrappers whose inner value is the plain value (numbers stay strings here
#: and become numbers in :func:`_coerce` when the whole column agrees)
_PLAIN_WRAPPERS = ("$oid", "$numberDecimal", "$numberLong", "$numberInt", "$numberDouble",
                   "$uuid", "$symbol")


def _wrapped(value: Any) -> tuple[str, Any] | None:
    """``("$oid", "abc")`` for ``{"$oid": "abc"}``; None for anything else."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, inner),) = value.items()
        if isinstance(key, str) and key.startswith("$"):
            return key, inner
    return None


def _date_text(inner: Any) -> Any:
    """A ``$date`` payload as ISO text: relaxed JSON has ISO strings, canonical JSON (and
    dates outside 1970-9999) milliseconds since the epoch."""
    millis = _wrapped(inner)
    if millis is not None and millis[0] == "$numberLong":
        inner = millis[1]
    if isinstance(inner, str) and not inner.lstrip("-").isdigit():
        return inner
    try:
        moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=int(inner))
    except (TypeError, ValueError, OverflowError):
        return json.dumps(inner, default=str)
    return moment.isoformat().replace("+00:00", "Z")


def unwrap_extended(value: Any) -> Any:
    """Relaxed extended JSON back to plain values, recursively: ``{"$oid": s}`` -> ``s``,
    ``{"$date": ...}`` -> ISO text, ``{"$numberDecimal": "1.5"}`` -> ``"1.5"``."""
    wrapped = _wrapped(value)
    if wrapped is not None:
        key, inner = wrapped
        if key == "$date":
            return _date_text(inner)
        if key in _PLAIN_WRAPPERS:
            return inner
        return value  # $binary, $timestamp, $regularExpression...: no plain form
    if isinstance(value, dict):
        return {k: unwrap_extended(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_extended(v) for v in value]
    return value


def unique_names(names: Sequence[str]) -> list[str]:
    """Column names made unique (``a``, ``a_2``) so every column can be picked by name."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        name = name or "?column?"
        if name in seen:
            seen[name] += 1
            out.append(f"{name}_{seen[name]}")
        else:
            seen[name] = 1
            out.append(name)
    return out


def raw_frame(result: StatementResult) -> pd.DataFrame:
    """The rows as they came, one column per result column."""
    names = unique_names([c.name for c in result.columns])
    if not names and result.rows:
        names = [f"column_{i + 1}" for i in range(len(result.rows[0]))]
    return pd.DataFrame(result.rows, columns=names)


def _cell_text(value: Any) -> Any:
    wrapped = _wrapped(value)
    if wrapped is not None and wrapped[0] == "$oid":
        return f"ObjectId('{wrapped[1]}')"
    if wrapped is not None and (wrapped[0] == "$date" or wrapped[0] in _PLAIN_WRAPPERS):
        return str(unwrap_extended(value))
    if isinstance(value, dict | list):
        if isinstance(value, list) and len(value) > 8 and all(
            isinstance(v, int | float) for v in value[:8]
        ):
            head = ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in value[:4])
            return f"[{head}, … {len(value)} values]"
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


NULL = "NULL"


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _display_column(values: list[Any]) -> pd.Series:
    """One column as ``st.dataframe`` shows it: a column with a NULL in it is text, so the
    NULL reads ``NULL`` (Streamlit draws a missing value as ``None``); one with mixed
    types is text too (Arrow wants one type per column)."""
    texts = [_cell_text(v) for v in values]
    if any(_is_null(v) for v in texts):
        return pd.Series([NULL if _is_null(v) else v if isinstance(v, str) else str(v)
                          for v in texts], dtype=object)
    cells = pd.Series(texts, dtype=object).infer_objects()
    if cells.dtype == object and len({type(v) for v in cells}) > 1:
        cells = cells.map(str)
    return cells


def display_frame(result: StatementResult) -> pd.DataFrame:
    """A frame ``st.dataframe`` can show: documents and arrays as compact JSON text,
    ObjectIds as ``ObjectId('...')``, dates and decimals as their text, NULL as ``NULL``."""
    names = unique_names([c.name for c in result.columns])
    if not names and result.rows:
        names = [f"column_{i + 1}" for i in range(len(result.rows[0]))]
    # column by column from the plain values: a whole number next to a NULL stays whole
    # ("1", not the "1.0" a pandas float column would make of it)
    return pd.DataFrame({name: _display_column([row[i] if i < len(row) else None
                                                for row in result.rows])
                         for i, name in enumerate(names)}, columns=names)


def _is_vector(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) >= 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    )


def _coerce(series: pd.Series) -> pd.Series:
    sample = series.dropna().head(_SAMPLE)
    if sample.empty or not (
        pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)
    ):
        return series
    if all(isinstance(v, str) for v in sample):
        numbers = pd.to_numeric(series, errors="coerce")
        if numbers.notna().sum() == series.notna().sum():
            return numbers
        if all(_ISO_DATE.match(v) for v in sample):
            times = pd.to_datetime(series, errors="coerce", format="ISO8601", utc=True)
            if times.notna().sum() == series.notna().sum():
                return times.dt.tz_localize(None)
    scalars = series.dropna()
    if all(isinstance(v, str | int | float | bool) for v in scalars) and len(
        {type(v) for v in scalars}
    ) > 1:  # e.g. ratings 4.5 and "Not yet rated": a category (and one Arrow type)
        return series.map(lambda v: v if v is None or v != v else str(v))
    return series


def flatten_documents(frame: pd.DataFrame) -> pd.DataFrame:
    """Expand columns of dicts (documents, Chroma metadata) into ``column.key`` columns."""
    out = frame.copy()
    for name in list(frame.columns):
        values = frame[name].dropna()
        if values.empty or not all(isinstance(v, dict) for v in values.head(_SAMPLE)):
            continue
        keys: list[str] = []
        for value in values:
            for key in value:
                if key not in keys:
                    keys.append(key)
        for key in keys[:50]:
            flat = f"{name}.{key}"
            if flat not in out.columns:
                out[flat] = frame[name].map(
                    lambda v, k=key: _cell_text(v.get(k)) if isinstance(v, dict) else None
                )
    return out


def typed_frame(result: StatementResult) -> pd.DataFrame:
    """Rows with numbers, timestamps and flattened documents, ready for charting."""
    frame = raw_frame(result)
    for name in frame.columns:
        if frame[name].dtype == object:
            frame[name] = frame[name].map(unwrap_extended)
    frame = flatten_documents(frame)
    for name in frame.columns:
        frame[name] = _coerce(frame[name])
    return frame


def column_kind(series: pd.Series) -> str:
    """``time``, ``number``, ``vector``, ``category`` or ``other`` (dicts, mixed values)."""
    if pd.api.types.is_bool_dtype(series):
        return "category"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "time"
    if pd.api.types.is_numeric_dtype(series):
        return "number"
    sample = series.dropna().head(_SAMPLE)
    if sample.empty:
        return "other"
    if all(_is_vector(v) for v in sample):
        return "vector"
    if all(isinstance(v, str | bool) for v in sample):
        return "category"
    return "other"


def column_kinds(frame: pd.DataFrame) -> dict[str, str]:
    return {str(name): column_kind(frame[name]) for name in frame.columns}
