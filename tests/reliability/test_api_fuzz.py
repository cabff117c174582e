"""Schemathesis against Flowkeeper's own OpenAPI description: no 500, ever; no 503 while all is up.

Runs twice: with webhook secrets (fuzzed requests stop at the signature guard, as an
attacker's would) and with unsigned webhooks allowed (every fuzzed body reaches the
parser and the normalizers). The admin JSON views are called logged in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings

from integration.app import create_app
from integration.store.audit import AuditEntry, Outcome
from tests.foundation.helpers import MINIMAL_RULES

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis comes with the test extra: .[test]")
checks = schemathesis.checks

PASSWORD = "fuzz-admin-password-1"
EXAMPLES = 40
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance]


@pytest.fixture(params=["signed", "unsigned"])
def fuzz_app(request: pytest.FixtureRequest, tmp_path: Path, db_url: str, redis_url: str) -> Iterator[Flask]:
    env = {
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "RULES_DIR": str(MINIMAL_RULES),
        "ADMIN_PASSWORD": PASSWORD,
        "SECRET_KEY": "fuzz-secret-key-0123456789abcdef",
    }
    if request.param == "signed":
        env |= {"JIRA_WEBHOOK_SECRET": "jira-fuzz-secret", "LINEAR_WEBHOOK_SECRET": "linear-fuzz-secret"}
    else:
        env |= {"FLOWKEEPER_ALLOW_UNSIGNED": "1"}
    app = create_app(env)
    app.extensions["flowkeeper"].services.store.audit.record(
        [
            AuditEntry(
                at=datetime.now(UTC),
                tracker="jira",
                action="comment",
                outcome=Outcome.WOULD_DO,
                reason="dry run: fuzz",
                item_key="KAN-1",
                rule="started-without-assignee",
                delivery_id="d-fuzz",
            )
        ]
    )
    yield app
    app.extensions["flowkeeper"].services.store.engine.dispose()


@pytest.fixture
def session_cookie(fuzz_app: Flask) -> str:
    client = fuzz_app.test_client()
    page = client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert token, "the login page carries its CSRF token"
    answer = client.post("/admin/login", data={"password": PASSWORD, "csrf_token": token.group(1)})
    assert answer.status_code == 302
    cookie = client.get_cookie(fuzz_app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return cookie.value


def operations(app: Flask) -> list[Any]:
    schema = schemathesis.openapi.from_wsgi("/openapi.yaml", app)
    return [result.ok() for result in schema.get_all_operations()]


def test_the_description_covers_the_public_surface(fuzz_app: Flask) -> None:
    described = {(op.method.upper(), op.path) for op in operations(fuzz_app)}
    assert {
        ("POST", "/webhooks/jira"),
        ("POST", "/webhooks/linear"),
        ("OPTIONS", "/webhooks/jira"),
        ("OPTIONS", "/webhooks/linear"),
        ("GET", "/healthz"),
        ("GET", "/metrics"),
        ("GET", "/admin/audit.json"),
    } <= described


def test_no_server_error_and_answers_match_the_description(fuzz_app: Flask, session_cookie: str) -> None:
    """Every operation, fuzzed: a defined answer that matches the description, never a 500 or a 503."""
    for operation in operations(fuzz_app):

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def run(case: Any) -> None:
            response = case.call(cookies={fuzz_app.config["SESSION_COOKIE_NAME"]: session_cookie})
            case.validate_response(response, checks=CHECKS)
            assert response.status_code != 503, (
                f"503 while Redis and the database are up: {response.text[:300]}"
            )

        run()
