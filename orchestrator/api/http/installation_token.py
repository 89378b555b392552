"""The installation token: a random secret in ``$DBPLAY_HOME/api.token`` (0600).

Whoever can read ``DBPLAY_HOME`` already is the installation, so a request bearing it
may act as any user (named in the ``X-DBPlay-User`` header) and do admin things. The
API service creates it when it starts; the local CLI reads it. No FastAPI here: the
CLI imports this module.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from orchestrator.config.file_modes import file_lock, private_dir, write_private

TOKEN_FILE = "api.token"
#: the header naming the acting user of a request made with the installation token
USER_HEADER = "X-DBPlay-User"


def token_path(home: Path) -> Path:
    return home / TOKEN_FILE


def read_installation_token(home: Path) -> str | None:
    """The installation token, or None while the API has never started here."""
    try:
        secret = token_path(home).read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return secret or None


def installation_token(home: Path) -> str:
    """The installation token, made (0600) if missing."""
    private_dir(home)
    with file_lock(home / "run" / "api-token.lock"):
        secret = read_installation_token(home)
        if secret is None:  # written aside, then renamed: a reader never sees half of it
            secret = "dbpi_" + secrets.token_urlsafe(32)
            partial = home / f".{TOKEN_FILE}.new"
            partial.unlink(missing_ok=True)
            write_private(partial, secret + "\n", exclusive=True)
            os.replace(partial, token_path(home))
        return secret
