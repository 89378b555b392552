"""The password of the installation's own Redis.

Redis carries the job queue: whoever can write to it can submit jobs as any user. The
Redis that ``dbplay up`` starts binds 127.0.0.1, but every OS user of the machine can
reach loopback, so it also requires a password: a random one kept in
``$DBPLAY_HOME/redis.secret`` (0600, made at the first start). A loopback
``DBPLAY_REDIS_URL`` without a password gets it added when the settings are loaded;
a URL that names a password, or another host, is used as written.

The password reaches redis-server through a 0600 configuration file, never its command
line (``ps`` shows every process's arguments to every user).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import quote, urlparse, urlunparse

from orchestrator.config.file_modes import private_dir, write_private

SECRET_FILE = "redis.secret"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def local_password(home: Path) -> str:
    """The installation's Redis password, made on first use."""
    path = home / SECRET_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    private_dir(home)
    try:
        write_private(path, secrets.token_urlsafe(32), exclusive=True)
    except FileExistsError:
        pass  # another process made it first: use theirs
    return path.read_text().strip()


def with_local_password(url: str, home: Path) -> str:
    """``url`` with the installation's password when it names a loopback Redis without one."""
    parsed = urlparse(url)
    if parsed.scheme not in ("redis", "rediss") or parsed.password is not None \
            or parsed.hostname not in _LOOPBACK:
        return url
    host = f"[{parsed.hostname}]" if ":" in (parsed.hostname or "") else parsed.hostname
    port = f":{parsed.port}" if parsed.port else ""
    user = quote(parsed.username or "", safe="")
    netloc = f"{user}:{quote(local_password(home), safe='')}@{host}{port}"
    return urlunparse(parsed._replace(netloc=netloc))


def redacted(url: str) -> str:
    """``url`` fit to print: its password (if any) replaced by ``***``."""
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    netloc = f"{parsed.username or ''}:***@{parsed.netloc.rpartition('@')[2]}"
    return urlunparse(parsed._replace(netloc=netloc))


def config_file(url: str, directory: Path) -> Path:
    """A 0600 redis.conf requiring ``url``'s password (empty when it names none)."""
    password = urlparse(url).password
    path = private_dir(directory) / "redis.conf"
    text = "" if not password else "requirepass " + password.replace('"', '\\"') + "\n"
    write_private(path, text)
    return path
