"""Throwaway database servers that the test suite starts itself.

Each module exposes a server class with ``start()``, ``stop()`` and
``new_database() -> url`` (a fresh, empty database on that server, as an engine URL).
When a server cannot be started, :func:`unavailable` fails the test under CI
(``CI=true``), where a missing service is a defect, and skips it elsewhere.
"""

from __future__ import annotations

import os
import socket
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> NoReturn:
    if in_ci():
        pytest.fail(f"required service unavailable in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
