"""`GET /healthz`: is the database reachable, is the queue reachable, is there disk left. 503 when not."""

from __future__ import annotations

import shutil
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from integration.queue import QueueUnavailable
from integration.store.db import sqlite_folder

MIN_FREE_BYTES = 50 * 1024 * 1024  # below this a SQLite store soon refuses writes: deliveries get 503


def free_bytes(folder: Path) -> int:
    return shutil.disk_usage(folder).free


def disk_check(database_url: str) -> str | None:
    """'ok' or why not, for a SQLite file's disk; None where Flowkeeper cannot see the disk (PostgreSQL)."""
    folder = sqlite_folder(database_url)
    if folder is None:
        return None
    try:
        free = free_bytes(folder)
    except OSError as error:
        return f"unavailable ({type(error).__name__})"
    if free < MIN_FREE_BYTES:
        return f"full ({free // (1024 * 1024)} MB free; deliveries cannot be stored)"
    return "ok"

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
    if (disk := disk_check(services.settings.database_url)) is not None:
        checks["disk"] = disk
    healthy = all(v == "ok" for v in checks.values())
    response = jsonify({"status": "ok" if healthy else "unavailable", **checks})
    response.status_code = 200 if healthy else 503
    return response
