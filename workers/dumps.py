"""Freeing a dump no template uses any more: its stored file, and what each provisioner
made of it to start sandboxes fast (baked image, prepared cluster, seeded cache)."""

from __future__ import annotations

import logging
import re
from typing import Any

from engines.errors import DBPlayError, ProvisionError
from workers.runtime import Runtime

log = logging.getLogger(__name__)


def is_digest(value: Any) -> bool:
    """True for a dump's content address (64 hex digits): never a path."""
    return isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value) is not None


def forget_dump(rt: Runtime, digest: str) -> None:
    """Every provisioner in use frees the dump's artefacts; each is tried, then a
    ``ProvisionError`` names those that failed."""
    failed: list[str] = []
    for provisioner in rt.provisioners.active():
        try:
            provisioner.forget_template(digest)
        except Exception as exc:
            log.exception("%s provisioner could not free dump %s", provisioner.name, digest)
            failed.append(f"{provisioner.name}: {exc}")
    if failed:
        raise ProvisionError(f"could not free what was made of dump {digest}: "
                             + "; ".join(failed))


def release_dumps(rt: Runtime, digests: list[str]) -> None:
    """Drop the stored files of dumps no template uses and what was made of them
    (failures are logged: the caller's own work is done)."""
    for digest in digests:
        rt.store.discard(digest)
        try:
            forget_dump(rt, digest)
        except DBPlayError as exc:
            log.warning("%s", exc.message)
