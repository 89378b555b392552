"""The FastAPI app: ``create_app(settings)``.

One :class:`Orchestrator` is built when the app starts (the metadata database, its
migrations, Redis and the provisioners are set up once, not per request) and closed when
it stops. Routes are plain functions, run in the thread pool; they call the service
layer, which checks ownership itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI

from orchestrator.api.http.errors import install_error_handlers
from orchestrator.api.http.installation_token import installation_token
from orchestrator.api.http.routes import (
    builder,
    dashboards,
    design,
    jobs,
    queries,
    results,
    sandboxes,
    saved,
    schedules,
    shares,
    system,
    templates,
    tokens,
    tuning,
    users,
)
from orchestrator.api.http.state import AppState
from orchestrator.api.http.token_cache import TokenCache
from orchestrator.api.service import Orchestrator
from orchestrator.config.settings import Settings

PREFIX = "/api/v1"
#: threads serving blocking routes at once (queries and long polls wait in one each)
WORKER_THREADS = 100
ROUTERS = (system, templates, sandboxes, queries, results, schedules, jobs, saved, dashboards,
           tokens, users, design, tuning, builder, shares)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
        orchestrator = Orchestrator.from_settings(settings)
        app.state.dbplay = AppState(orchestrator=orchestrator,
                                    installation_token=installation_token(settings.home),
                                    tokens=TokenCache(orchestrator.user_for_token))
        try:
            yield
        finally:
            orchestrator.close()

    app = FastAPI(title="DB Playground", version="1", lifespan=lifespan,
                  description="Disposable per-user database sandboxes. Authenticate with "
                              "`Authorization: Bearer <token>` (`dbplay token create`).")
    install_error_handlers(app)
    for module in ROUTERS:
        app.include_router(module.router, prefix=PREFIX)
    return app
