"""Process plumbing shared by the local provisioner's servers: free ports, pids,
readiness polling, inter-process file locks, small private JSON state files and the
resource limits a server process starts under."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engines.errors import ProvisionError
from engines.registry import connect
from orchestrator.config.file_modes import write_private

STOP_DEADLINE_S = 30.0


class PortTaken(ProvisionError):
    """The port a server was to listen on is in use."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_on_a_free_port(start: Callable[[int], None], attempts: int = 5) -> int:
    """``start(port)`` on a free port, trying another one while the chosen port was
    taken between choosing and listening; returns the port."""
    for _ in range(attempts - 1):
        port = free_port()
        try:
            start(port)
        except PortTaken:
            continue
        return port
    port = free_port()
    start(port)
    return port


def port_is_free(port: int) -> bool:
    """Whether a server could listen on ``port`` (connections of a stopped server
    lingering in TIME_WAIT do not count: servers bind with SO_REUSEADDR too)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie child of ours is reaped, and any zombie
    counts as gone)."""
    if pid <= 0:
        return False
    with contextlib.suppress(ChildProcessError, OSError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return not _zombie(pid)
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """True for a process that ended but nobody reaped (its parent, or an init that
    does not reap, such as a container's first process): it is gone all the same."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[:1] == ["Z"]


def answers(kind: str, url: str) -> bool:
    """Whether the database at ``url`` answers the adapter's ping (the one readiness check)."""
    try:
        with connect(kind, url) as engine:
            return engine.ping()
    except Exception:
        return False


def port_open(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port`` (a cheap gate
    before asking a driver, whose server selection may block for seconds)."""
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until(check: Callable[[], bool], deadline_s: float, what: str,
               fail_fast: Callable[[], str | None] | None = None) -> None:
    """Poll ``check`` with a short, growing backoff until it is true or time runs out.

    ``fail_fast`` may return a reason to give up early (the server process died).
    """
    deadline = time.monotonic() + deadline_s
    delay = 0.01
    while True:
        if check():
            return
        reason = fail_fast() if fail_fast is not None else None
        if reason:
            raise ProvisionError(f"{what} failed: {reason}")
        if time.monotonic() >= deadline:
            raise ProvisionError(f"{what} did not succeed within {deadline_s:.0f} s")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomically replace ``path`` with ``data`` as a 0600 file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    write_private(tmp, json.dumps(data, indent=2), exclusive=True)
    os.replace(tmp, path)


def stop_pid(pid: int, sig: int) -> None:
    """Signal ``pid`` and wait until it is gone (``SIGKILL`` after the deadline)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    try:
        wait_until(lambda: not pid_alive(pid), STOP_DEADLINE_S, f"stopping process {pid}")
    except ProvisionError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not pid_alive(pid), 5.0, f"killing process {pid}")


def log_tail(path: Path, lines: int = 8) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


def reachable_by(directory: Path, entry: pwd.struct_passwd) -> bool:
    """Whether the user ``entry`` can traverse every directory down to ``directory``."""
    groups = {entry.pw_gid, *os.getgrouplist(entry.pw_name, entry.pw_gid)}
    path = directory.resolve()
    for part in [path, *path.parents]:
        if not part.exists():
            continue
        st = part.stat()
        if st.st_uid == entry.pw_uid:
            ok = bool(st.st_mode & 0o100)
        elif st.st_gid in groups:
            ok = bool(st.st_mode & 0o010)
        else:
            ok = bool(st.st_mode & 0o001)
        if not ok:
            return False
    return True


def limited(argv: list[str], address_space_bytes: int) -> list[str]:
    """``argv`` run under an address-space limit (``RLIMIT_AS``, inherited by every
    process it forks) and without core dumps, through util-linux ``prlimit``: a
    backend that allocates past it gets "out of memory" instead of eating the host."""
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        raise ProvisionError("prlimit (util-linux) is needed to bound sandbox memory")
    return [prlimit, f"--as={address_space_bytes}", "--core=0", "--", *argv]
