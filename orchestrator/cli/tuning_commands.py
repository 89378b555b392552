"""``dbplay advise ID [--apply N]`` and ``dbplay workload ID``: index advice proven on a
throwaway clone, and the sandbox's statements ranked by time (a thin client of
``/sandboxes/{id}/advice`` and ``/sandboxes/{id}/workload``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from orchestrator.cli import output as out
from orchestrator.cli.client import ApiClient, path


def add_parsers(sub: Any) -> None:
    advise = sub.add_parser(
        "advise", help="index advice: every suggestion built and timed on a throwaway clone "
                       "(the sandbox is untouched until --apply)")
    advise.add_argument("id")
    advise.add_argument("--apply", type=int, metavar="N", default=None,
                        help="run suggestion N (1-based) of the last advice on the sandbox")
    workload = sub.add_parser("workload", help="a sandbox's statements ranked by total time")
    workload.add_argument("id")


def advise(api: ApiClient, args: argparse.Namespace) -> int:
    answer = api.post(path("sandboxes", args.id, "advice"), {"apply": args.apply})
    if args.apply is not None:
        applied = answer["suggestions"][args.apply - 1]["ddl"]
        print(f"applied suggestion {args.apply}: {applied}", file=sys.stderr)
    out.emit(args.json, answer, human(answer))
    return 0


def workload(api: ApiClient, args: argparse.Namespace) -> int:
    answer = api.get(path("sandboxes", args.id, "workload"))
    out.emit(args.json, answer["workload"], _workload_table(answer["workload"]))
    return 0


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f} ms"


def _workload_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no statements yet: run some queries on the sandbox"
    return out.table(["total", "mean", "calls", "source", "statement"], [
        [_ms(r["total_ms"]), _ms(r["mean_ms"]), r["calls"], r["source"],
         " ".join(r["statement"].split())[:100]] for r in rows])


def human(answer: dict[str, Any]) -> str:
    lines = []
    for n, s in enumerate(answer["suggestions"], 1):
        mark = "verified" if s["verified"] else "not verified"
        size = "" if s["size_bytes"] is None else f", {s['size_bytes'] / 2**20:,.1f} MiB"
        write = ("" if s["write_cost_pct"] is None
                 else f", writes {s['write_cost_pct']:+.0f}%")
        lines += [f"{n}. {s['ddl']}",
                  f"   {_ms(s['before_ms'])} -> {_ms(s['after_ms'])} ({mark}{size}{write})",
                  f"   {s['reason']}"]
    if not lines:
        lines.append("no index would make the workload faster")
    lines += ["", "workload:", _workload_table(answer["workload"])]
    return "\n".join(lines)


COMMANDS = {"advise": advise, "workload": workload}
