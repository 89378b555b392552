"""The body of a statement process: fence itself, connect, run one operation, answer.

Runs in a child forked by the zygote (``workers/isolation/zygote.py``) and never
returns: it ends with ``os._exit``. A second thread waits for :data:`CANCEL` from the
worker and calls ``engine.cancel()``; the main thread runs the operation.
"""

from __future__ import annotations

import os
import socket
import threading
import traceback
from multiprocessing.connection import Connection
from typing import NoReturn

from engines.base import Engine
from engines.errors import ExecutionError
from engines.registry import connect
from workers.isolation import fence
from workers.isolation.protocol import CANCEL, Answered, StatementRequest, encode_error


def _listen_for_cancel(conn: Connection, engine: Engine) -> None:
    try:
        while True:
            if conn.recv() == CANCEL:
                engine.cancel()
    except (EOFError, OSError):
        return


def serve(sock: socket.socket) -> NoReturn:
    """Handle the one job whose pipe is ``sock``, then exit."""
    code = 0
    conn = Connection(sock.detach())
    try:
        try:
            request: StatementRequest = conn.recv()
        except EOFError:  # the worker gave up on this job before sending it
            os._exit(0)
        fence.apply(request.fence)
        try:
            engine = connect(request.engine, request.url, **request.engine_options)
            threading.Thread(target=_listen_for_cancel, args=(conn, engine),
                             name="dbplay-cancel", daemon=True).start()
            try:
                engine.connect()
                value = request.operation(engine, request.params)
                reply: tuple[str, object] | None = ("ok", value)
                if isinstance(value, Answered):
                    conn.send(("answered", value.value))
                    reply = None
                    value.then()  # a failure here is the operation's to record
            finally:
                try:
                    engine.close()
                except Exception:
                    pass
        except MemoryError:
            limit = request.fence.memory_mb
            reply = ("error", encode_error(ExecutionError(
                f"the statement ran out of memory: its process may use {limit} MiB "
                "(DBPLAY_STATEMENT_MEMORY_MB)", statement=request.label)))
        except BaseException as exc:  # every failure goes back to the worker
            reply = ("error", encode_error(exc))
        if reply is not None:
            conn.send(reply)
    except BaseException:  # nothing may escape a forked child
        traceback.print_exc()
        code = 1
    os._exit(code)
