"""Pagila on a real PostgreSQL server, and the same rows copied into a SQLite file, once
per module (restoring Pagila takes seconds)."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from engines.base import Engine
from engines.registry import connect
from tests.conftest import REPO

PAGILA = REPO / "orchestrator" / "store" / "builtin_templates" / "pagila" / "pagila.sql"
#: the tables the questions use, copied into SQLite
PAGILA_TABLES = ("actor", "film", "category", "film_category", "film_actor", "language",
                 "customer", "address", "city", "country", "inventory", "rental", "payment",
                 "store", "staff")
COLUMNS_LEFT_OUT = {"film": ("fulltext",), "staff": ("picture",)}


def plain(value: Any, kind: str = "") -> Any:
    """A result value (JSON-shaped, of a column of type ``kind``) as both engines can
    hold and compare it: times as UTC text, decimals and floats rounded, booleans as 0/1,
    arrays as JSON text."""
    kind = kind.lower()
    if isinstance(value, str) and ("numeric" in kind or "decimal" in kind):
        value = decimal.Decimal(value)
    elif isinstance(value, str) and "timestamp" in kind:
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, decimal.Decimal | float):
        return round(float(value), 4)
    if isinstance(value, list):
        return json.dumps(value)
    return value


def rows_of(engine: Engine, query: str) -> list[list[Any]]:
    """The query's rows, every value :func:`plain`."""
    (result,) = engine.execute(query, max_rows=200_000)
    assert result.error is None, (query, result.error)
    assert not result.truncated
    kinds = [c.type for c in result.columns]
    return [[plain(v, k) for v, k in zip(row, kinds, strict=True)] for row in result.rows]


def multiset(rows: list[list[Any]]) -> Counter[tuple[Any, ...]]:
    return Counter(tuple(row) for row in rows)


def _connected(kind: str, url: str) -> Engine:
    engine = connect(kind, url)
    engine.connect()
    return engine


@pytest.fixture(scope="module")
def pagila_pg(postgres_server: Any) -> Iterator[Engine]:
    engine = _connected("postgres", postgres_server.new_database())
    engine.restore(PAGILA)
    assert rows_of(engine, "SHOW TimeZone") in ([["UTC"]], [["Etc/UTC"]]), \
        "date buckets are compared in UTC"
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def pagila_sqlite(pagila_pg: Engine, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[Engine]:
    """Pagila's rows in SQLite (times as UTC text, decimals as floats)."""
    path = tmp_path_factory.mktemp("pagila") / "pagila.sqlite"
    engine = _connected("sqlite", f"sqlite:///{path}")
    for table in PAGILA_TABLES:
        (result,) = pagila_pg.execute(f"SELECT * FROM {table}", max_rows=200_000)
        assert result.error is None and not result.truncated
        names = [c.name for c in result.columns]
        keep = [i for i, n in enumerate(names) if n not in COLUMNS_LEFT_OUT.get(table, ())]
        rows = rows_of(pagila_pg, f"SELECT * FROM {table}")
        engine.import_rows(table, ({names[i]: row[i] for i in keep} for row in rows))
    yield engine
    engine.close()
