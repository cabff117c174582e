"""Helpers for the admin tests: the app with a password, logging in, CSRF tokens, payloads."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "admin"
RULES_DIR = FIXTURES / "rules"
PASSWORD = "correct-horse-battery-staple"
SECRET_KEY = "admin-tests-secret-key-0123456789"
JIRA_SECRET = "jira-webhook-secret-admin"
LINEAR_SECRET = "lin_wh_admin_secret"
JIRA_TOKEN = "JIRA-TOKEN-must-never-show"
LINEAR_KEY = "lin_api_KEY_must_never_show"
JIRA_URL = "https://flowkeeper-test.atlassian.net"


# The admin tests post the captured 2024 delivery with its own timestamp (the rules judge
# staleness by it), so its replay bound is long; tests/foundation/test_replays.py tests the bound.
CAPTURED_BODIES_MAX_AGE = str(24 * 365 * 20)


def captured_jira_request(payload: dict[str, Any], **options: Any) -> tuple[bytes, dict[str, str]]:
    """A signed delivery keeping the captured body's own `timestamp`."""
    from tests.foundation.helpers import jira_request

    return jira_request(payload, timestamp_ms=payload["timestamp"], **options)


def base_env(db_url: str, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": db_url,
        "RULES_DIR": str(RULES_DIR),
        "ADMIN_PASSWORD": PASSWORD,
        "SECRET_KEY": SECRET_KEY,
        "JIRA_WEBHOOK_SECRET": JIRA_SECRET,
        "LINEAR_WEBHOOK_SECRET": LINEAR_SECRET,
        "FLOWKEEPER_WEBHOOK_MAX_AGE": CAPTURED_BODIES_MAX_AGE,
        **extra,
    }


def csrf_of(client: FlaskClient) -> str:
    """The session's CSRF token (a GET of any admin page creates it)."""
    with client.session_transaction() as session:
        token = session.get("fk_csrf")
    if not token:
        page = client.get("/admin/login").get_data(as_text=True)
        match = re.search(r'name="csrf-token" content="([^"]+)"', page)
        assert match, "the login page carries a CSRF token"
        return match.group(1)
    return str(token)


def login(client: FlaskClient, password: str = PASSWORD) -> Any:
    client.get("/admin/login")
    return client.post("/admin/login", data={"password": password, "csrf_token": csrf_of(client)})


def post(client: FlaskClient, path: str, **data: str) -> Any:
    """A form POST carrying the session's CSRF token, as the pages' own forms do."""
    return client.post(path, data={"csrf_token": csrf_of(client), **data})


def jira_payload(
    key: str = "GBL-142",
    summary: str = "Make the thing",
    *,
    in_progress: bool = True,
    assignee: bool = False,
    updated: str | None = None,
) -> dict[str, Any]:
    """The captured Jira delivery, changed to the case a test needs."""
    payload = copy.deepcopy(json.loads((FIXTURES / "jira_issue_updated.json").read_text(encoding="utf-8")))
    issue = payload["issue"]
    issue["key"] = key
    issue["id"] = "1" + key.split("-")[-1].zfill(4)  # the id tests.stub.jira_issue gives the same key
    fields = issue["fields"]
    fields["summary"] = summary
    if not assignee:
        fields["assignee"] = None
    if in_progress:
        fields["status"]["name"] = "In Progress"
        fields["status"]["statusCategory"].update({"id": 4, "key": "indeterminate", "name": "In Progress"})
    if updated:
        fields["updated"] = updated
    return payload
