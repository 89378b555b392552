"""The zygote: a process that has imported every engine and forks one child per job.

Started by a worker (``python -m workers.isolation.zygote FD GROUP``) with a scrubbed
environment - it never holds the metadata database's URL or any other secret - and a
``SOCK_SEQPACKET`` control socket. Each control message is a spawn request carrying the
job's own socket (``SCM_RIGHTS``); the zygote forks, the child serves that job
(``workers/isolation/child.py``), and the zygote reports the child's pid and, later, its
exit status (so the worker can name the signal that killed it). When the worker goes
away (the control socket closes) the zygote kills its children and exits.
"""

from __future__ import annotations

import ctypes
import faulthandler
import gc
import importlib
import os
import selectors
import signal
import socket
import struct
import sys

from workers.isolation import child as statement_child

#: control messages: kind (b"S" spawn, b"P" pid, b"X" exit), token, pid, wait status
MESSAGE = struct.Struct("=cQii")
SPAWN, SPAWNED, EXITED = b"S", b"P", b"X"

#: what a zygote imports, so a child starts with it loaded (forked, not re-imported);
#: one module at a time while no spawn request waits, so the first jobs need not wait
#: (``module:function`` also calls a warm-up function of the module).
#: Two groups: forking costs grow with the zygote's size, and Chroma's libraries (Rust
#: bindings, onnxruntime) would triple it for every SQL statement.
PRELOADS: dict[str, tuple[str, ...]] = {
    "sql": ("workers.isolation.operations", "orchestrator.results.keeper:warm_up",
            "engines.sqlite.adapter", "engines.postgres.adapter", "engines.mongodb.adapter",
            "engines.formats"),
    "chroma": ("workers.isolation.operations", "orchestrator.results.keeper:warm_up",
               "engines.chroma.adapter", "chromadb", "chromadb.api.rust", "onnxruntime",
               "tokenizers"),
}


def _preload_one(pending: list[str]) -> None:
    name, _, call = pending.pop(0).partition(":")
    try:
        module = importlib.import_module(name)
        if call:  # a warm-up: what the module would otherwise load on first use
            getattr(module, call)()
    except Exception as exc:  # an optional driver missing: the child imports lazily
        print(f"zygote: cannot preload {name}: {exc}", file=sys.stderr)


def _send(control: socket.socket, kind: bytes, token: int, pid: int, status: int) -> None:
    control.send(MESSAGE.pack(kind, token, pid, status))


#: children forked ahead of time, each waiting for a job: the fork (whose cost grows
#: with the zygote's size) happens between jobs, not while a user waits
SPARES = 2
REFILL_DELAY_S = 0.05


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:
        os._exit(1)


class _Forker:
    """The zygote's state: its spare children and the children serving jobs."""

    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.selector = selectors.DefaultSelector()
        self.selector.register(control, selectors.EVENT_READ, None)
        #: spare children: (pid, pidfd, the socket its job will arrive on)
        self.spares: list[tuple[int, int, socket.socket]] = []
        #: pidfd -> (token, pid); token 0: a spare not yet given a job
        self.children: dict[int, tuple[int, int]] = {}

    def fork_spare(self) -> None:
        gc.freeze()  # the child's collector leaves inherited objects (and their pages) alone
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            try:
                ours.close()
                self.selector.close()
                self.control.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                _die_with_parent()
                _data, fds, _flags, _addr = socket.recv_fds(theirs, 1, 1)
                if fds:
                    theirs.close()
                    statement_child.serve(socket.socket(fileno=fds[0]))
            finally:
                os._exit(1)
        theirs.close()
        pidfd = os.pidfd_open(pid)
        self.children[pidfd] = (0, pid)
        self.selector.register(pidfd, selectors.EVENT_READ, pid)
        self.spares.append((pid, pidfd, ours))

    def spawn(self, token: int, job_fd: int) -> None:
        if not self.spares:
            self.fork_spare()
        pid, pidfd, handoff = self.spares.pop(0)
        try:
            socket.send_fds(handoff, [b"j"], [job_fd])
        finally:
            handoff.close()
            os.close(job_fd)
        self.children[pidfd] = (token, pid)
        _send(self.control, SPAWNED, token, pid, 0)

    def reap(self, pidfd: int) -> None:
        token, pid = self.children.pop(pidfd)
        self.selector.unregister(pidfd)
        os.close(pidfd)
        self.spares = [spare for spare in self.spares if spare[0] != pid]
        _, status = os.waitpid(pid, 0)
        if token:
            _send(self.control, EXITED, token, pid, status)

    def kill_all(self) -> None:
        for _token, pid in self.children.values():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def serve(control: socket.socket, preload: tuple[str, ...]) -> None:
    forker = _Forker(control)
    pending = list(preload)
    try:
        while True:
            if not forker.spares:
                forker.fork_spare()
            # refill the second spare only once the job just handed out had the CPU a
            # moment, so its fork does not compete with that job's start
            wait = 0.0 if pending else REFILL_DELAY_S if len(forker.spares) < SPARES else None
            events = forker.selector.select(wait)
            if not events and pending:
                _preload_one(pending)  # between forks, in the only thread: safe
            elif not events and wait is not None:
                forker.fork_spare()
            for key, _ in events:
                if key.data is not None:
                    forker.reap(key.fd)
                    continue
                data, fds, _flags, _addr = socket.recv_fds(control, MESSAGE.size, 1)
                if not data:
                    return  # the worker went away
                kind, token, _pid, _status = MESSAGE.unpack(data)
                if kind == SPAWN and len(fds) == 1:
                    forker.spawn(token, fds[0])
                else:
                    for fd in fds:
                        os.close(fd)
    finally:
        forker.kill_all()


def main() -> int:
    control = socket.socket(fileno=int(sys.argv[1]))
    preload = PRELOADS[sys.argv[2]]
    faulthandler.enable()  # a crashing child leaves its Python stack in the worker's log
    try:
        serve(control, preload)
    except (BrokenPipeError, ConnectionResetError):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
