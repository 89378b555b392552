"""What every part of the service layer shares: its collaborators and the two checks
each method starts with (who is acting, and which of their sandboxes it is about).

:class:`orchestrator.api.service.Orchestrator` and its mixins (queries, saved work,
accounts) all derive from :class:`ServiceBase`, so each mixin is typed against the real
thing rather than against stubs.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from engines.errors import InvalidRequest, NotFound
from orchestrator.config.settings import Settings
from orchestrator.jobs.client import JobClient
from orchestrator.store import state
from orchestrator.store.db import Database
from orchestrator.store.models import POOL_OWNER, Sandbox


class ServiceBase:
    settings: Settings
    db: Database
    jobs: JobClient

    def _user(self, user: str) -> str:
        """The acting user, refused when missing (or the warm pool's owner)."""
        if not user or user == POOL_OWNER:
            raise InvalidRequest("no acting user")
        return user

    def _sandbox(self, session: Session, user: str, sandbox_id: str) -> Sandbox:
        """The user's sandbox; another user's, a deleted or a missing one is NotFound."""
        sb = session.get(Sandbox, sandbox_id)
        if sb is None or sb.owner != self._user(user) or sb.state == state.DELETED:
            raise NotFound(f"no sandbox {sandbox_id!r}")
        return sb
