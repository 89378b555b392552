"""``python -m orchestrator.api.http``: serve the API on
``DBPLAY_LISTEN_ADDRESS``:``DBPLAY_API_PORT`` (the stack's ``api`` service)."""

from __future__ import annotations

import sys

import uvicorn

from orchestrator.api.http.app import create_app
from orchestrator.api.http.installation_token import installation_token
from orchestrator.config.settings import Settings

#: seconds a stopping server gives requests in flight (a long poll ends sooner anyway)
GRACEFUL_STOP_S = 3


def main() -> int:
    settings = Settings.load()
    installation_token(settings.home)
    uvicorn.run(create_app(settings), host=settings.listen_address, port=settings.api_port,
                log_level="warning", access_log=False,
                timeout_graceful_shutdown=GRACEFUL_STOP_S)
    return 0


if __name__ == "__main__":
    sys.exit(main())
