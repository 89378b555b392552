"""Accounts (mixed into :class:`orchestrator.api.service.Orchestrator`).

* A fresh installation has no admin. ``dbplay up`` then issues a one-time **setup code**
  (only its SHA-256 is stored) and prints it; the UI's first-account form creates the first
  account, an admin, only with that code, and the code works once.
* Only admins add or remove accounts. ``acting=None`` is the installation itself: the
  ``dbplay user`` command, run by whoever may read ``DBPLAY_HOME``.
* Passwords: at least ``DBPLAY_MIN_PASSWORD_LENGTH`` characters and a zxcvbn score of 3.
* OpenID Connect accounts are keyed by (issuer, subject), never by a mutable claim. Their
  name is ``oidc:<16 hex of sha256(issuer, subject)>``; local names cannot contain ':',
  so the two kinds never share a name. The e-mail/name claim is kept as display name.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import bcrypt
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from engines.errors import Conflict, InvalidRequest, NotAllowed, NotFound
from orchestrator.api.base import ServiceBase
from orchestrator.store.models import SetupCode, User, utcnow

if TYPE_CHECKING:
    from orchestrator.store.db import Database

OIDC_PREFIX = "oidc:"
MIN_STRENGTH = 3
#: setup codes: 8 letters/digits without look-alikes (40 bits), shown as XXXX-XXXX
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_LOCAL_NAME_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


@dataclass
class UserView:
    name: str
    admin: bool
    display_name: str
    kind: str  # "local" | "oidc"

    @classmethod
    def of(cls, u: User) -> UserView:
        return cls(name=u.name, admin=bool(u.is_admin), display_name=u.display_name or u.name,
                   kind="oidc" if u.oidc_subject is not None else "local")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def password_problem(password: str, min_length: int, user_inputs: list[str]) -> str | None:
    """Why ``password`` is refused (too short, and/or zxcvbn's own feedback), or None."""
    report = zxcvbn(password[:200], user_inputs=user_inputs)  # zxcvbn is slow on huge input
    problems = []
    if len(password) < min_length:
        problems.append(f"too short ({len(password)} characters; at least {min_length})")
    if report["score"] < MIN_STRENGTH:
        problems.append(f"too easy to guess (strength {report['score']} of 4; at least "
                        f"{MIN_STRENGTH})")
    if not problems:
        return None
    feedback = report["feedback"]
    why = " ".join(filter(None, [feedback.get("warning"), *feedback.get("suggestions", [])]))
    return "the password is " + " and ".join(problems) + (f": {why}" if why else "")


def oidc_account_name(issuer: str, subject: str) -> str:
    digest = hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()[:16]
    return f"{OIDC_PREFIX}{digest}"


def _code_hash(code: str) -> str:
    normal = code.strip().upper().replace("-", "").replace(" ", "")
    return hashlib.sha256(normal.encode()).hexdigest()


def new_setup_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def has_admin(db: Database) -> bool:
    with db.session() as session:
        count = session.scalar(select(func.count()).select_from(User).where(
            User.is_admin.is_(True)))
        return bool(count)


def issue_setup_code(db: Database) -> str | None:
    """A new one-time setup code while the installation has no admin (earlier codes stop
    working), else None. Only its hash is stored."""
    if has_admin(db):
        return None
    code = new_setup_code()
    with db.session() as session:
        session.execute(delete(SetupCode))
        session.add(SetupCode(code_hash=_code_hash(code), created_at=utcnow()))
    return code


class Accounts(ServiceBase):
    # -- checks ----------------------------------------------------------------
    def _check_new_account(self, name: str, password: str) -> None:
        if not name or len(name) > 100 or not set(name) <= _LOCAL_NAME_OK:
            raise InvalidRequest(f"bad user name {name!r}: use letters, digits, '-', '_' "
                                 "and '.'")
        problem = password_problem(password, self.settings.min_password_length, [name])
        if problem:
            raise InvalidRequest(problem)

    def _require_admin(self, session: Any, acting: str | None) -> None:
        if acting is None:  # the installation itself (`dbplay user ...`)
            return
        row = session.scalars(select(User).where(User.name == acting)).one_or_none()
        if row is None or not row.is_admin:
            raise NotAllowed("only an admin may add, list or remove accounts")

    # -- queries ---------------------------------------------------------------
    def has_users(self) -> bool:
        """True once the installation has an admin (until then the UI offers only the
        first-account form, which needs the setup code)."""
        return has_admin(self.db)

    def is_admin(self, name: str) -> bool:
        with self.db.session() as session:
            row = session.scalars(select(User).where(User.name == name)).one_or_none()
            return bool(row is not None and row.is_admin)

    def display_name(self, name: str) -> str:
        with self.db.session() as session:
            row = session.scalars(select(User).where(User.name == name)).one_or_none()
            return (row.display_name or row.name) if row is not None else name

    def list_users(self, acting: str | None) -> list[UserView]:
        with self.db.session() as session:
            self._require_admin(session, acting)
            return [UserView.of(u) for u in session.scalars(select(User).order_by(User.name))]

    def authenticate(self, name: str, password: str) -> bool:
        with self.db.session() as session:
            user = session.scalars(select(User).where(User.name == name)).one_or_none()
        if user is None or not user.password_hash:
            return False
        return bcrypt.checkpw(password.encode(), user.password_hash.encode())

    # -- changes ---------------------------------------------------------------
    def create_user(self, acting: str | None, name: str, password: str,
                    admin: bool = False) -> UserView:
        """Add a local account; ``acting`` must be an admin (None: the installation)."""
        self._check_new_account(name, password)
        hashed = _password_hash(password)
        with self.db.session() as session:
            self._require_admin(session, acting)
            return _add_local_user(session, name, hashed, admin=admin)

    def delete_user(self, acting: str | None, name: str) -> None:
        """Remove an account (its sandboxes run out on their own TTL)."""
        with self.db.session() as session:
            self._require_admin(session, acting)
            row = session.scalars(select(User).where(User.name == name)).one_or_none()
            if row is None:
                raise NotFound(f"no user {name!r}")
            if row.is_admin and acting is not None and session.scalar(
                    select(func.count()).select_from(User).where(User.is_admin.is_(True))) == 1:
                raise Conflict("that is the last admin; make another admin first")
            session.delete(row)

    def issue_setup_code(self) -> str | None:
        return issue_setup_code(self.db)

    def create_first_admin(self, setup_code: str, name: str, password: str) -> UserView:
        """The first account of a fresh installation, an admin: needs the setup code
        ``dbplay up`` printed; the code is used up."""
        self._check_new_account(name, password)
        hashed = _password_hash(password)
        with self.db.session() as session:
            codes = session.scalars(select(SetupCode.code_hash)).all()
            given = _code_hash(setup_code)
            if not setup_code or not any(hmac.compare_digest(given, c) for c in codes):
                raise NotAllowed("wrong or used setup code: `dbplay up` prints a new one "
                                 "while the installation has no admin")
            # claiming the row is the atomic step: a concurrent claim deletes nothing
            if session.execute(delete(SetupCode).where(
                    SetupCode.code_hash == given)).rowcount != 1:  # type: ignore[attr-defined]
                raise NotAllowed("that setup code was used just now")
            session.execute(delete(SetupCode))
            return _add_local_user(session, name, hashed, admin=True)

    def oidc_account(self, issuer: str, subject: str, display_name: str) -> str:
        """The account name of an OpenID Connect identity, made on its first sign-in
        (not an admin); its display name follows the latest claim."""
        if not issuer or not subject:
            raise InvalidRequest("the identity provider sent no issuer or subject")
        name = oidc_account_name(issuer, subject)
        with self.db.session() as session:
            row = session.scalars(select(User).where(User.oidc_issuer == issuer,
                                                     User.oidc_subject == subject)).one_or_none()
            if row is None:
                session.add(User(name=name, password_hash=None, is_admin=False,
                                 oidc_issuer=issuer, oidc_subject=subject,
                                 display_name=display_name[:200], created_at=utcnow()))
            elif display_name and row.display_name != display_name[:200]:
                row.display_name = display_name[:200]
        return name


def _password_hash(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()


def _add_local_user(session: Session, name: str, password_hash: str, *, admin: bool) -> UserView:
    """Insert a local account (the name must be free) and return its view."""
    if session.scalars(select(User).where(User.name == name)).one_or_none():
        raise Conflict(f"user {name!r} exists already")
    user = User(name=name, password_hash=password_hash, is_admin=admin, created_at=utcnow())
    session.add(user)
    session.flush()
    return UserView.of(user)
