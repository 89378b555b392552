"""Files a user hands to a job (data imports), stored where only dbplay can read them.

The client (CLI, UI) reads the user's file with the user's own rights and gives the API
its bytes; the API keeps them as ``$DBPLAY_HOME/uploads/<user>/<random id>.<ext>`` (0600
in a 0700 folder). A job carries only that id; the worker resolves it with
:meth:`UploadStore.open_path`, which refuses anything that is not a plain file directly
inside that user's folder (absolute paths, ``..``, symlinks, another user's upload), so a
worker never opens a path a user chose.
"""

from __future__ import annotations

import re
import secrets
import stat
from pathlib import Path

from engines.errors import InvalidRequest
from orchestrator.config.file_modes import private_dir, write_private

#: an upload id: 32 hex digits, optionally a short lower-case extension (the format hint)
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}(\.[a-z0-9]{1,10})?")
_EXTENSION = re.compile(r"\.[a-z0-9]{1,10}")


def uploads_root(home: Path) -> Path:
    return home / "uploads"


class UploadStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _folder(self, user: str) -> Path:
        if not user or "/" in user or user in (".", "..") or "\0" in user:
            raise InvalidRequest(f"bad user name {user!r} for an upload")
        return self.root / user

    def put(self, user: str, data: bytes, file_name: str = "") -> str:
        """Keep ``data`` for ``user``; returns the upload id (keeps the file's extension,
        which tells the importer the format)."""
        suffix = Path(file_name).suffix.lower()
        upload_id = secrets.token_hex(16) + (suffix if _EXTENSION.fullmatch(suffix) else "")
        private_dir(self.root)
        folder = private_dir(self._folder(user))
        write_private(folder / upload_id, data, exclusive=True)
        return upload_id

    def open_path(self, user: str, upload_id: str) -> Path:
        """The file of one of ``user``'s uploads; anything else is refused."""
        if not isinstance(upload_id, str) or not _UPLOAD_ID.fullmatch(upload_id):
            raise InvalidRequest(f"refused upload reference {str(upload_id)[:80]!r}: not an "
                                 "upload id (a job never names a file by path)")
        folder = self._folder(user)
        path = folder / upload_id
        try:
            info = path.lstat()
        except FileNotFoundError:
            raise InvalidRequest(f"no upload {upload_id} of {user}") from None
        if not stat.S_ISREG(info.st_mode) or path.resolve().parent != folder.resolve() or \
                not folder.resolve().is_relative_to(self.root.resolve()):
            raise InvalidRequest(f"refused upload {upload_id}: not a plain file in the "
                                 "uploads folder")
        return path

    def discard(self, user: str, upload_id: str) -> None:
        if _UPLOAD_ID.fullmatch(upload_id):
            (self._folder(user) / upload_id).unlink(missing_ok=True)
