"""Watching Docker's event stream for sandboxes that die or run out of memory."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from orchestrator.provisioning import EventCallback

log = logging.getLogger(__name__)

#: Docker event action -> the event name the orchestrator sees
_ACTIONS = {"die": "died", "oom": "oom"}


class EventWatcher:
    """A daemon thread that reads ``client.events`` for containers labelled
    ``dbplay.sandbox`` and calls ``on_event(sandbox_id, "died"|"oom", reason)``.

    Deaths the provisioner causes itself (``destroy``, reaping) are announced with
    :meth:`expect_death` and not reported."""

    def __init__(self, client: Any, on_event: EventCallback,
                 sandbox_id_of: Callable[[str, dict[str, str]], str | None],
                 instance: str) -> None:
        self.instance = instance
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
        if kind == "oom":
            reason = "out of memory: a process was killed at the sandbox's memory limit"
        else:
            reason = f"container exited with code {attributes.get('exitCode', '?')}"
        try:
            self.on_event(sandbox_id, kind, reason)
        except Exception:
            log.exception("sandbox event callback failed for %s", sandbox_id)

    def stop(self) -> None:
        self._stopping.set()
        stream = self._stream
        if stream is not None:
            try:
                stream.close()
            except Exception:
                pass
        self._thread.join(timeout=5)
