"""What an owner must be told when they open a connection to a sandbox.

Every server that supports credentials gets ones unique to the sandbox. The one exception
is the offline MongoDB stand-in (nx-27017), which has no authentication at all: a
provisioner marks such a sandbox's handle ``info`` with ``auth: False`` and
``standin: True`` (both provisioners use exactly these keys), and the CLI and the UI show
:data:`STANDIN_WARNING` next to its connection string.
"""

from __future__ import annotations

from typing import Any

STANDIN_WARNING = ("this MongoDB is the offline stand-in, which has no authentication: anyone "
                   "on this machine who finds the port can read and change this sandbox")


def warning_for(info: dict[str, Any]) -> str | None:
    """The warning for a handle's ``info``, or None when its server asks for credentials."""
    if info.get("standin") and not info.get("auth", True):
        return STANDIN_WARNING
    return None
