"""JSON bodies written straight to a response (no per-field validation on the way out:
the service's views are JSON-safe already, and results can be large)."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import Response


def json_response(data: Any, status: int = 200,
                  headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, ensure_ascii=False, default=str, separators=(",", ":"))
    return Response(body.encode(), status_code=status, headers=headers,
                    media_type="application/json")
