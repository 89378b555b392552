"""Who makes a request: ``Authorization: Bearer <token>``.

* A user token (``dbp_...``, see :mod:`orchestrator.api.tokens`) acts as its user. It
  cannot act as anyone else: an ``X-DBPlay-User`` header naming another user is refused.
* The installation token (``$DBPLAY_HOME/api.token``) acts as the user named in the
  ``X-DBPlay-User`` header (required) and may do what the installation may (accounts).
* No token, or an unknown or revoked one: 401.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from engines.errors import NotAllowed, Unauthorized
from orchestrator.api.http.installation_token import USER_HEADER
from orchestrator.api.http.state import app_state


@dataclass(frozen=True)
class Caller:
    user: str
    #: True for the installation token
    installation: bool = False

    @property
    def acting(self) -> str | None:
        """For account administration: None is the installation itself."""
        return None if self.installation else self.user


def bearer_token(request: Request) -> str:
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise Unauthorized("no API token: send `Authorization: Bearer <token>` (make one "
                           "with `dbplay token create`)")
    return secret


async def caller(request: Request) -> Caller:
    secret = bearer_token(request)
    state = app_state(request)
    named = request.headers.get(USER_HEADER, "").strip()
    if hmac.compare_digest(secret.encode(), state.installation_token.encode()):
        if not named:
            raise Unauthorized(f"the installation token acts for the user named in the "
                               f"{USER_HEADER} header; none was given")
        return Caller(named, installation=True)
    user = state.tokens.cached(secret)
    if user is None:
        user = await run_in_threadpool(state.tokens.user_for, secret)
    if user is None:
        raise Unauthorized("unknown or revoked API token")
    if named and named != user:
        raise NotAllowed(f"this token acts as {user!r}; it cannot act as {named!r}")
    return Caller(user)


CallerDep = Annotated[Caller, Depends(caller)]
