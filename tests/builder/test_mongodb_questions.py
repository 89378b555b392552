"""SQL-shaped questions over imported JSON: the same spec runs as a MongoDB aggregation
pipeline and as SQL on SQLite over the same records, and both give the same rows.
``standin_gap`` marks what the offline nx-27017 stand-in lacks (xfail there only)."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from orchestrator.builder.mongo_compiler import compile_mongosh
from orchestrator.builder.spec import QuerySpec, parse_spec
from orchestrator.builder.sql_compiler import compile_sql
from orchestrator.builder.sql_parser import sql_to_spec

CITIES = ["Oslo", "Lima", "Pune", "Kyiv", "Nice"]
STATUSES = ["paid", "open", "refunded"]


def records() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(7)
    customers = [{"customer_id": i, "name": f"Customer {i:02d}", "city": rng.choice(CITIES),
                  "tier": rng.choice(["gold", "silver", None])} for i in range(1, 41)]
    orders = [{"order_id": i, "customer_id": rng.randint(1, 45),  # some have no customer
               "amount": rng.randint(100, 20_000) / 100, "status": rng.choice(STATUSES),
               "ordered_at": f"2024-{rng.randint(1, 6):02d}-{rng.randint(1, 28):02d} "
                             f"{rng.randint(0, 23):02d}:15:00",
               "tags": rng.sample(["gift", "bulk", "rush", "eco"], rng.randint(0, 3))}
              for i in range(1, 301)]
    return customers, orders


QUESTIONS = {
    "group-sum": "SELECT status, sum(amount) AS total, count(*) AS n FROM orders GROUP BY status",
    "filter": "SELECT order_id, amount FROM orders WHERE status = 'open' AND amount >= 150",
    "filter-in-between": "SELECT order_id FROM orders WHERE status IN ('paid', 'refunded') "
                         "AND amount BETWEEN 10 AND 20",
    "filter-or-not": "SELECT order_id FROM orders WHERE NOT (status = 'paid' OR amount < 100)",
    "filter-like": "SELECT name FROM customers WHERE name LIKE 'Customer 1_'",
    "filter-null": "SELECT customer_id FROM customers WHERE tier IS NULL",
    "sort-limit": "SELECT order_id, amount FROM orders ORDER BY amount DESC, order_id "
                  "LIMIT 7 OFFSET 3",
    "join": "SELECT c.city, sum(o.amount) AS total FROM orders o "
            "JOIN customers c ON c.customer_id = o.customer_id GROUP BY c.city",
    "join-filter-sort": "SELECT o.order_id, c.name FROM orders o JOIN customers c "
                        "ON c.customer_id = o.customer_id WHERE c.tier = 'gold' "
                        "AND o.amount > 180 ORDER BY o.order_id LIMIT 5",
    "left-join": "SELECT o.order_id FROM orders o LEFT JOIN customers c "
                 "ON c.customer_id = o.customer_id WHERE c.customer_id IS NULL",
    "having": "SELECT customer_id, count(*) AS n, avg(amount) AS mean FROM orders "
              "GROUP BY customer_id HAVING count(*) >= 10",
    "two-keys": "SELECT o.status, c.tier, count(*) AS n FROM orders o JOIN customers c "
                "ON c.customer_id = o.customer_id GROUP BY o.status, c.tier",
    "count-distinct": "SELECT status, count(DISTINCT customer_id) AS buyers FROM orders "
                      "GROUP BY status",
    "computed": "SELECT order_id, amount * 2 AS doubled FROM orders WHERE amount * 2 > 390",
    "top-group": "SELECT c.city, count(*) AS n FROM orders o JOIN customers c "
                 "ON c.customer_id = o.customer_id GROUP BY c.city ORDER BY n DESC, c.city "
                 "LIMIT 2",
}
#: questions the stand-in answers differently from real MongoDB
STANDIN_GAPS = {"date-bucket", "two-keys"}  # $toDate; a compound group _id
QUESTIONS["date-bucket"] = ("SELECT date_trunc('month', ordered_at) AS month, count(*) AS n "
                            "FROM orders GROUP BY 1")


@pytest.fixture(autouse=True)
def _standin_gaps(request):
    if request.node.get_closest_marker("standin_gap") is None:
        return
    if request.getfixturevalue("mongo_server").is_standin:
        request.applymarker(pytest.mark.xfail(reason="known gap of the nx-27017 stand-in",
                                              strict=False))


@pytest.fixture(scope="module")
def loaded(mongo_server, tmp_path_factory):
    from engines.registry import connect

    customers, orders = records()
    mongo = connect("mongodb", mongo_server.new_database())
    sqlite = connect("sqlite", f"sqlite:///{tmp_path_factory.mktemp('json') / 'j.sqlite'}")
    for engine in (mongo, sqlite):
        engine.connect()
        engine.import_rows("customers", customers)
        engine.import_rows("orders", orders)
    yield mongo, sqlite
    mongo.close()
    sqlite.close()


def rows(engine, text: str, spec: QuerySpec) -> Counter[tuple[Any, ...]]:
    (result,) = engine.execute(text, max_rows=10_000)
    assert result.error is None, (text, result.error)
    names = [c.name for c in result.columns]
    labels = [o.label for o in spec.outputs()]
    order = [names.index(label) for label in labels]
    return Counter(tuple(round(v, 4) if isinstance(v, float) else v
                         for v in (row[i] for i in order)) for row in result.rows)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.standin_gap)
                                  if n in STANDIN_GAPS else n for n in sorted(QUESTIONS)])
def test_sql_shaped_question_agrees_between_mongodb_and_sqlite(loaded, name):
    mongo, sqlite = loaded
    spec = sql_to_spec(QUESTIONS[name], "postgres")
    on_sqlite = rows(sqlite, compile_sql(spec, "sqlite"), spec)
    assert on_sqlite, "no rows: the question proves nothing"
    assert rows(mongo, compile_mongosh(spec), spec) == on_sqlite


def test_array_unwind_agrees_between_mongodb_and_sqlite(loaded):
    mongo, sqlite = loaded
    spec = parse_spec({"source": {"table": "orders"},
                       "unwinds": [{"column": "tags", "alias": "tag"}],
                       "group_by": ["tag"], "aggregates": [{"name": "n", "func": "count"}]})
    on_sqlite = rows(sqlite, compile_sql(spec, "sqlite"), spec)
    assert len(on_sqlite) == 4
    assert rows(mongo, compile_mongosh(spec), spec) == on_sqlite
