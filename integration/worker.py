"""`flowkeeper worker`: RQ's worker on REDIS_URL, with its scheduler so retry intervals fire.

The default is RQ's SimpleWorker (no fork per job: several times the throughput); a job
is still retried after a crash, because every job carries a `Retry` and RQ's
maintenance hands abandoned jobs back. `--fork` runs RQ's classic fork-per-job worker.
"""

from __future__ import annotations

import os
import sys

from rq import SimpleWorker, Worker

from integration.jobs import use_services
from integration.observability import bind_figures
from integration.queue import QUEUE_NAME
from integration.services import build_services
from integration.settings import Settings


def run_worker(settings: Settings, burst: bool = False, fork: bool = False) -> int:
    if not settings.redis_url:
        print("flowkeeper: `worker` needs REDIS_URL (without it, `serve` runs jobs in-process)", file=sys.stderr)
        return 2
    services = build_services(settings)
    use_services(services)
    bind_figures(services.redis)
    assert services.redis is not None
    if fork:  # a forked job must not share the parent's database connections
        os.register_at_fork(after_in_child=lambda: services.store.engine.dispose(close=False))
    worker_class = Worker if fork else SimpleWorker
    worker = worker_class([QUEUE_NAME], connection=services.redis)
    worker.work(with_scheduler=True, burst=burst, logging_level="INFO")
    return 0
