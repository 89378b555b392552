"""A loopback TCP forwarder: 127.0.0.1:<port> -> a sandbox's address on its network.

Sandboxes live on an internal Docker network, where Docker cannot publish ports; the
host reaches their addresses directly, so the provisioner forwards a loopback port in
a detached process when an owner asks for a connection string (``publish``). The
forwarder lives until the sandbox is destroyed (or the machine restarts).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path


class LoopbackForwarder:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self._closed = threading.Event()
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name=f"dbplay-forward-{self.port}",
                         daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns.update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
                with self._lock:
                    self._conns.discard(sock)

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)  # wakes the accept() call
        self._server.close()
        with self._lock:
            conns = list(self._conns)
        for sock in conns:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class ForwarderProcesses:
    """Forwarders that outlive the process asking for them (the CLI exits at once).

    Each runs as a detached
    ``python -m orchestrator.sandboxes.docker.port_forward HOST PORT`` process;
    its pid and port are kept in ``<directory>/<sandbox id>.json`` so any process of
    this installation can reuse or stop it.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _record(self, sandbox_id: str) -> Path:
        return self.directory / f"{sandbox_id}.json"

    def open(self, sandbox_id: str, host: str, port: int) -> int:
        """The loopback port forwarding to ``host:port``, starting a forwarder if needed."""
        record = self._record(sandbox_id)
        if record.exists():
            data = json.loads(record.read_text())
            if _alive(data["pid"]) and data["target"] == [host, port]:
                return int(data["port"])
            self.close(sandbox_id)
        self.directory.mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen(
            [sys.executable, "-m", "orchestrator.sandboxes.docker.port_forward", host, str(port)],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        proc.stdout.close()
        if not line.isdigit():
            proc.kill()
            raise OSError(f"port forwarder for {host}:{port} did not start")
        record.write_text(json.dumps({"pid": proc.pid, "port": int(line),
                                      "target": [host, port]}))
        return int(line)

    def close(self, sandbox_id: str) -> None:
        record = self._record(sandbox_id)
        try:
            data = json.loads(record.read_text())
        except (OSError, ValueError):
            return
        with contextlib.suppress(OSError):
            os.kill(int(data["pid"]), signal.SIGTERM)
        record.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def main(argv: list[str] | None = None) -> None:
    """Serve one forwarder until killed; prints the loopback port on its first line."""
    host, port = (argv or sys.argv[1:])[:2]
    forwarder = LoopbackForwarder(host, int(port))
    print(forwarder.port, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    forwarder.close()


if __name__ == "__main__":
    main()
