"""`GET /metrics` and `GET /openapi.yaml`, and the webhook counters of the web process.

Webhook answers are counted by the web process itself (prometheus-client, in
multiprocess mode under gunicorn so every worker's counts add up); everything else is
read at scrape time by `ScrapeCollector`. `/metrics` may be limited to callers that
send `Authorization: Bearer $FLOWKEEPER_METRICS_TOKEN` (the metrics section of the settings).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

from integration.observability.collector import ScrapeCollector

ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

WEB_REGISTRY = CollectorRegistry(auto_describe=True)
WEBHOOKS = Counter(
    "flowkeeper_webhooks",
    "Webhook deliveries answered, by tracker and outcome "
    "(queued, duplicate, ignored, malformed, bad_signature, stale, too_large, unavailable, …).",
    ["tracker", "outcome"],
    registry=WEB_REGISTRY,
)
ACK_SECONDS = Histogram(
    "flowkeeper_webhook_ack_seconds",
    "Time from receiving a webhook to answering it.",
    ["tracker"],
    buckets=ACK_BUCKETS,
    registry=WEB_REGISTRY,
)

blueprint = Blueprint("observability", __name__)


def init_app(app: Flask) -> None:
    """Register `/metrics` and `/openapi.yaml`."""
    app.register_blueprint(blueprint)


def count_webhook(tracker: str, outcome: str, seconds: float) -> None:
    """One answered delivery: its outcome (the receiver's, else `http_<status>`) and the time to answer it."""
    _counter(tracker, outcome).inc()
    _ack_seconds(tracker).observe(seconds)


@cache
def _counter(tracker: str, outcome: str) -> Any:
    """The answered-webhooks counter of one tracker and outcome (a fixed, short list of each)."""
    return WEBHOOKS.labels(tracker, outcome[:40])


@cache
def _ack_seconds(tracker: str) -> Any:
    return ACK_SECONDS.labels(tracker)


class _WebMetrics:
    """This process's own webhook metrics (single-process mode)."""

    def collect(self) -> Iterator[Metric]:
        yield from WEB_REGISTRY.collect()


def scrape_registry(services: Any) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    folder = services.settings.metrics.multiproc_dir
    if folder is not None:  # gunicorn's workers: add up every worker's files
        MultiProcessCollector(registry, path=str(folder))
    else:
        registry.register(_WebMetrics())  # type: ignore[arg-type]
    registry.register(ScrapeCollector(services))  # type: ignore[arg-type]
    return registry


def _authorized(token: str) -> bool:
    if not token:
        return True
    given = request.headers.get("Authorization", "")
    scheme, _, value = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


@blueprint.get("/metrics")
def metrics() -> Response:
    services = current_app.extensions["flowkeeper"].services
    if not _authorized(services.settings.metrics.token.reveal()):
        response = Response(
            "metrics need Authorization: Bearer <FLOWKEEPER_METRICS_TOKEN>\n",
            status=401,
            mimetype="text/plain",
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="flowkeeper-metrics"'
        return response
    return Response(generate_latest(scrape_registry(services)), mimetype=CONTENT_TYPE_LATEST)


@blueprint.get("/openapi.yaml")
def openapi() -> Response:
    text = resources.files("integration").joinpath("openapi.yaml").read_text(encoding="utf-8")
    return Response(text, mimetype="application/yaml")
