"""The worker's side of statement processes: start the zygote, run a job's engine call
in a fresh fenced child, relay a cancel, and turn a child's death into a clear error.

A statement that crashes or exhausts its process (a parser segfault, the address-space
limit) ends that job only, with :class:`StatementCrashed`; the worker, its other jobs
and the sandbox carry on (the server rolls back the dead connection's transaction).
"""

from __future__ import annotations

import inspect
import itertools
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from engines.base import Engine
from engines.errors import ProvisionError, QueryCancelled, StatementCrashed
from orchestrator.config.settings import Settings
from workers.isolation import fence, landlock, zygote
from workers.isolation.protocol import CANCEL, Operation, StatementRequest, decode_error

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[2]
#: how long the first spawn may wait for a zygote that is still importing the engines
SPAWN_TIMEOUT_S = 120.0
#: a cancelled child that has not answered by then is killed
CANCEL_GRACE_S = 5.0
#: a child that answered and goes on keeping rows is killed after its time limit and this
FINISH_GRACE_S = 60.0
_LABEL_CHARS = 120


def describe_status(status: int | None) -> str:
    if status is None:
        return "it vanished"
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            return signal.Signals(number).name
        except ValueError:
            return f"signal {number}"
    return f"exit status {os.WEXITSTATUS(status)}"


def _short(label: str) -> str:
    text = " ".join(label.split())
    return text if len(text) <= _LABEL_CHARS else text[:_LABEL_CHARS] + "..."


@dataclass
class _Child:
    token: int
    conn: Connection
    pid: int = 0
    status: int | None = None
    started: threading.Event = field(default_factory=threading.Event)
    exited: threading.Event = field(default_factory=threading.Event)
    send_lock: threading.Lock = field(default_factory=threading.Lock)
    cancel_at: float | None = None

    def send(self, message: Any) -> None:
        with self.send_lock:
            self.conn.send(message)

    def kill(self) -> None:
        if self.pid and not self.exited.is_set():
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class Zygote:
    """One zygote process and the control socket to it (restarted if it dies)."""

    def __init__(self, group: str) -> None:
        self.group = group  # which modules it preloads (``zygote.PRELOADS``)
        self._lock = threading.Lock()
        self._tokens = itertools.count(1)
        self._children: dict[int, _Child] = {}
        self._control: socket.socket | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self._lock:
            self._ensure_running()

    def _ensure_running(self) -> socket.socket:
        if self._control is not None and self._process is not None \
                and self._process.poll() is None:
            return self._control
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "workers.isolation.zygote", str(theirs.fileno()),
             self.group],
            env=fence.scrubbed_environ(os.environ), cwd=REPO, pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL)
        theirs.close()
        self._control = ours
        threading.Thread(target=self._read, args=(ours, self._process), daemon=True,
                         name="dbplay-zygote-reader").start()
        log.info("statement zygote %s started (pid %s)", self.group, self._process.pid)
        return ours

    def _read(self, control: socket.socket, process: subprocess.Popen[bytes]) -> None:
        while True:
            try:
                data = control.recv(zygote.MESSAGE.size)
            except OSError:
                data = b""
            if not data:
                break
            kind, token, pid, status = zygote.MESSAGE.unpack(data)
            with self._lock:
                child = self._children.get(token)
            if child is None:
                continue
            if kind == zygote.SPAWNED:
                child.pid = pid
                child.started.set()
            elif kind == zygote.EXITED:
                child.status = status
                child.exited.set()
        process.wait()
        log.warning("statement zygote %s ended (%s)", process.pid, process.returncode)
        with self._lock:
            orphans = list(self._children.values())
        for child in orphans:  # their processes died with the zygote (PDEATHSIG)
            child.started.set()
            child.exited.set()

    def spawn(self) -> _Child:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        child = _Child(token=0, conn=Connection(ours.detach()))
        with self._lock:
            control = self._ensure_running()
            child.token = next(self._tokens)
            self._children[child.token] = child
            try:
                socket.send_fds(control, [zygote.MESSAGE.pack(zygote.SPAWN, child.token, 0, 0)],
                                [theirs.fileno()])
            finally:
                theirs.close()
        if not child.started.wait(SPAWN_TIMEOUT_S) or not child.pid:
            self.forget(child)
            raise ProvisionError("the statement process did not start (zygote not answering)")
        return child

    def forget(self, child: _Child) -> None:
        with self._lock:
            self._children.pop(child.token, None)
        child.conn.close()

    def stop(self) -> None:
        with self._lock:
            if self._control is not None:
                self._control.close()
                self._control = None
            process, self._process = self._process, None
        if process is not None:
            # it may be deep in a preload import (chromadb takes seconds) and not see the
            # closed socket until that ends; its spares die with it (PR_SET_PDEATHSIG)
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()


def engine_options(settings: Settings) -> dict[str, Any]:
    """The engine constructor's caps from the settings (those this version accepts)."""
    accepted = inspect.signature(Engine.__init__).parameters
    wanted = {"max_rows": settings.max_rows, "max_result_bytes": settings.max_result_bytes,
              "max_cell_bytes": settings.max_cell_bytes,
              "max_script_bytes": settings.max_script_bytes}
    return {k: v for k, v in wanted.items() if k in accepted}


