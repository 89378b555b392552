"""Index advice on a 1,000,000-row PostgreSQL table and a SQLite one: how long ``dbplay
advise`` takes and what it proves.

    .venv/bin/python benchmarks/index_advice.py [--rows 1000000] [--sqlite-rows 300000]

A workload of about 20 statements (each run a few times with other constants) without
useful indexes, plus statements a primary key already serves; then ``dbplay advise``
(remote mode, a token). Prints the wall time of the advice, each suggestion's measured
before/after medians, speedup, write cost and size, the slowest change of any workload
statement, whether anything was suggested for the statements the key serves, and whether
the sandbox's indexes stayed as they were (never asserted: figures only).

Starts its own stack (Redis on a free port, workers, API) on a temporary home with the
local provisioner, and stops it at the end.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bench_stack import cli, first_sandbox, stack

PG_SETUP = """
CREATE TABLE orders (
    id bigint PRIMARY KEY, customer_id int NOT NULL, region int NOT NULL,
    status text NOT NULL, sku text NOT NULL, email text NOT NULL,
    created_at timestamp NOT NULL, total numeric(10, 2) NOT NULL, shipped_at timestamp);
INSERT INTO orders
SELECT g, ((g::bigint * 7919) % 50000)::int, g % 50,
       (ARRAY['new','paid','shipped','refunded','lost'])[1 + (g * 13) % 5],
       'SKU-' || lpad(((g * 31) % 100000)::text, 5, '0'), 'user' || (g % 200000) || '@x.org',
       timestamp '2024-01-01' + (g % 525600) * interval '1 minute', (g % 1000) / 10.0,
       CASE WHEN g % 100 = 0 THEN NULL ELSE timestamp '2024-01-02' END
  FROM generate_series(1, {rows}) g;
ANALYZE orders
"""

#: (statement template, the constants it is run with): ~20 statements
WORKLOAD: list[tuple[str, list[Any]]] = [
    ("SELECT * FROM orders WHERE customer_id = {}", [4242, 777, 31337]),
    ("SELECT id, total FROM orders WHERE customer_id = {} AND created_at >= '2024-06-01' "
     "ORDER BY created_at DESC LIMIT 20", [777, 4242]),
    ("SELECT count(*) FROM orders WHERE region = {} AND status = 'refunded'", [7, 9]),
    ("SELECT * FROM orders WHERE sku = '{}'", ["SKU-12345", "SKU-00042", "SKU-99999"]),
    ("SELECT * FROM orders WHERE created_at BETWEEN '{}' AND '{} 01:00'",
     ["2024-03-01", "2024-05-05"]),
    ("SELECT * FROM orders WHERE email = '{}'", ["user5@x.org", "user77@x.org"]),
    ("SELECT id, created_at FROM orders ORDER BY created_at DESC LIMIT {}", [10, 25]),
    ("UPDATE orders SET total = total + 1 WHERE sku = '{}'", ["SKU-00077"]),
    ("SELECT count(*) FROM orders WHERE shipped_at IS NULL AND region = {}", [3, 4]),
    ("SELECT status, count(*) FROM orders GROUP BY status", [None]),
    ("SELECT avg(total) FROM orders", [None]),
    ("SELECT max(total) FROM orders WHERE region BETWEEN {} AND 20", [10]),
    ("SELECT count(*) FROM orders WHERE total > {}", [50]),
    # served by the primary key already: nothing may be suggested for these
    ("SELECT * FROM orders WHERE id = {}", [5, 999999, 123456]),
    ("SELECT * FROM orders WHERE id BETWEEN {} AND {} + 100", [1000, 5000]),
    ("SELECT total FROM orders WHERE id = {} AND status = 'paid'", [77]),
    ("SELECT count(*) FROM orders WHERE id < {}", [1000]),
    ("SELECT * FROM orders WHERE customer_id = {} AND region = 3", [4242]),
    ("SELECT email FROM orders WHERE sku = '{}' ORDER BY created_at", ["SKU-00100"]),
    ("SELECT count(*) FROM orders WHERE status = '{}'", ["lost"]),
]
PK_SERVED = ("WHERE id =", "WHERE id BETWEEN", "WHERE id <")

SQLITE_SETUP = """
CREATE TABLE events (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, kind TEXT NOT NULL,
                     at TEXT NOT NULL, score INTEGER NOT NULL, email TEXT NOT NULL);
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {rows})
INSERT INTO events SELECT n, (n * 7919) % 20000, 'k' || (n % 40),
       datetime('2024-01-01', '+' || n || ' minutes'), n % 1000, 'u' || (n % 50000) || '@x.org'
  FROM g
