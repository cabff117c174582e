"""The stub's Jira errors have Jira Cloud's body: JSON with `errorMessages` and `errors`, as the
REST v3 reference's ErrorCollection gives it, so a client reading the reason finds it as it would
on a real site, and never an HTML page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient

from integration.stubtracker.app import create_stub_app
from integration.stubtracker.state import StubState
from tests.stub import jira_issue

API = "/rest/api/3"


@pytest.fixture
def client() -> FlaskClient:
    state = StubState(now=datetime(2026, 12, 5, 3, 0, tzinfo=UTC))
    state.jira_issues["ENG-1"] = jira_issue("ENG-1")
    return create_stub_app(state).test_client()


@pytest.mark.parametrize(("method", "path", "body"), [
    ("get", f"{API}/issue/ENG-404", None),
    ("put", f"{API}/issue/ENG-404", {"update": {"labels": [{"add": "x"}]}}),
    ("get", f"{API}/issue/ENG-404/comment", None),
    ("post", f"{API}/issue/ENG-404/comment", {"body": {"type": "doc", "version": 1, "content": []}}),
    ("get", f"{API}/issue/ENG-404/transitions", None),
    ("put", f"{API}/issue/ENG-1/comment/999999", {"body": {"type": "doc", "version": 1, "content": []}}),
])
def test_a_missing_issue_or_comment_is_a_json_error_collection(client: FlaskClient, method: str, path: str,
                                                               body: dict | None) -> None:
    answer = getattr(client, method)(path, json=body)
    assert answer.status_code == 404
    assert answer.mimetype == "application/json"
    error = answer.get_json()
    assert set(error) == {"errorMessages", "errors"}
    assert error["errors"] == {}
    assert len(error["errorMessages"]) == 1 and error["errorMessages"][0]


def test_a_missing_issue_names_jiras_reason(client: FlaskClient) -> None:
    answer = client.get(f"{API}/issue/ENG-404")
    assert answer.get_json()["errorMessages"] == ["Issue does not exist or you do not have permission to see it."]