class StatementProcesses:
    """Runs each job's engine work in its own short-lived fenced process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        #: Chroma's zygote starts with the first Chroma job (it is large)
        self.zygotes = {group: Zygote(group) for group in zygote.PRELOADS}
        excluded = [settings.home]
        metadata = fence.metadata_file(settings.database_url)
        if metadata is not None:
            excluded.append(metadata)
        self.system_read = fence.system_read_paths(excluded, code=[REPO])
        self.engine_options = engine_options(settings)
        self.scratch_root = settings.run_dir / "statements"
        self._running: dict[str, _Child] = {}
        self._lock = threading.Lock()

    @staticmethod
    def landlock_abi() -> int:
        """The Landlock ABI statement processes are confined with (0: none, the
        kernel lacks it; the other fences still apply)."""
        return landlock.abi_version()

    def start(self) -> None:
        self.zygotes["sql"].start()

    def stop(self) -> None:
        for each in self.zygotes.values():
            each.stop()

    def cancel(self, job_id: str) -> bool:
        with self._lock:
            child = self._running.get(job_id)
        if child is None:
            return False
        child.cancel_at = child.cancel_at or time.monotonic()
        try:
            child.send(CANCEL)
        except OSError:
            pass
        return True

    def run(self, job_id: str, *, engine: str, url: str, operation: Operation,
            params: dict[str, Any], label: str, sandbox_files: Iterable[Path] = (),
            job_reads: Iterable[Path] = (), job_writes: Iterable[Path] = (),
            finished: Callable[[str], None] | None = None) -> Any:
        """Run ``operation(engine, params)`` in a fresh fenced child; its value, or the
        error it raised (rebuilt), or :class:`StatementCrashed` when it died.

        A child that answers early (:class:`~workers.isolation.protocol.Answered`) is left
        to finish in the background, within its time limit; ``finished`` is then called with
        how it ended (``"exit status 0"``, ``"SIGKILL"``...)."""
        self.scratch_root.mkdir(mode=0o700, parents=True, exist_ok=True)
        scratch = self.scratch_root / f"{os.getpid()}-{threading.get_ident()}-{job_id}"
        scratch.mkdir(mode=0o700, exist_ok=True)
        request = StatementRequest(
            engine=engine, url=url, operation=operation, params=params, label=label,
            engine_options=self.engine_options,
            fence=fence.fence_for(memory_mb=self.settings.statement_memory_mb, scratch=scratch,
                                  system_read=self.system_read, sandbox_files=sandbox_files,
                                  job_reads=job_reads, job_writes=job_writes,
                                  tcp_ports=fence.server_ports(url)))
        forker = self.zygotes["chroma" if engine == "chroma" else "sql"]
        kind: str = "error"
        try:
            child = forker.spawn()
            with self._lock:
                self._running[job_id] = child
            try:
                child.send(request)
                kind, payload = self._answer(child, label)
            finally:
                with self._lock:
                    self._running.pop(job_id, None)
                if kind != "answered":
                    child.kill()  # no-op once it has exited by itself
                    forker.forget(child)
        finally:
            if kind != "answered":
                shutil.rmtree(scratch, ignore_errors=True)
        if kind == "answered":
            limit = float(params.get("timeout_s") or self.settings.max_query_seconds)
            threading.Thread(target=self._finish_later,
                             args=(forker, child, scratch, limit, finished),
                             name="dbplay-statement-finish", daemon=True).start()
        if kind == "error":
            raise decode_error(payload)
        return payload

    def _finish_later(self, forker: Zygote, child: _Child, scratch: Path, limit_s: float,
                      finished: Callable[[str], None] | None) -> None:
        """Wait for a child that answered and keeps working; kill it past its limit."""
        try:
            if not child.exited.wait(limit_s + FINISH_GRACE_S):
                log.warning("statement process %s still keeping rows after %.0f s; stopped",
                            child.pid, limit_s + FINISH_GRACE_S)
                child.kill()
                child.exited.wait(5)
            how = describe_status(child.status)
        finally:
            forker.forget(child)
            shutil.rmtree(scratch, ignore_errors=True)
        if finished is not None:
            try:
                finished(how)
            except Exception:
                log.exception("recording how a statement process ended")

    def _answer(self, child: _Child, label: str) -> tuple[str, Any]:
        while True:
            exited = child.exited.is_set()  # before polling: what it sent is readable then
            try:
                if child.conn.poll(0 if exited else 0.2):
                    answer: tuple[str, Any] = child.conn.recv()
                    return answer
            except (EOFError, OSError):
                break
            if exited:
                break
            if child.cancel_at is not None and time.monotonic() - child.cancel_at > CANCEL_GRACE_S:
                child.kill()
                raise QueryCancelled("statement cancelled (its process was stopped)",
                                     statement=label)
        child.exited.wait(5)
        if child.cancel_at is not None:
            raise QueryCancelled("statement cancelled", statement=label)
        how = describe_status(child.status)
        log.warning("statement process %s died (%s) running %s", child.pid, how, _short(label))
        raise StatementCrashed(
            f"the statement {_short(label)!r} crashed the process running it ({how}); "
            "your sandbox and other users are unaffected", statement=label)
