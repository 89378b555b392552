"""Start one worker process: ``python -m workers.run --queues interactive``.

Reads the settings, sets up the broker and the runtime, then imports the actors
(so nothing is configured at import time), and consumes the chosen queues until
SIGTERM/SIGINT. One process per queue group keeps interactive statements away from
long provisioning and snapshot jobs; idle consumers wake on a doorbell
(``workers/broker.py``) instead of Dramatiq's polling back-off. A worker that runs user
work starts its statement-process zygote (``workers/isolation``) at once, so the first
job does not wait for the engines to be imported.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

import dramatiq
from dramatiq import Worker

from orchestrator.config.process_signals import configure_logging, stop_on_signals
from orchestrator.config.settings import Settings
from orchestrator.jobs.broker import make_broker
from orchestrator.jobs.client import BACKGROUND, INTERACTIVE, PROVISION, QUEUES
from orchestrator.jobs.heartbeat import Heartbeat, provisioner_publisher
from workers import runtime
from workers.control import CancelListener
from workers.isolation.runner import StatementProcesses

#: queues whose jobs run user work, in statement processes (``workers/isolation``)
USER_WORK_QUEUES = {INTERACTIVE, BACKGROUND}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dbplay-worker")
    parser.add_argument("--queues", nargs="+", choices=QUEUES, default=list(QUEUES))
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)

    settings = Settings.load()
    configure_logging()
    broker = make_broker(settings, worker=True)
    dramatiq.set_broker(broker)
    rt = runtime.init(settings, watch_events=PROVISION in args.queues)
    if set(args.queues) & USER_WORK_QUEUES:
        rt.statements.start()  # the zygote imports the engines while the worker starts
        abi = rt.statements.landlock_abi()
        logging.getLogger("workers").info(
            "statement processes: landlock %s", f"on (ABI {abi})" if abi else
            "off (the kernel has none; environment, umask and memory fences only)")
    import workers.actors  # noqa: F401 - declares the actors on the broker

    worker = Worker(broker, queues=set(args.queues), worker_timeout=settings.worker_timeout_ms,
                    worker_threads=args.threads or settings.worker_threads)
    listener = CancelListener(rt)
    def describe() -> dict[str, Any]:
        # the kernel's Landlock ABI, for `dbplay status`: 0 means statement processes run
        # without the filesystem and network fence (the other fences still apply)
        return {**rt.provisioners.info(), "landlock": StatementProcesses.landlock_abi()}

    publish = provisioner_publisher(describe) if PROVISION in args.queues else None
    heartbeat = Heartbeat(rt.redis, args.queues, publish)
    stop = stop_on_signals()
    worker.start()
    listener.start()
    heartbeat.start()
    logging.getLogger("workers").info("worker up: queues=%s", args.queues)
    stop.wait()
    heartbeat.stop()
    listener.stop()
    worker.stop(timeout=10_000)
    broker.close()
    rt.statements.stop()
    rt.db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
