"""``dbplay user add|rm|list``: account administration on the installation.

These act as the installation itself (whoever may run dbplay on this ``DBPLAY_HOME``), not
as a signed-in user: that is how an operator makes the first admin without the UI. A
password is read from standard input (first line) or an interactive prompt, never from
the command line, where other local users could see it in the process list.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from engines.errors import InvalidRequest
from orchestrator.cli import output as out


def add_parser(sub: Any) -> None:
    users = sub.add_parser("user", help="accounts (add, rm, list) on this installation")
    actions = users.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a local account; the password is read from "
                                         "stdin or a prompt")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true", help="may add and remove accounts")
    actions.add_parser("rm", help="remove an account").add_argument("name")
    actions.add_parser("list", help="every account")


def read_password(prompt: str = "Password: ") -> str:
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("Repeat password: ") != first:
            raise InvalidRequest("the passwords do not match")
        return first
    line = sys.stdin.readline()
    password = line[:-1] if line.endswith("\n") else line
    if not password:
        raise InvalidRequest("no password on standard input")
    return password


def run(api: Any, _user: str, args: argparse.Namespace) -> int:
    if args.action == "add":
        view = api.create_user(None, args.name, read_password(), admin=args.admin)
        data = {"name": view.name, "admin": view.admin}
        out.emit(args.json, data, f"added {'admin ' if view.admin else ''}account {view.name}")
    elif args.action == "rm":
        api.delete_user(None, args.name)
        out.emit(args.json, {"deleted": args.name}, f"removed account {args.name}")
    else:
        items = [u.to_dict() for u in api.list_users(None)]
        out.emit(args.json, items, out.records(items, ["name", "admin", "kind",
                                                      "display_name"]))
    return 0