"""
SQLITE_WORKLOAD: list[tuple[str, list[Any]]] = [
    ("SELECT * FROM events WHERE user_id = {}", [42, 4242, 777]),
    ("SELECT count(*) FROM events WHERE kind = 'k7' AND score > {}", [990]),
    ("SELECT id FROM events WHERE user_id = {} ORDER BY at DESC LIMIT 5", [42, 99]),
    ("SELECT count(*) FROM events WHERE at >= '2024-02-01' AND at < '2024-02-01 0{}:00'", [3]),
    ("SELECT max(score) FROM events WHERE email = 'u{}@x.org'", [123, 4567]),
    ("SELECT * FROM events WHERE score = {} AND kind = 'k3'", [3]),
    ("SELECT count(*) FROM events", [None]),
    ("SELECT * FROM events WHERE id = {}", [7, 70000]),
]

def _statements(workload: list[tuple[str, list[Any]]]) -> list[str]:
    out = []
    for template, values in workload:
        for value in values:
            out.append(template.format(*([value] * template.count("{}"))))
    return out


def _indexes(remote: dict[str, str], sandbox: str) -> list[Any]:
    schema = cli(remote, "schema", sandbox)
    return sorted((t["name"], ix["name"], ix.get("definition")) for t in schema["tables"]
                  for ix in t.get("indexes", []))


def _report(label: str, remote: dict[str, str], sandbox: str,
            workload: list[tuple[str, list[Any]]], setup: str, factor: float) -> None:
    t0 = time.perf_counter()
    for statement in [s for s in setup.split(";\n") if s.strip()]:
        cli(remote, "query", sandbox, statement, "--timeout", "300")
    print(f"{label}: data loaded in {time.perf_counter() - t0:.1f} s")
    for statement in _statements(workload):
        cli(remote, "query", sandbox, statement, "--max-rows", "100")
    before = _indexes(remote, sandbox)
    t0 = time.perf_counter()
    advice = cli(remote, "advise", sandbox)
    took = time.perf_counter() - t0
    after = _indexes(remote, sandbox)
    creates = [s for s in advice["suggestions"] if s["ddl"].startswith("CREATE")]
    print(f"{label}: advise took {took:.1f} s; {len(advice['workload'])} workload "
          f"statements; {len(creates)} index suggestions")
    print("| # | ddl | before ms | after ms | speedup | verified | write cost | size |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    proven = 0
    for n, s in enumerate(creates, 1):
        speed = (s["before_ms"] / max(s["after_ms"], 1e-3)) if s["before_ms"] else 0
        proven += speed >= factor and s["verified"]
        size = "-" if s["size_bytes"] is None else f"{s['size_bytes'] / 2**20:.1f} MiB"
        wc = "-" if s["write_cost_pct"] is None else f"{s['write_cost_pct']:+.0f}%"
        print(f"| {n} | `{s['ddl']}` | {s['before_ms']:.2f} | {s['after_ms']:.3f} | "
              f"{speed:.0f}x | {s['verified']} | {wc} | {size} |")
    print(f"{label}: {proven} suggestions proven >= {factor:g}x faster")
    served = [st for s in creates for st in s["statements"] if any(p in st for p in PK_SERVED)]
    print(f"{label}: suggestions for statements the primary key serves: {len(served)}")
    print(f"{label}: suggestions not verified (a workload statement >10% slower): "
          f"{sum(not s['verified'] for s in creates)}")
    print(f"{label}: the sandbox's indexes unchanged by advise: {before == after}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sqlite-rows", type=int, default=300_000)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    with stack(DBPLAY_MAX_QUERY_SECONDS="300") as env:
        if not args.skip_postgres:
            sandbox, remote = first_sandbox(env, "empty-postgres")
            _report("postgres", remote, sandbox, WORKLOAD, PG_SETUP.format(rows=args.rows),
                    10)
        if not args.skip_sqlite:
            lite, remote = first_sandbox(env, "empty-sqlite")
            _report("sqlite", remote, lite, SQLITE_WORKLOAD,
                    SQLITE_SETUP.format(rows=args.sqlite_rows), 5)


if __name__ == "__main__":
    main()
