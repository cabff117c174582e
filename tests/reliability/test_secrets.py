"""Configured secrets appear in no log line, page, error or audit entry.

The hardest case: a tracker that answers every write with an error echoing the request
back, Authorization header included (some proxies and gateways do). The raw API token,
its Basic-auth form and every other secret must still be nowhere a person could read.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from integration.app import create_app
from integration.executor import RetryLater
from integration.logs import configure
from integration.settings import load_settings
from integration.store.audit import AuditFilter
from integration.trackers.base import TrackerError
from tests.foundation.helpers import MINIMAL_RULES
from tests.foundation.test_pipeline import unassigned_in_progress
from tests.services import MakeServices

JIRA_TOKEN = "jira-TOKEN-abc123XYZ-secret"
JIRA_USER = "bot@acme.test"
LINEAR_KEY = "lin_api_SECRETKEY987654321"
SECRETS = {
    "JIRA_API_TOKEN": JIRA_TOKEN,
    "LINEAR_API_KEY": LINEAR_KEY,
    "JIRA_WEBHOOK_SECRET": "jira-hook-SECRET-1",
    "LINEAR_WEBHOOK_SECRET": "lin_wh_SECRET_2",
    "ADMIN_PASSWORD": "admin-PASSWORD-3",
    "SECRET_KEY": "session-KEY-4-" * 3,
}
BASIC = base64.b64encode(f"{JIRA_USER}:{JIRA_TOKEN}".encode()).decode()
FORBIDDEN = [*SECRETS.values(), BASIC]


def echo_tracker() -> Flask:
    """Answers reads normally, and every write with an error that repeats the request back."""
    app = Flask("echo")

    def echoed() -> list[str]:
        return [f"{k}: {v}" for k, v in request.headers.items()] + [request.get_data(as_text=True)[:500]]

    @app.get("/rest/api/3/myself")
    def myself() -> Any:
        return jsonify({"accountId": "acc-bot", "displayName": "Flowkeeper", "accountType": "atlassian"})

    @app.get("/rest/api/3/issue/<key>/comment")
    def comments(key: str) -> Any:
        return jsonify({"startAt": 0, "maxResults": 50, "total": 0, "comments": []})

    @app.route("/rest/api/3/<path:rest>", methods=["POST", "PUT"])
    def write(rest: str) -> Any:
        return jsonify(
            {"errorMessages": echoed(), "errors": {"Authorization": request.headers.get("Authorization")}}
        ), 400

    @app.post("/graphql")
    def graphql() -> Any:
        return jsonify(
            {
                "data": None,
                "errors": [
                    {
                        "message": "bad request: " + " | ".join(echoed()),
                        "extensions": {"code": "INVALID_INPUT"},
                    }
                ],
            }
        )

    return app


@pytest.fixture
def echo_url() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, echo_tracker(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def env(db_url: str, echo_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": db_url,
        "RULES_DIR": str(MINIMAL_RULES),
        "JIRA_URL": echo_url,
        "JIRA_USER": JIRA_USER,
        "LINEAR_API_URL": f"{echo_url}/graphql",
        "FLOWKEEPER_DRY_RUN": "0",
        **SECRETS,
    }


@pytest.fixture
def log_lines(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> Iterator[io.StringIO]:
    """Everything Flowkeeper logs, configured as production does (JSON, secrets scrubbed)."""
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    configure("json", load_settings(env).secrets(), level=logging.DEBUG)
    captured = io.StringIO()
    yield captured
    captured.write(capsys.readouterr().err)
    root.handlers[:], root.level = saved[0], saved[1]


def assert_clean(where: str, text: str) -> None:
    for secret in FORBIDDEN:
        assert secret not in text, f"a secret ({secret[:6]}…) appears in {where}"


def test_a_tracker_echoing_requests_leaks_no_secret(
    env: dict[str, str], log_lines: io.StringIO, capsys: pytest.CaptureFixture[str], make_services: MakeServices
) -> None:
    services = make_services(env)
    pipeline = services.pipeline()
    errors: list[str] = []
    try:
        pipeline.handle(unassigned_in_progress("secret-1"))
    except (RetryLater, TrackerError) as error:
        errors.append(f"{error!r} {error.__cause__!r}")
    try:
        services.clients["linear"].get_item("ENG-1")
    except TrackerError as error:
        errors.append(f"{error} {error!r}")
    entries = services.store.audit.page(AuditFilter(), limit=500)
    assert any(e.outcome.value == "failed" for e in entries), "the echoing tracker refused the writes"
    assert any("Authorization" in e.reason for e in entries), "the echo reached the audit reason"
    assert_clean("an audit entry", json.dumps([[e.reason, dict(e.detail)] for e in entries]))
    assert_clean("an error", "\n".join(errors))

    app = create_app(env)
    admin = app.test_client()
    page = admin.get("/admin/login").get_data(as_text=True)
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    assert (
        admin.post(
            "/admin/login", data={"password": SECRETS["ADMIN_PASSWORD"], "csrf_token": token}
        ).status_code
        == 302
    )
    admin.post("/admin/connections/linear/test", data={"csrf_token": token})
    for path in (
        "/admin/",
        "/admin/audit",
        "/admin/audit.json",
        "/admin/audit.csv",
        "/admin/jobs",
        "/admin/jobs.json",
        "/admin/overview.json",
        "/admin/rules.json",
        "/admin/setup",
        "/healthz",
        "/metrics",
    ):
        response = admin.get(path)
        assert response.status_code < 500, path
        assert_clean(f"the page {path}", response.get_data(as_text=True))
    assert list(csv.reader(io.StringIO(admin.get("/admin/audit.csv").get_data(as_text=True))))[1:], (
        "entries exported"
    )

    logging.getLogger("flowkeeper.test").warning("settings in a log line: %r", load_settings(env))
    logged = log_lines.getvalue() + capsys.readouterr().err
    assert "decision.failed" in logged, "the failed decisions were logged"
    assert_clean("a log line", logged)


def test_settings_never_print_their_secrets(env: dict[str, str], tmp_path: Path) -> None:
    settings = load_settings(env)
    assert_clean("repr(settings)", repr(settings) + str(settings))
