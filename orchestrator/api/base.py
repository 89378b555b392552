"""What every part of the service layer shares: its collaborators and the two checks
each method starts with (who is acting, and which of their sandboxes it is about).

:class:`orchestrator.api.service.Orchestrator` and its mixins (queries, saved work,
accounts) all derive from :class:`ServiceBase`, so each mixin is typed against the real
thing. The whole-service operations one mixin calls and another part implements are
declared here, once; :class:`ServiceBase` comes last in the orchestrator's method order,
so the real method always wins.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy.orm import Session

from engines.errors import InvalidRequest, NotFound
from engines.result import SchemaInfo, StatementResult
from orchestrator.config.settings import Settings
from orchestrator.jobs.client import JobClient
from orchestrator.store import state
from orchestrator.store.db import Database
from orchestrator.store.models import POOL_OWNER, Sandbox, Template
from orchestrator.store.views import JobView, SandboxView, TemplateView


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

    # -- whole-service operations, implemented by Orchestrator or one of its mixins -----
    def get_sandbox(self, user: str, sandbox_id: str) -> SandboxView:
        raise NotImplementedError

    def create_sandbox(self, user: str, template: str, ttl_s: int | None = None,
                       wait: bool = True) -> SandboxView:
        raise NotImplementedError

    def _launch(self, user: str, find_template: Callable[[Any], Template],
                ttl_s: int | None = None, wait: bool = True) -> SandboxView:
        raise NotImplementedError

    def delete_sandbox(self, user: str, sandbox_id: str) -> None:
        raise NotImplementedError

    def snapshot_sandbox(self, user: str, sandbox_id: str, name: str,
                         description: str = "") -> TemplateView:
        raise NotImplementedError

    def delete_template(self, user: str, name: str) -> None:
        raise NotImplementedError

    def run_query(self, user: str, sandbox_id: str, text: str, max_rows: int | None = None,
                  timeout_s: float | None = None) -> list[StatementResult]:
        raise NotImplementedError

    def schema(self, user: str, sandbox_id: str) -> SchemaInfo:
        raise NotImplementedError

    def list_jobs(self, user: str, sandbox_id: str | None = None,
                  limit: int = 50) -> list[JobView]:
        raise NotImplementedError

    def throwaway_clone(self, user: str,
                        sandbox_id: str) -> AbstractContextManager[SandboxView]:
        raise NotImplementedError
