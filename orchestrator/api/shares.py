"""Share links, db<>fiddle's permalink with a private copy (mixed into
:class:`orchestrator.api.service.Orchestrator`).

Sharing freezes a sandbox's state as a snapshot (a template private to the owner,
readable through the share only) together with a script. Anyone signed in who opens the
link gets their own sandbox launched from that snapshot, with the script; the owner's
sandbox is never touched. A public share also shows its script, and the results the
script gave on the frozen state when it was shared, to anyone with the link (no
account). The owner may revoke a share: it is then "not found" like an unknown one.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from engines.errors import DBPlayError, NotFound, Unauthorized
from engines.result import StatementResult, jsonable
from orchestrator.api.base import ServiceBase
from orchestrator.store import state
from orchestrator.store.models import Sandbox, Share, Template, utcnow

log = logging.getLogger(__name__)

#: bytes of randomness in a share id (the unguessable part of the link)
SHARE_ID_BYTES = 18
#: rows of each statement's result a share keeps for its public view
SHARE_ROWS = 100
#: the sandbox that runs the script once at share time lives at most this long
RUN_TTL_S = 15 * 60


@dataclass(frozen=True)
class ShareView:
    id: str
    url: str
    owner: str
    sandbox_id: str
    engine: str
    template: str
    script: str
    public: bool
    results: list[dict[str, Any]] | None
    created_at: str
    revoked: bool

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def public_dict(self) -> dict[str, Any]:
        """What anyone with the link sees: no sandbox id, no template name."""
        return {key: getattr(self, key) for key in
                ("id", "url", "engine", "script", "public", "results", "created_at")}


def share_url(base: str, share_id: str) -> str:
    """The UI's page that opens a share (``/shared?share=ID``)."""
    return f"{base.rstrip('/')}/shared?share={share_id}"


def kept_results(results: list[StatementResult], max_rows: int = SHARE_ROWS
                 ) -> list[dict[str, Any]]:
    """What a share keeps of a script's results: JSON-safe, at most ``max_rows`` rows."""
    return [{"statement": r.statement, "columns": [c.name for c in r.columns],
             "rows": jsonable(r.rows[:max_rows]), "rowcount": r.rowcount,
             "truncated": r.truncated or len(r.rows) > max_rows, "error": r.error}
            for r in results]


class Shares(ServiceBase):
    # -- making and revoking ------------------------------------------------------
    def share_sandbox(self, user: str, sandbox_id: str, script: str = "",
                      public: bool = False) -> ShareView:
        """Freeze ``sandbox_id`` (a snapshot) with ``script`` into a share link; a public
        share runs the script once, on a copy, and keeps what it gave."""
        with self.db.session() as session:
            sb = self._sandbox(session, user, sandbox_id)
            engine = sb.engine
        share_id = secrets.token_urlsafe(SHARE_ID_BYTES)
        name = f"share-{secrets.token_hex(5)}"
        snapshot = self.snapshot_sandbox(user, sandbox_id, name,
                                         description=f"frozen for a share link of {sandbox_id}")
        try:
            with self.db.session() as session:
                template = session.scalars(select(Template).where(
                    Template.owner == user, Template.name == snapshot.name)).one()
                template_id = template.id
            results = self._results_on_a_copy(user, template_id, script) \
                if public and script.strip() else None
            with self.db.session() as session:
                row = Share(id=share_id, owner=user, sandbox_id=sandbox_id, engine=engine,
                            template_id=template_id, template=name, script=script,
                            public=public, results=results, created_at=utcnow())
                session.add(row)
                session.flush()
                return self._share_view(row)
        except BaseException:
            self._quietly(lambda: self.delete_template(user, name), f"template {name}")
            raise

    def _results_on_a_copy(self, user: str, template_id: int, script: str
                           ) -> list[dict[str, Any]]:
        """The script run once on a sandbox of the frozen state, which then goes."""
        copy = self._launch(user, lambda session: self._share_template(session, template_id),
                            ttl_s=min(RUN_TTL_S, self.settings.max_ttl))
        try:
            return kept_results(self.run_query(user, copy.id, script))
        finally:
            self._quietly(lambda: self.delete_sandbox(user, copy.id), f"sandbox {copy.id}")

    def revoke_share(self, user: str, share_id: str) -> ShareView:
        """The link stops working; its frozen state goes once no live sandbox of it is
        left (an opener's sandbox keeps it for its resets)."""
        with self.db.session() as session:
            row = self._own_share(session, user, share_id)
            row.revoked_at = utcnow()
            view = self._share_view(row)
            template_id, name = row.template_id, row.template
            in_use = template_id is not None and session.scalars(select(Sandbox.id).where(
                Sandbox.template_id == template_id, Sandbox.state.in_(state.LIVE))).first()
        if template_id is not None and not in_use:
            self._quietly(lambda: self.delete_template(user, name), f"template {name}")
        return view

    def list_shares(self, user: str) -> list[ShareView]:
        with self.db.session() as session:
            rows = session.scalars(select(Share).where(
                Share.owner == self._user(user)).order_by(Share.created_at)).all()
            return [self._share_view(r) for r in rows]

    # -- reading and opening --------------------------------------------------------
    def view_share(self, user: str | None, share_id: str) -> ShareView:
        """A share's script (and stored results): for anyone signed in, and for anyone
        at all when it is public; ``user=None`` means not signed in."""
        with self.db.session() as session:
            row = self._live_share(session, share_id)
            if user is None and not row.public:
                raise Unauthorized("this share is private: sign in to open it")
            return self._share_view(row)

    def open_share(self, user: str, share_id: str, ttl_s: int | None = None
                   ) -> dict[str, Any]:
        """A new sandbox of ``user`` launched from the share's frozen state:
        ``{"id": <new sandbox>, "script"}``."""
        self._user(user)
        with self.db.session() as session:
            row = self._live_share(session, share_id)
            template_id, script = row.template_id, row.script
        if template_id is None:
            raise NotFound(f"no share {share_id!r}")
        sandbox = self._launch(user, lambda s: self._share_template(s, template_id), ttl_s)
        return {"id": sandbox.id, "script": script}

    # -- helpers ---------------------------------------------------------------------
    def _live_share(self, session: Any, share_id: str) -> Share:
        row = session.get(Share, share_id) if share_id else None
        if row is None or row.revoked_at is not None:
            raise NotFound(f"no share {share_id!r}")
        share: Share = row
        return share

    def _own_share(self, session: Any, user: str, share_id: str) -> Share:
        row = session.get(Share, share_id) if share_id else None
        if row is None or row.owner != self._user(user):
            raise NotFound(f"no share {share_id!r}")
        share: Share = row
        return share

    @staticmethod
    def _share_template(session: Any, template_id: int) -> Template:
        template: Template | None = session.get(Template, template_id)
        if template is None:
            raise NotFound("this share's frozen state is gone")
        return template

    def _share_view(self, row: Share) -> ShareView:
        base = self.settings.public_url or f"http://127.0.0.1:{self.settings.ui_port}"
        return ShareView(id=row.id, url=share_url(base, row.id), owner=row.owner,
                         sandbox_id=row.sandbox_id, engine=row.engine, template=row.template,
                         script=row.script, public=row.public, results=row.results,
                         created_at=row.created_at.isoformat(timespec="seconds") + "Z",
                         revoked=row.revoked_at is not None)

    @staticmethod
    def _quietly(action: Callable[[], None], what: str) -> None:
        try:
            action()
        except DBPlayError as exc:  # the reaper removes an expired sandbox anyway
            log.warning("could not remove %s: %s", what, exc)
