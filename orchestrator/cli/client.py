"""The command line's HTTP client of the DB Playground API (``/api/v1``).

Built on the standard library's :mod:`http.client`, so a ``dbplay`` call starts quickly: no
SQLAlchemy, Redis, Docker or web framework is imported on this path (import-linter
checks it). One keep-alive connection serves every request of an invocation.

An error response (``{"error": {"type", "message"}}``) becomes an :class:`ApiError` that
carries the server's type, so the CLI prints the error exactly as the server named it.
"""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from engines.errors import DBPlayError, InvalidRequest, ServiceUnavailable
from orchestrator.cli.endpoint import TOKEN, USER_HEADER, Endpoint

PREFIX = "/api/v1"
#: how long to wait for the API to accept a connection (the answer may take much longer:
#: a sandbox create or an import runs until it is done)
CONNECT_TIMEOUT_S = 5.0
CHUNK = 1 << 16


class ApiError(DBPlayError):
    """An error the API answered with; ``type`` is the server's name for it."""

    def __init__(self, kind: str, message: str, status: int) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status

    @property
    def type(self) -> str:
        return self.kind


def path(*segments: str | int) -> str:
    """``/api/v1/seg/seg``, each segment quoted (names may hold ``/`` or spaces)."""
    return PREFIX + "".join("/" + quote(str(s), safe="") for s in segments)


class ApiClient:
    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        parts = urlsplit(endpoint.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidRequest(f"bad API address {endpoint.base_url!r}; use e.g. "
                                 "http://127.0.0.1:8502 or https://dbplay.example.com")
        self._base_path = parts.path.rstrip("/")
        kind = http.client.HTTPSConnection if parts.scheme == "https" else \
            http.client.HTTPConnection
        self._conn = kind(parts.hostname, parts.port, timeout=CONNECT_TIMEOUT_S)

    def close(self) -> None:
        self._conn.close()

    # -- requests -------------------------------------------------------------------
    def get(self, route: str, query: Mapping[str, Any] | None = None) -> Any:
        return self.call("GET", route, query=query)

    def post(self, route: str, body: Any = None) -> Any:
        return self.call("POST", route, body={} if body is None else body)

    def delete(self, route: str) -> Any:
        return self.call("DELETE", route)

    def call(self, method: str, route: str, *, body: Any = None,
             query: Mapping[str, Any] | None = None) -> Any:
        """Send a JSON request; returns the decoded JSON answer (raises :class:`ApiError`)."""
        payload = None if body is None else json.dumps(body).encode()
        headers = {} if payload is None else {"Content-Type": "application/json"}
        response = self._send(method, route, payload, headers, query)
        return self._json(response)

    def upload(self, route: str, fields: Mapping[str, str | None], file_name: str,
               data: bytes) -> Any:
        """POST a ``multipart/form-data`` body: ``fields`` plus ``file`` (the bytes)."""
        boundary = os.urandom(16).hex()
        parts = []
        for name, value in fields.items():
            if value is not None:
                parts.append(f'--{boundary}\r\nContent-Disposition: form-data; '
                             f'name="{name}"\r\n\r\n{value}\r\n'.encode())
        safe_name = file_name.replace('"', "%22").replace("\r", "").replace("\n", "")
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                     f'filename="{safe_name}"\r\nContent-Type: application/octet-stream'
                     "\r\n\r\n".encode())
        payload = b"".join(parts) + data + f"\r\n--{boundary}--\r\n".encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        return self._json(self._send("POST", route, payload, headers, None))

    def download(self, route: str, body: Any, out: Path) -> None:
        """POST ``body``; stream the answer into ``out`` (all of it, or no file at all)."""
        response = self._send("POST", route, json.dumps(body).encode(),
                              {"Content-Type": "application/json"}, None)
        if response.status >= 400:
            self._json(response)  # raises the error it carries
        partial = out.with_name(f".{out.name}.{os.getpid()}.part")
        try:
            with partial.open("wb") as handle:
                while True:
                    try:
                        chunk = response.read(CHUNK)
                    except (http.client.HTTPException, OSError) as exc:
                        self._conn.close()
                        raise ServiceUnavailable(
                            f"the download from {self.endpoint.base_url} broke off ({exc!r}); "
                            f"nothing was written to {out}") from exc
                    if not chunk:
                        break
                    handle.write(chunk)
            os.replace(partial, out)
        except BaseException:  # file errors (OSError) reach the caller, as do the above
            partial.unlink(missing_ok=True)
            raise

    # -- plumbing --------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.endpoint.token}",
                   "Accept": "application/json"}
        if self.endpoint.user:
            headers[USER_HEADER] = self.endpoint.user
        return headers

    def _send(self, method: str, route: str, payload: bytes | None,
              headers: dict[str, str], query: Mapping[str, Any] | None
              ) -> http.client.HTTPResponse:
        target = self._base_path + route
        if query:
            target += "?" + urlencode({k: v for k, v in query.items() if v is not None})
        all_headers = {**self._headers(), **headers}
        while True:
            reused = self._conn.sock is not None
            try:
                self._connect()
                self._conn.request(method, target, body=payload, headers=all_headers)
                return self._conn.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError) as exc:
                self._conn.close()
                if not reused:
                    raise self._unavailable(exc) from exc
                # a kept-alive connection the server closed while idle (it never saw
                # this request): send it once more on a new connection
            except OSError as exc:
                self._conn.close()
                raise self._unavailable(exc) from exc

    def _connect(self) -> None:
        if self._conn.sock is not None:
            return
        self._conn.connect()
        sock: Any = self._conn.sock
        sock.settimeout(None)  # an answer may take as long as its job (a create, an import)

    def _unavailable(self, exc: BaseException) -> ServiceUnavailable:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return ServiceUnavailable(f"the DB Playground API at {self.endpoint.base_url} does "
                                  f"not answer ({reason}); {self.endpoint.hint}")

    def _json(self, response: http.client.HTTPResponse) -> Any:
        raw = response.read()
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = None
        if response.status < 400:
            if data is None and raw:
                raise ApiError("BadResponse", f"the API answered {response.status} with "
                               f"something other than JSON: {raw[:200]!r}", response.status)
            return data
        raise self._error(response.status, data, raw)

    def _error(self, status: int, data: Any, raw: bytes) -> ApiError:
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict) and "type" in error:
            kind, message = str(error["type"]), str(error.get("message", ""))
        else:
            kind = "HTTPError"
            message = f"HTTP {status}: {raw[:200].decode('utf-8', 'replace')}"
        if status == 401 and self.endpoint.remote:
            message = (f"{message}; {TOKEN} was refused (`dbplay token create --user NAME` "
                       "on the installation makes a new one)")
        elif status == 401:
            message = (f"{message}; the installation token ($DBPLAY_HOME/api.token) was "
                       f"refused: is the API at {self.endpoint.base_url} this installation's?")
        return ApiError(kind, message, status)
