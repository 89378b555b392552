"""Where the command line sends its requests, and as whom.

Remote mode: ``DBPLAY_URL`` and ``DBPLAY_TOKEN`` are both set; the token decides the
acting user. Local mode: the API of the installation in ``DBPLAY_HOME``
(``http://<DBPLAY_LISTEN_ADDRESS>:<DBPLAY_API_PORT>``), with the installation token from
``$DBPLAY_HOME/api.token`` and the acting user named in the ``X-DBPlay-User`` header
(``--user``, else ``DBPLAY_USER``, else the login name).

These few settings are read straight from the environment instead of through
:meth:`orchestrator.config.settings.Settings.load`: that parses every setting and makes
the Redis password file, neither of which a request needs, and it costs start-up time
that ``dbplay query`` is measured on. The names and defaults are the ones declared in
:mod:`orchestrator.config.settings` (a test checks they agree).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from engines.errors import InvalidRequest, ServiceUnavailable

URL = "DBPLAY_URL"
TOKEN = "DBPLAY_TOKEN"
HOME = "DBPLAY_HOME"
LISTEN_ADDRESS = "DBPLAY_LISTEN_ADDRESS"
API_PORT = "DBPLAY_API_PORT"
USER = "DBPLAY_USER"
#: the defaults of the settings above, as declared in orchestrator/config/settings.py
DEFAULTS = {URL: "", TOKEN: "", HOME: "~/.dbplay", LISTEN_ADDRESS: "127.0.0.1",
            API_PORT: "8502", USER: ""}
#: the installation token's file in DBPLAY_HOME (made by the API service when it starts;
#: the same name as in orchestrator/api/http/installation_token.py, a test checks)
INSTALLATION_TOKEN_FILE = "api.token"
#: the header naming the acting user (the same as the API's, a test checks)
USER_HEADER = "X-DBPlay-User"
#: listen addresses that mean "every interface": the CLI reaches them on loopback
_ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


@dataclass(frozen=True)
class Endpoint:
    """One installation's API and the credentials the CLI presents to it."""

    base_url: str
    token: str
    #: sent as ``X-DBPlay-User``: the acting user (local mode), or the one ``--user``
    #: asked for (remote mode, where the token's own user must match it)
    user: str | None
    remote: bool

    @property
    def hint(self) -> str:
        """What to do when nothing answers at :attr:`base_url`."""
        if self.remote:
            return f"check {URL} ({self.base_url}) and that the installation is up"
        return "start the stack with `dbplay up`"


def _setting(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "") or DEFAULTS[name]


def login_name(env: Mapping[str, str]) -> str:
    """The acting user when neither ``--user`` nor ``DBPLAY_USER`` names one (the same
    rule as :meth:`Settings.load`)."""
    for var in ("LOGNAME", "USER", "USERNAME"):
        if env.get(var):
            return env[var]
    return "user"


def home(env: Mapping[str, str]) -> Path:
    return Path(_setting(env, HOME)).expanduser().resolve()


def local_url(env: Mapping[str, str]) -> str:
    address = _setting(env, LISTEN_ADDRESS).strip()
    address = _ANY_ADDRESS.get(address, address)
    host = f"[{address}]" if ":" in address else address
    port = _setting(env, API_PORT).strip()
    if not port.isdigit():
        raise InvalidRequest(f"{API_PORT}={port!r}: not a port number")
    return f"http://{host}:{port}"


def resolve(user_option: str | None, env: Mapping[str, str] | None = None) -> Endpoint:
    """The endpoint for this invocation (``user_option``: the ``--user`` given, if any)."""
    env = os.environ if env is None else env
    url, token = env.get(URL, "").strip(), env.get(TOKEN, "").strip()
    if url or token:
        if not (url and token):
            missing = TOKEN if url else URL
            raise InvalidRequest(f"remote mode needs both {URL} and {TOKEN}; {missing} is "
                                 "not set")
        return Endpoint(url.rstrip("/"), token, user_option, remote=True)
    user = user_option or env.get(USER, "") or login_name(env)
    return Endpoint(local_url(env), _installation_token(home(env)), user, remote=False)


def _installation_token(home_dir: Path) -> str:
    path = home_dir / INSTALLATION_TOKEN_FILE
    try:
        token = path.read_text().strip()
    except FileNotFoundError:
        raise ServiceUnavailable(f"the API of {home_dir} has not started ({path} does not "
                                 "exist); start the stack with `dbplay up`") from None
    except OSError as exc:
        raise InvalidRequest(f"cannot read {path}: {exc.strerror or exc}; only the "
                             "installation's own user can act on it locally (or set "
                             f"{URL} and {TOKEN})") from exc
    if not token:
        raise ServiceUnavailable(f"{path} is empty; restart the stack with `dbplay up`")
    return token
