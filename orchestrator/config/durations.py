"""Durations as people write them (``90s``, ``30m``, ``2h``, ``1d``) and back.

A module of its own so the command line can parse ``--ttl`` without loading every
setting (:mod:`orchestrator.config.settings` declares the settings that use it)."""

from __future__ import annotations

import re

from engines.errors import InvalidRequest

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str | int) -> int:
    """Seconds from ``90``, ``90s``, ``30m``, ``2h`` or ``1d``."""
    if isinstance(text, int):
        return text
    match = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", str(text).lower())
    if not match:
        raise InvalidRequest(f"bad duration {text!r}; use e.g. 90s, 30m, 2h or 1d")
    return int(match.group(1)) * _UNITS[match.group(2) or "s"]


def format_duration(seconds: int | float) -> str:
    """The inverse of :func:`parse_duration` in the largest whole unit: ``24h``, ``90m``.

    Days are shown as hours (``DBPLAY_MAX_TTL=24h`` reads back as ``24h``)."""
    whole = int(seconds)
    for unit, size in (("h", 3600), ("m", 60)):
        if whole and whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"
