"""``dbplay token create|list|revoke``: API tokens, administered on the installation.

Like ``dbplay user`` these act as the installation itself (whoever may run dbplay on this
``DBPLAY_HOME``): that is how an operator hands a user a token for remote use
(``DBPLAY_URL`` + ``DBPLAY_TOKEN``). The secret is printed once, at creation; only its
hash is stored. ``--user`` (the global option) names whose token it is.
"""

from __future__ import annotations

import argparse
from typing import Any

from engines.errors import InvalidRequest
from orchestrator.cli import output as out

TOKEN_FIELDS = ["id", "user", "name", "created_at", "last_used_at", "revoked_at"]


def add_parser(sub: Any) -> None:
    tokens = sub.add_parser("token", help="API tokens (create, list, revoke) on this "
                                          "installation")
    actions = tokens.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="a new token for --user NAME (shown once)")
    create.add_argument("--name", default="", help="a label, e.g. where the token is used")
    actions.add_parser("list", help="tokens (of --user NAME, else everyone's); never the "
                                    "secrets")
    actions.add_parser("revoke", help="revoke a token by its id").add_argument(
        "token_id", type=int)


def run(api: Any, args: argparse.Namespace) -> int:
    """``api`` is the in-process :class:`orchestrator.api.service.Orchestrator`."""
    if args.action == "create":
        if not args.user:
            raise InvalidRequest("`dbplay token create` needs --user NAME: whose token it is")
        view, secret = api.create_token(args.user, args.name)
        data = {"token": secret, **view.to_dict()}
        label = f" ({view.name})" if view.name else ""
        out.emit(args.json, data, f"token {view.id} for {view.user}{label}:\n{secret}\n"
                                  "It is shown only now; use it as DBPLAY_TOKEN (with "
                                  "DBPLAY_URL) or as `Authorization: Bearer <token>`.")
    elif args.action == "list":
        items = [t.to_dict() for t in api.list_tokens(args.user or None)]
        out.emit(args.json, items, out.records(items, TOKEN_FIELDS))
    else:
        api.revoke_token(None, args.token_id)
        out.emit(args.json, {"revoked": args.token_id}, f"revoked token {args.token_id}")
    return 0
