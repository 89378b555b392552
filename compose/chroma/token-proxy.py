"""Token authentication in front of a Chroma server, inside the sandbox container.

Chroma 1.x's server (the Rust frontend behind ``chroma run``) ignores the old
``CHROMA_SERVER_AUTHN_*`` settings: it answers anyone. So the container runs Chroma on
127.0.0.1:8001 and this proxy on the sandbox's port, 8000. A connection's first request
must carry the sandbox's token (``CHROMA_SANDBOX_TOKEN``) as ``X-Chroma-Token: T``,
``Authorization: Bearer T`` or HTTP Basic with password ``T`` (so ``http://:T@host:port``
works in curl); otherwise it gets ``401`` and is closed. An accepted connection is then
piped to Chroma as it is.

Usage: token-proxy.py LISTEN_HOST:PORT UPSTREAM_HOST:PORT -- CHROMA COMMAND...
The proxy starts the Chroma command, exits with its status when it ends, and stops it
on SIGTERM/SIGINT. Standard library only (runs on the image's own python3).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import os
import re
import signal
import subprocess
import sys

HEADER_LIMIT = 64 * 1024
_TOKEN_OK = re.compile(r"[A-Za-z0-9_-]{16,256}")
_UNAUTHORIZED = (b'{"error":"Unauthorized","message":"this Chroma sandbox needs its token: '
                 b'X-Chroma-Token, Authorization: Bearer, or the password of HTTP Basic"}')


def presented_tokens(head: bytes) -> list[str]:
    """Every token a request head offers (header names are case-insensitive)."""
    tokens = []
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "x-chroma-token":
            tokens.append(value)
        elif name == "authorization":
            scheme, _, credentials = value.partition(" ")
            if scheme.lower() == "bearer":
                tokens.append(credentials.strip())
            elif scheme.lower() == "basic":
                try:
                    decoded = base64.b64decode(credentials.strip(), validate=True)
                except (binascii.Error, ValueError):
                    continue
                tokens.append(decoded.decode("latin-1").partition(":")[2])
    return tokens


def token_matches(head: bytes, token: str) -> bool:
    expected = token.encode()
    return any(hmac.compare_digest(candidate.encode("latin-1", "replace"), expected)
               for candidate in presented_tokens(head))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except (ConnectionError, OSError):
            pass


class TokenProxy:
    def __init__(self, token: str, upstream: tuple[str, int]) -> None:
        self.token = token
        self.upstream = upstream

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        if not token_matches(head, self.token):
            writer.write(b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
                         b"WWW-Authenticate: Bearer\r\nConnection: close\r\n"
                         + f"Content-Length: {len(_UNAUTHORIZED)}\r\n\r\n".encode()
                         + _UNAUTHORIZED)
            try:
                await writer.drain()
            finally:
                writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()  # Chroma is not up yet: the client retries
            return
        up_writer.write(head)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


async def serve(listen: tuple[str, int], proxy: TokenProxy, chroma: subprocess.Popen[bytes]
                ) -> int:
    server = await asyncio.start_server(proxy.handle, *listen, limit=HEADER_LIMIT)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    chroma_exit = loop.run_in_executor(None, chroma.wait)
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait([chroma_exit, stopped], return_when=asyncio.FIRST_COMPLETED)
    server.close()
    if chroma.poll() is None:
        chroma.terminate()
    return await chroma_exit


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    token = os.environ.get("CHROMA_SANDBOX_TOKEN", "")
    if not _TOKEN_OK.fullmatch(token):
        print("token-proxy: CHROMA_SANDBOX_TOKEN must be 16-256 characters of [A-Za-z0-9_-]; "
              "refusing to serve Chroma without authentication", file=sys.stderr)
        return 2
    env = {k: v for k, v in os.environ.items() if k != "CHROMA_SANDBOX_TOKEN"}
    chroma = subprocess.Popen(argv[3:], env=env)
    return asyncio.run(serve(_address(argv[0]), TokenProxy(token, _address(argv[1])), chroma))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
