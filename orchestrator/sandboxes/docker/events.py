"""Watching sandboxes: Docker's event stream for those that die or run out of memory, and
their disk use where Docker cannot cap it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from orchestrator.sandboxes.docker.containers import LABEL_STORAGE_CAP, SandboxContainers
from orchestrator.sandboxes.provisioning import EventCallback

log = logging.getLogger(__name__)

#: Docker event action -> the event name the orchestrator sees
_ACTIONS = {"die": "died", "oom": "oom"}
#: event names: a process was killed at the memory limit and the server still runs
#: (``oom``), the container died and Docker is starting it again with its data
#: (``restarting``), the container is gone for good (``died``: the sandbox failed)
USABLE_EVENTS = ("oom", "restarting")


def memory_kill_message(limit_bytes: int) -> str:
    """What the owner reads when a statement was killed at the sandbox's memory limit."""
    limit = f"limit {limit_bytes / 2**20:.0f} MiB" if limit_bytes else "its limit"
    return (f"the statement was stopped: the sandbox ran out of memory ({limit}); "
            "the sandbox is usable")


class EventWatcher:
    """A daemon thread that reads ``client.events`` for containers labelled
    ``dbplay.sandbox`` and calls ``on_event(sandbox_id, "died"|"oom", reason)``.

    Deaths the provisioner causes itself (``destroy``, reaping) are announced with
    :meth:`expect_death` and not reported."""

    def __init__(self, client: Any, on_event: EventCallback,
                 sandbox_id_of: Callable[[str, dict[str, str]], str | None],
                 instance: str,
                 run_state: Callable[[str], tuple[str, int]] | None = None) -> None:
        """``run_state(container_id) -> (status, memory limit)`` tells a container Docker
        restarts (``restarting``) from one that is gone (see
        :meth:`SandboxContainers.run_state`); without it every death fails the sandbox."""
        self.instance = instance
        self.run_state = run_state or (lambda container_id: ("gone", 0))
        self._memory_killed: set[str] = set()
        self.client = client
        self.on_event = on_event
        self.sandbox_id_of = sandbox_id_of
        self._expected: set[str] = set()
        self._lock = threading.Lock()
        self._stream: Any = None
        self._stopping = threading.Event()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dbplay-docker-events",
                                        daemon=True)
        self._thread.start()
        self._started.wait(timeout=10)

    def expect_death(self, container_id: str) -> None:
        with self._lock:
            self._expected.add(container_id)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._stream = self.client.events(
                    decode=True, filters={"type": "container",
                             "label": ["dbplay.sandbox", f"dbplay.instance={self.instance}"]})
                self._started.set()
                for event in self._stream:
                    self._dispatch(event)
            except Exception:
                if self._stopping.is_set():
                    return
                log.exception("docker event stream failed; reconnecting")
                self._stopping.wait(1.0)
            finally:
                self._started.set()

    def _dispatch(self, event: dict[str, Any]) -> None:
        action = str(event.get("Action") or event.get("status") or "")
        kind = _ACTIONS.get(action)
        if kind is None:
            return
        actor = event.get("Actor") or {}
        attributes: dict[str, str] = actor.get("Attributes") or {}
        container_id = str(actor.get("ID") or event.get("id") or "")
        with self._lock:
            if container_id in self._expected:
                if kind == "died":
                    self._expected.discard(container_id)
                return
        sandbox_id = self.sandbox_id_of(attributes.get("name", ""), attributes)
        if sandbox_id is None:
            return
        kind, reason = self._judge(kind, container_id, attributes)
        if not reason:
            return
        try:
            self.on_event(sandbox_id, kind, reason)
        except Exception:
            log.exception("sandbox event callback failed for %s", sandbox_id)

    def _judge(self, kind: str, container_id: str, attributes: dict[str, str]
               ) -> tuple[str, str]:
        """The event to report and its reason ("" to report nothing). A memory kill the
        server survives, or a death Docker restarts from, does not fail the sandbox."""
        status, limit = self.run_state(container_id)
        if kind == "oom":
            with self._lock:
                self._memory_killed.add(container_id)
            if status == "running":
                return "oom", memory_kill_message(limit)
            return kind, ""  # its die event follows and says what became of it
        code = attributes.get("exitCode", "?")
        with self._lock:
            memory = container_id in self._memory_killed
            self._memory_killed.discard(container_id)
        at_limit = f" ({limit / 2**20:.0f} MiB)" if limit else ""
        cause = (f"its server was killed at the memory limit{at_limit}" if memory
                 else f"its server exited with code {code}")
        if status in ("restarting", "running"):
            return "restarting", f"{cause}; it restarts with its data"
        return "died", f"{cause} and was not restarted: reset the sandbox to start again"

    def stop(self) -> None:
        self._stopping.set()
        stream = self._stream
        if stream is not None:
            try:
                stream.close()
            except Exception:
                pass
        self._thread.join(timeout=5)


class StorageGuard:
    """Enforces the per-sandbox storage cap where the storage driver cannot (overlay2 on
    anything but xfs with project quotas): a daemon thread measures each sandbox
    container's writable layer (``SizeRw``) every ``interval_s`` and calls
    ``over_cap(container_id, sandbox_id, reason)`` for one past its
    ``dbplay.storage_cap`` label. A soft cap: a sandbox can overshoot by what it writes
    within one interval (PostgreSQL's ``temp_file_limit`` bounds its temporary files)."""

    def __init__(self, containers: SandboxContainers,
                 sandbox_id_of: Callable[[str, dict[str, str]], str | None],
                 over_cap: Callable[[str, str, str], None], interval_s: float) -> None:
        self.containers = containers
        self.sandbox_id_of = sandbox_id_of
        self.over_cap = over_cap
        self.interval_s = interval_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dbplay-storage-guard",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.wait(self.interval_s):
            try:
                self.check()
            except Exception:
                log.exception("storage check failed")

    def check(self) -> list[str]:
        """One pass; returns the sandbox ids found over their cap."""
        over = []
        for container_id, name, labels, used in self.containers.disk_usage():
            sandbox_id = self.sandbox_id_of(name, labels)
            cap = int(labels.get(LABEL_STORAGE_CAP) or 0)
            if sandbox_id is not None and 0 < cap < used:
                over.append(sandbox_id)
                self.over_cap(container_id, sandbox_id,
                              f"stopped: wrote {used / 2**20:.0f} MiB, over its storage cap "
                              f"of {cap / 2**20:.0f} MiB")
        return over

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
