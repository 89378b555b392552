"""The one place where errors become HTTP responses.

Every error body is ``{"error": {"type", "message"}}`` (plus what the error's own
``to_dict()`` adds, e.g. ``line``/``column``), the shape the CLI prints with ``--json``.
The status follows the error's class (the nearest listed ancestor wins); FastAPI's own
validation errors are ``InvalidRequest`` with 422, and an unexpected exception is a 500
whose message carries no traceback (the traceback goes to the service's log).
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from engines.errors import (
    Conflict,
    DBPlayError,
    InvalidRequest,
    NotAllowed,
    NotFound,
    QuotaExceeded,
    ServiceUnavailable,
    Unauthorized,
)
from orchestrator.api.http.responses import json_response

log = logging.getLogger("dbplay.api")

STATUS_OF: dict[type[DBPlayError], int] = {
    NotFound: 404,
    InvalidRequest: 422,
    Conflict: 409,
    NotAllowed: 403,
    QuotaExceeded: 429,
    ServiceUnavailable: 503,
    Unauthorized: 401,
}
#: any other DBPlayError (an engine error, a provisioning failure, ...)
DEFAULT_STATUS = 400
#: names of the HTTP errors Starlette raises itself (unknown route, wrong method)
_HTTP_TYPES = {404: "NotFound", 405: "MethodNotAllowed", 401: "Unauthorized"}


def status_of(error: DBPlayError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return DEFAULT_STATUS


def error_response(error_type: str, message: str, status: int,
                   extra: dict[str, Any] | None = None) -> Response:
    body = {**(extra or {}), "type": error_type, "message": message}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return json_response({"error": body}, status, headers=headers)


def dbplay_error_response(error: DBPlayError) -> Response:
    return error_response(error.type, error.message, status_of(error), error.to_dict())


def _validation_message(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {item.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


async def _on_dbplay_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DBPlayError)
    return dbplay_error_response(exc)


async def _on_validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response("InvalidRequest", _validation_message(exc), 422)


async def _on_http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    kind = _HTTP_TYPES.get(exc.status_code, "HTTPError")
    return error_response(kind, str(exc.detail), exc.status_code)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    if isinstance(exc, redis.ConnectionError):
        return error_response("ServiceUnavailable", f"Redis does not answer ({exc}); start "
                              "the stack with `dbplay up`", 503)
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(type(exc).__name__, str(exc) or "internal error", 500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DBPlayError, _on_dbplay_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
