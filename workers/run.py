"""Start one worker process: ``python -m workers.run --queues interactive``.

Reads the settings, sets up the broker and the runtime, then imports the actors
(so nothing is configured at import time), and consumes the chosen queues until
SIGTERM/SIGINT. One process per queue group keeps interactive statements away from
long provisioning and snapshot jobs; idle consumers wake on a doorbell
(``workers/broker.py``) instead of Dramatiq's polling back-off.
"""

from __future__ import annotations

import argparse
import logging
import sys

import dramatiq
from dramatiq import Worker

from orchestrator.jobs import PROVISION, QUEUES
from orchestrator.process_signals import configure_logging, stop_on_signals
from orchestrator.settings import Settings
from workers import runtime
from workers.broker import make_broker
from workers.control import CancelListener
from workers.heartbeat import Heartbeat, provisioner_publisher


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
    import workers.actors  # noqa: F401 - declares the actors on the broker

    worker = Worker(broker, queues=set(args.queues), worker_timeout=settings.worker_timeout_ms,
                    worker_threads=args.threads or settings.worker_threads)
    listener = CancelListener(rt)
    publish = provisioner_publisher(rt.provisioners.info) if PROVISION in args.queues else None
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
    rt.db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
