"""``dbplay share ID [--script TEXT] [--public]``, ``dbplay open SHARE_ID`` and
``dbplay shares [list|show|rm]``: share links (a thin client of ``/sandboxes/{id}/shares``
and ``/shares``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from orchestrator.cli import output as out
from orchestrator.cli.client import ApiClient, path


def add_parsers(sub: Any) -> None:
    share = sub.add_parser(
        "share", help="freeze a sandbox's state with a script into a link; whoever opens it "
                      "gets a sandbox of their own (yours is never touched)")
    share.add_argument("id")
    share.add_argument("--script", default="", help="the script the link opens with "
                                                    "(- for stdin)")
    share.add_argument("--public", action="store_true",
                       help="anyone with the link may read the script and the results it "
                            "gives (it runs once now, on a copy); no account needed")
    opened = sub.add_parser("open", help="a new sandbox of yours from a share link, with "
                                         "its script")
    opened.add_argument("share_id")
    shares = sub.add_parser("shares", help="your share links (`shares rm ID` revokes one)")
    action = shares.add_subparsers(dest="action")
    action.add_parser("list", help="every share link of yours (the default)")
    action.add_parser("show", help="a share's script and stored results").add_argument(
        "share_id")
    action.add_parser("rm", help="revoke a share link").add_argument("share_id")


def _script(value: str) -> str:
    return sys.stdin.read() if value == "-" else value


def share(api: ApiClient, args: argparse.Namespace) -> int:
    made = api.post(path("sandboxes", args.id, "shares"),
                    {"script": _script(args.script), "public": args.public})
    out.emit(args.json, made, f"share {made['id']}: {made['url']}")
    return 0


def open_share(api: ApiClient, args: argparse.Namespace) -> int:
    opened = api.post(path("shares", args.share_id, "open"), {})
    script = opened["script"] or "(no script)"
    out.emit(args.json, opened, f"sandbox {opened['id']} is yours; the share's script:\n"
                                f"{script}")
    return 0


def shares(api: ApiClient, args: argparse.Namespace) -> int:
    if args.action == "rm":
        revoked = api.delete(path("shares", args.share_id))
        out.emit(args.json, revoked, f"revoked share {args.share_id}")
    elif args.action == "show":
        out.emit(args.json, api.get(path("shares", args.share_id)))
    else:
        items = api.get(path("shares"))
        out.emit(args.json, items, out.records(items, ["id", "sandbox_id", "engine", "public",
                                                      "revoked", "created_at"]))
    return 0


COMMANDS = {"share": share, "open": open_share, "shares": shares}
