"""Observability: Prometheus `/metrics`, decision logs, and the OpenAPI description.

The rest of Flowkeeper calls `integration.observability.record` (one line per fact).
Each process says once, at its start, where its figures go (`bind_figures`): the app
factory through `init_app(app)`, the worker, the clock and the sweep commands directly.
Whether the web processes share their webhook counts through files is settled before
gunicorn starts (see `multiproc`), so nothing here depends on import order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis
    from flask import Flask


def bind_figures(connection: redis.Redis | None) -> None:
    """Count into Redis when the process has it (seen by every web process), else in memory."""
    from integration.observability import record
    from integration.observability.figures import MemoryFigures, RedisFigures

    current = record.figures()
    if connection is None:
        if not isinstance(current, MemoryFigures):
            record.use_figures(MemoryFigures())  # the embedded default: jobs run in this process
    elif not (isinstance(current, RedisFigures) and current.connection is connection):
        record.use_figures(RedisFigures(connection))


def init_app(app: Flask) -> None:
    """Register `/metrics` and `/openapi.yaml`, time webhooks, and bind the figures to Redis."""
    from integration.observability.web import init_app as init_web

    init_web(app)
    bind_figures(app.extensions["flowkeeper"].services.redis)
