"""`flowkeeper serve`: gunicorn with Redis; on the embedded default, one process does it all."""

from __future__ import annotations

import logging
import os
import sys

from integration.settings import Settings
from integration.store.migrate import is_current, upgrade

log = logging.getLogger("flowkeeper.serve")


def serve(settings: Settings, host: str, port: int, workers: int | None) -> int:
    if not settings.redis_url:
        return _serve_embedded(settings, host, port)
    from integration.store.db import make_engine

    if not is_current(make_engine(settings.database_url)):
        print("flowkeeper: the database has no schema yet: run `flowkeeper db upgrade` first", file=sys.stderr)
        return 2
    count = str(workers or int(os.environ.get("WEB_CONCURRENCY", "2")))
    argv = [sys.executable, "-m", "gunicorn", "--workers", count, "--bind", f"{host}:{port}",
            "--access-logfile", "-", "--graceful-timeout", "20", "integration.wsgi:app"]
    os.execv(sys.executable, argv)
    return 0  # not reached


def _serve_embedded(settings: Settings, host: str, port: int) -> int:
    """SQLite (or DATABASE_URL), jobs in-process from the deliveries table, Flask's server."""
    from integration.app import create_app
    from integration.runner import EmbeddedRunner
    from integration.services import build_services, describe
    from integration.sweeps.embedded import EmbeddedScheduler

    upgrade(settings.database_url)
    services = build_services(settings)
    runner, scheduler = EmbeddedRunner(services), EmbeddedScheduler(services)
    runner.start()
    scheduler.start()
    log.info("flowkeeper.start", extra={"mode": "embedded", "port": port, **describe(services)})
    app = create_app(services=services)
    try:
        app.run(host=host, port=port, threaded=True, use_reloader=False)
    finally:
        scheduler.stop()
        runner.stop()
    return 0
