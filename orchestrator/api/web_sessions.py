"""The web UI's sign-in sessions (mixed into :class:`orchestrator.api.service.Orchestrator`).

Signing in opens a session: a random secret whose SHA-256 is kept in ``web_sessions``
with an expiry (``DBPLAY_WEB_SESSION_TTL``). The browser keeps the secret in a cookie,
signed and time-stamped with a key private to the installation
(``$DBPLAY_HOME/web-session.key``, itsdangerous): a forged, altered or too old cookie is
refused before the database is asked. Signing out ends the session on the server, so a
copy of the cookie is worthless afterwards.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from orchestrator.api.base import ServiceBase
from orchestrator.config.file_modes import private_dir, write_private
from orchestrator.store.models import WebSession, utcnow

KEY_FILE = "web-session.key"
SALT = "dbplay-web-session"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class WebSessions(ServiceBase):
    def _session_signer(self) -> URLSafeTimedSerializer:
        path = Path(self.settings.home) / KEY_FILE
        if not path.exists():
            private_dir(path.parent)
            try:
                write_private(path, secrets.token_urlsafe(48), exclusive=True)
            except FileExistsError:  # another process made it first: use theirs
                pass
        return URLSafeTimedSerializer(path.read_text().strip(), salt=SALT)

    def open_web_session(self, user: str) -> str:
        """Open a session for ``user`` (already authenticated); returns the signed cookie
        value, valid for ``web_session_ttl`` seconds."""
        secret = secrets.token_urlsafe(32)
        now = utcnow()
        with self.db.session() as session:
            session.add(WebSession(user=self._user(user), secret_hash=_hash(secret),
                                   created_at=now, expires_at=now + dt.timedelta(
                                       seconds=self.settings.web_session_ttl)))
        return self._session_signer().dumps(secret)

    def _secret(self, cookie: str) -> str | None:
        try:
            value = self._session_signer().loads(cookie,
                                                 max_age=self.settings.web_session_ttl)
        except BadSignature:  # forged, altered or expired (SignatureExpired is one too)
            return None
        return value if isinstance(value, str) else None

    def web_session_user(self, cookie: str) -> str | None:
        """The user of a live session, or None (bad signature, expired, signed out)."""
        secret = self._secret(cookie) if cookie else None
        if secret is None:
            return None
        with self.db.session() as session:
            row = session.scalars(select(WebSession).where(
                WebSession.secret_hash == _hash(secret))).one_or_none()
            if row is None or row.ended_at is not None or row.expires_at <= utcnow():
                return None
            return row.user

    def close_web_session(self, cookie: str) -> None:
        """End a session on the server (signing out); unknown or ended ones are ignored."""
        secret = self._secret(cookie) if cookie else None
        if secret is None:
            return
        with self.db.session() as session:
            row = session.scalars(select(WebSession).where(
                WebSession.secret_hash == _hash(secret))).one_or_none()
            if row is not None and row.ended_at is None:
                row.ended_at = utcnow()
