"""`GET /healthz`: is the database reachable, is the queue reachable. 503 when not."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from integration.queue import QueueUnavailable

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> Response:
    services = current_app.extensions["flowkeeper"].services
    checks: dict[str, str] = {}
    try:
        services.store.ping()
        checks["database"] = "ok"
    except SQLAlchemyError as error:
        checks["database"] = f"unavailable ({type(error).__name__})"
    try:
        services.queue.ping()
        checks["queue"] = "ok"
    except QueueUnavailable as error:
        checks["queue"] = f"unavailable ({error})"
    healthy = all(v == "ok" for v in checks.values())
    response = jsonify({"status": "ok" if healthy else "unavailable", **checks})
    response.status_code = 200 if healthy else 503
    return response
