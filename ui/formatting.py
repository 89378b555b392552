"""Small text formatters shared by pages (engine names, sizes, durations, times left)."""

from __future__ import annotations

import datetime as dt

from engines.errors import InvalidRequest
from engines.registry import descriptor_for


def engine_label(engine: str) -> str:
    """How people call an engine (``PostgreSQL``); the kind itself when it is unknown."""
    try:
        return descriptor_for(engine).label
    except InvalidRequest:
        return engine


def human_size(size: int | float | None) -> str:
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def human_ms(ms: float | None) -> str:
    if ms is None:
        return "?"
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.2f} s"


def parse_time(text: str) -> dt.datetime:
    """An ISO time from the API as an aware UTC datetime."""
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def time_left(expires_at: str, now: dt.datetime | None = None) -> str:
    """``"47 min left"``, ``"2 h 05 min left"`` or ``"expired"``."""
    now = now or dt.datetime.now(dt.UTC)
    seconds = int((parse_time(expires_at) - now).total_seconds())
    if seconds <= 0:
        return "expired"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min left"
    if minutes:
        return f"{minutes} min {secs:02d} s left"
    return f"{secs} s left"


def short_time(text: str | None) -> str:
    if not text:
        return "never"
    return parse_time(text).strftime("%Y-%m-%d %H:%M:%S UTC")
