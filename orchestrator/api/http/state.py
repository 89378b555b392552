"""What the app holds for its lifetime (one :class:`Orchestrator`, built at start-up)
and the dependency that hands it to the routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from orchestrator.api.http.token_cache import TokenCache
from orchestrator.api.service import Orchestrator


@dataclass
class AppState:
    orchestrator: Orchestrator
    installation_token: str
    tokens: TokenCache


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.dbplay
    return state


async def service(request: Request) -> Orchestrator:
    return app_state(request).orchestrator


ServiceDep = Annotated[Orchestrator, Depends(service)]
