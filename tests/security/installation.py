"""A whole installation started the way a user starts it: ``dbplay up --detach``.

Unlike :class:`tests.orchestrator.conftest.Stack` (which starts Redis and the services from
the test process), everything here is started by the real command, so what it proves about
listening addresses, setup codes and file modes holds for ``dbplay up`` itself.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.servers import free_port

REPO = Path(__file__).resolve().parents[2]


class Installation:
    def __init__(self, home: Path, **env: str) -> None:
        self.home = home
        self.ui_port = free_port()
        self.redis_port = free_port()
        self.env = {**os.environ, "DBPLAY_HOME": str(home),
                    "DBPLAY_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
                    "DBPLAY_UI_PORT": str(self.ui_port), "DBPLAY_PROVISIONER": "local",
                    "DBPLAY_API_PORT": str(free_port()),
                    "DBPLAY_HEARTBEAT_TIMEOUT_MS": "3000", "DBPLAY_WORKER_THREADS": "2",
                    "DBPLAY_REAP_INTERVAL": "3600", "DBPLAY_POOL_SIZE": "0", **env}
        self.up_output: dict[str, Any] = {}
        #: what a test module's fixture made in it (ids of sandboxes and the like)
        self.made: dict[str, str] = {}

    def dbplay(self, *args: str, stdin: str | None = None,
               timeout: float = 240) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], env=self.env,
                              cwd=REPO, capture_output=True, text=True, input=stdin,
                              timeout=timeout)

    def dbplay_json(self, *args: str, stdin: str | None = None) -> tuple[int, Any]:
        proc = self.dbplay("--json", *args, stdin=stdin)
        return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else None

    def up(self, ui: bool = True) -> Installation:
        proc = self.dbplay("--json", "up", "--detach", *([] if ui else ["--no-ui"]))
        assert proc.returncode == 0, (proc.stdout, proc.stderr)
        self.up_output = json.loads(proc.stdout)
        if ui:
            self.wait_for_ui()
        return self

    def wait_for_ui(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                url = f"http://127.0.0.1:{self.ui_port}/_stcore/health"
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.read().strip() == b"ok":
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                log = self.home / "logs" / "ui.log"
                raise AssertionError(f"the UI did not answer: {log.read_text()[-2000:]}")
            time.sleep(0.3)

    def down(self) -> None:
        self.dbplay("down")


def listening(port: int) -> list[str]:
    """Every address a TCP socket listens on at ``port`` (from /proc/net/tcp and tcp6)."""
    found = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.append(_address(address, width))
    return found


def _address(hex_address: str, width: int) -> str:
    raw = bytes.fromhex(hex_address)
    if width == 8:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words)


def non_loopback_addresses() -> list[str]:
    """This machine's IPv4 addresses that are not loopback (``ip``, else the address of
    the default route); empty when it has none."""
    found: list[str] = []
    try:
        lines = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True,
                               check=True).stdout.splitlines()
        found = [line.split()[3].split("/")[0] for line in lines]
    except (OSError, subprocess.CalledProcessError):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.connect(("192.0.2.1", 9))  # TEST-NET-1: no packet is sent
                found = [probe.getsockname()[0]]
            except OSError:
                pass
    return [a for a in found if not a.startswith("127.") and a != "0.0.0.0"]


def connect_refused(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=3):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:  # unreachable or filtered: not reachable either
        return True
