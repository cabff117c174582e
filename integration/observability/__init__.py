"""Observability: Prometheus `/metrics`, decision logs, and the OpenAPI description.

Importing this package first settles prometheus-client's multiprocess mode (see
`multiproc`), so it must be imported before anything else imports prometheus_client.
The rest of Flowkeeper calls `integration.observability.record` (one line per fact);
the app factory calls `init_app(app, env)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from integration.observability import multiproc

multiproc.prepare()

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask, env: Mapping[str, str] | None = None) -> None:
    """Register `/metrics` and `/openapi.yaml`, time webhooks, and bind the figures to Redis."""
    from integration.observability import record
    from integration.observability.figures import MemoryFigures, RedisFigures
    from integration.observability.web import init_app as init_web

    init_web(app, env)
    services = app.extensions["flowkeeper"].services
    current = record.figures()
    if services.redis is None:
        if not isinstance(current, MemoryFigures):
            record.use_figures(MemoryFigures())  # the embedded default: jobs run in this process
    elif not (isinstance(current, RedisFigures) and current.connection is services.redis):
        record.use_figures(RedisFigures(services.redis))
