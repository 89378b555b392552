"""A short-lived memory of which user a token acts as, so a burst of requests costs one
database lookup. Only hits are kept; a revoke in this process clears it, and a revoke
elsewhere (``dbplay token revoke``) takes effect within :data:`TTL_S`."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

TTL_S = 1.0
MAX_ENTRIES = 4096


class TokenCache:
    def __init__(self, lookup: Callable[[str], str | None], ttl_s: float = TTL_S) -> None:
        self._lookup = lookup
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._users: dict[str, tuple[str, float]] = {}  # sha256 of the secret -> (user, until)

    def cached(self, secret: str) -> str | None:
        key = hashlib.sha256(secret.encode()).hexdigest()
        with self._lock:
            hit = self._users.get(key)
        if hit is None or hit[1] < time.monotonic():
            return None
        return hit[0]

    def user_for(self, secret: str) -> str | None:
        """The token's user (from memory while fresh, else from the database)."""
        user = self.cached(secret)
        if user is not None:
            return user
        user = self._lookup(secret)
        if user is not None:
            key = hashlib.sha256(secret.encode()).hexdigest()
            with self._lock:
                if len(self._users) >= MAX_ENTRIES:
                    self._users.clear()
                self._users[key] = (user, time.monotonic() + self._ttl_s)
        return user

    def clear(self) -> None:
        with self._lock:
            self._users.clear()
