"""Per-user API tokens (mixed into :class:`orchestrator.api.service.Orchestrator`).

A token is ``dbp_`` + 32 url-safe random bytes. Only its SHA-256 is stored; the secret
is shown once, when it is made. A revoked token keeps its row (``revoked_at``), so a
list shows what was revoked and when. ``user=None`` is the installation itself
(``dbplay token ...``): it lists and revokes every user's tokens.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select

from engines.errors import InvalidRequest, NotFound
from orchestrator.api.base import ServiceBase
from orchestrator.store.models import ApiToken, utcnow
from orchestrator.store.views import iso

TOKEN_PREFIX = "dbp_"
#: ``last_used_at`` is written at most this often per token (not on every request)
TOUCH_EVERY = dt.timedelta(seconds=60)


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass
class TokenView:
    id: int
    user: str
    name: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None

    @classmethod
    def of(cls, t: ApiToken) -> TokenView:
        return cls(id=t.id, user=t.user, name=t.name, created_at=iso(t.created_at) or "",
                   last_used_at=iso(t.last_used_at), revoked_at=iso(t.revoked_at))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Tokens(ServiceBase):
    def create_token(self, user: str, name: str = "") -> tuple[TokenView, str]:
        """A new token acting as ``user``: (its view, the secret). The secret is not
        kept; show it now."""
        if len(name) > 200:
            raise InvalidRequest("a token name has at most 200 characters")
        secret = new_token_secret()
        with self.db.session() as session:
            row = ApiToken(user=self._user(user), name=name, token_hash=token_hash(secret),
                           created_at=utcnow())
            session.add(row)
            session.flush()
            return TokenView.of(row), secret

    def list_tokens(self, user: str | None) -> list[TokenView]:
        """``user``'s tokens (None: every user's), oldest first; never the secrets."""
        stmt = select(ApiToken).order_by(ApiToken.id)
        if user is not None:
            stmt = stmt.where(ApiToken.user == self._user(user))
        with self.db.session() as session:
            return [TokenView.of(t) for t in session.scalars(stmt)]

    def revoke_token(self, user: str | None, token_id: int) -> None:
        """Revoke one of ``user``'s tokens (None: any token); another user's token is
        reported exactly like a missing one. Revoking twice is harmless."""
        with self.db.session() as session:
            row = session.get(ApiToken, token_id)
            if row is None or (user is not None and row.user != self._user(user)):
                raise NotFound(f"no token {token_id}")
            if row.revoked_at is None:
                row.revoked_at = utcnow()

    def user_for_token(self, secret: str) -> str | None:
        """The user a token acts as, or None when it is unknown or revoked (one indexed
        lookup; ``last_used_at`` is refreshed at most once a minute)."""
        if not secret.startswith(TOKEN_PREFIX):
            return None
        with self.db.session() as session:
            row = session.scalars(select(ApiToken).where(
                ApiToken.token_hash == token_hash(secret))).one_or_none()
            if row is None or row.revoked_at is not None:
                return None
            now = utcnow()
            if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
                row.last_used_at = now
            return row.user
