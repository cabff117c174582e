"""`flowkeeper serve`: gunicorn with Redis; on the embedded default, one process does it all."""

from __future__ import annotations

import logging
import os
import sys

from integration.observability.multiproc import folder_for_gunicorn
from integration.settings import Settings, child_environment
from integration.settings_metrics import MULTIPROC_VARIABLE
from integration.store.kept_start import fill_missing
from integration.store.migrate import is_current, upgrade

log = logging.getLogger("flowkeeper.serve")


def serve(settings: Settings, host: str, port: int, workers: int | None) -> int:
    if not settings.redis_url:
        return _serve_embedded(settings, host, port)
    from integration.store.db import make_engine

    engine = make_engine(settings.database_url)
    if not is_current(engine):
        print("flowkeeper: the database has no schema yet: run `flowkeeper db upgrade` first", file=sys.stderr)
        return 2
    fill_missing(engine)  # kept report figures an upgrade brought in empty, once, before the web processes
    engine.dispose()
    from integration.queue import redis_connection
    from integration.redis_persistence import warn_without_persistence

    warn_without_persistence(redis_connection(settings.redis_url))
    count = str(workers or settings.serve.web_concurrency)
    argv = [sys.executable, "-m", "gunicorn", "--workers", count, "--bind", f"{host}:{port}",
            "--access-logfile", "-", "--graceful-timeout", "20", "integration.wsgi:app"]
    folder = folder_for_gunicorn(settings.metrics, master_pid=os.getpid())  # exec keeps this process id
    os.execve(sys.executable, argv, child_environment({MULTIPROC_VARIABLE: str(folder)}))
    return 0  # not reached


def _serve_embedded(settings: Settings, host: str, port: int) -> int:
    """SQLite (or DATABASE_URL), jobs in-process from the deliveries table, Flask's server."""
    from integration.app import create_app
    from integration.clock.embedded import EmbeddedScheduler
    from integration.heap import settle_heap
    from integration.runner import EmbeddedRunner
    from integration.services import build_services, describe

    upgrade(settings.database_url)
    services = build_services(settings)
    fill_missing(services.store.engine)
    runner, scheduler = EmbeddedRunner(services), EmbeddedScheduler(services)
    runner.start()
    scheduler.start()
    log.info("flowkeeper.start", extra={"mode": "embedded", "port": port, **describe(services)})
    app = create_app(services=services)
    settle_heap()
    try:
        app.run(host=host, port=port, threaded=True, use_reloader=False)
    finally:
        scheduler.stop()
        runner.stop()
    return 0
