"""The local provisioner's keeper: a daemon thread in the process that tracks sandbox
health (the provision worker) which, every ``interval_s``,

* stops a PostgreSQL or MongoDB sandbox whose server directory grew past its storage
  cap (what its template took plus ``storage_bytes``, like the Docker provisioner's
  1 GiB on top of the image), records the reason in the registry (``halted``) and
  reports it (``on_event(sandbox_id, "died", reason)``: the sandbox is marked failed
  and can be reset);
* starts again the server of a sandbox that is not halted but does not run (after
  ``dbplay down`` / ``up``, or a crash), on its own port.

A soft cap, like Docker's StorageGuard: a sandbox can overshoot by what it writes in
one interval; PostgreSQL's ``temp_file_limit`` bounds its temporary files.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class LocalKeeper:
    """Runs ``check()`` every ``interval_s`` seconds in a daemon thread."""

    def __init__(self, check: Callable[[], object], interval_s: float) -> None:
        self.check = check
        self.interval_s = interval_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dbplay-local-keeper",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                self.check()
            except Exception:
                log.exception("local sandbox check failed")
            if self._stopping.wait(self.interval_s):
                return

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)


def over_cap_reason(used: int, base: int, cap: int) -> str:
    return (f"stopped: wrote {(used - base) / 2**20:.0f} MiB, over its storage cap of "
            f"{cap / 2**20:.0f} MiB")
