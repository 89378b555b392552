"""What keeping results costs and saves, measured against baselines in the same run.

    .venv/bin/python benchmarks/result_store.py [--n 5]

Figures (wall time of whole ``dbplay`` commands, remote mode with a token, PostgreSQL):

* a chart over a 1,000,000-row result: ``dbplay query`` of the rows, then ``dbplay chart``
  (sum by group, aggregated over every kept row), against the same aggregate written by
  hand in SQL (``GROUP BY`` in the database, one ``dbplay query``);
* the bytes that chart sends to a browser (its points and Vega-Lite spec), against the
  rows it summarises as JSON;
* the first page of a 3,000,000-row ``SELECT`` with results kept, against the same with
  keeping off (``DBPLAY_RESULT_MAX_ROWS=0``: what it cost before results were kept).

Starts its own stacks (Redis on a free port, workers, API) on temporary homes with the
local provisioner, and stops them at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from bench_stack import cli, dbplay, first_sandbox, row, stack, timed

ROWS = "SELECT g % 7 AS k, g FROM generate_series(1, 1000000) g"
BY_HAND = "SELECT g % 7 AS k, sum(g) FROM generate_series(1, 1000000) g GROUP BY 1"
BIG = "SELECT g, g * 2 AS twice FROM generate_series(1, 3000000) g"


def _query_then_chart(remote: dict[str, str], sandbox: str) -> tuple[float, dict[str, object]]:
    t0 = time.perf_counter()
    result = cli(remote, "query", sandbox, ROWS)["statements"][0]
    chart = cli(remote, "chart", result["result_id"], "--x", "k", "--y", "g", "--agg", "sum")
    return (time.perf_counter() - t0) * 1000, chart


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5)
    args = parser.parse_args()
    print(f"PostgreSQL sandbox, local provisioner, {args.n} runs each, {os.cpu_count()} CPUs\n")
    print("| command | wall p50 | wall p95 | ratio |\n| --- | --- | --- | --- |")
    with stack(DBPLAY_RESULT_MAX_ROWS="0") as env:  # the baseline: nothing kept
        sandbox, remote = first_sandbox(env, "empty-postgres")
        first_page = [*dbplay(), "query", sandbox, BIG]
        timed(first_page, remote, 1)
        unkept = timed(first_page, remote, args.n)
    with stack() as env:  # the default: every result kept
        sandbox, remote = first_sandbox(env, "empty-postgres")
        by_hand_cmd = [*dbplay(), "query", sandbox, BY_HAND]
        timed(by_hand_cmd, remote, 1)
        by_hand = timed(by_hand_cmd, remote, args.n)
        _query_then_chart(remote, sandbox)
        runs = [_query_then_chart(remote, sandbox) for _ in range(args.n)]
        charted = [t for t, _ in runs]
        chart = runs[-1][1]
        timed(first_page := [*dbplay(), "query", sandbox, BIG], remote, 1)
        kept = timed(first_page, remote, args.n)
        # let the last one finish keeping its rows before the stack stops
        cli(remote, "query", sandbox, "SELECT 1")
    print(row("aggregate by hand: `dbplay query` with GROUP BY", by_hand))
    print(row("`dbplay query` 1M rows, then `dbplay chart --agg sum`", charted, by_hand,
              "by hand"))
    print(row("first page of a 3M-row SELECT, nothing kept", unkept))
    print(row("first page of a 3M-row SELECT, result kept", kept, unkept, "nothing kept"))
    spec = len(json.dumps(chart["spec"]).encode())
    points = len(json.dumps(chart["rows"]).encode())
    summarised = len(json.dumps([[i % 7, i] for i in range(1, 1_000_001)]).encode())
    print(f"\nbytes to the browser for the chart: {spec:,} (spec with its data inline; the "
          f"points alone {points:,}), against {summarised:,} for its 1,000,000 rows as JSON "
          f"({spec / summarised:.6f}x); rows used {chart['rows_used']:,}")
    print(f"medians: chart path {statistics.median(charted):.0f} ms, "
          f"by hand {statistics.median(by_hand):.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
