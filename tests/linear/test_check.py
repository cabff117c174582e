"""`flowkeeper linear check` tells an operator what works and what to fix."""

from __future__ import annotations

import json

import responses

from integration.trackers.linear.check import format_check, run_check
from integration.trackers.linear.client import LinearClient
from integration.trackers.linear.normalize import LinearConfig

URL = "https://api.linear.app/graphql"


def _client() -> LinearClient:
    return LinearClient(URL, "lin_api_x", config=LinearConfig(), sleep=lambda _: None)


@responses.activate
def test_check_lists_key_teams_webhook_url_and_resource_types() -> None:
    viewer = {
        "viewer": {
            "id": "u1",
            "name": "Flowkeeper Bot",
            "displayName": "flowkeeper",
            "organization": {"id": "org-1", "name": "Acme", "urlKey": "acme"},
        }
    }
    responses.post(URL, json={"data": viewer})
    responses.post(
        URL, json={"data": {"teams": {"nodes": [{"id": "t1", "key": "ENG", "name": "Engineering"}]}}}
    )
    lines = run_check(_client(), "https://fk.example.com/webhooks/linear")
    assert all(line.ok for line in lines)
    text = format_check(lines)
    assert "acting as flowkeeper in organization org-1" in text and "ENG (Engineering)" in text
    assert "https://fk.example.com/webhooks/linear" in text and "Issues, Comments, Issue labels" in text
    assert [json.loads(c.request.body)["operationName"] for c in responses.calls] == ["Viewer", "Teams"]


@responses.activate
def test_check_reports_a_rejected_key_with_the_fix() -> None:
    responses.post(
        URL,
        status=400,
        json={
            "errors": [
                {
                    "message": "Authentication required, not authenticated",
                    "extensions": {"code": "AUTHENTICATION_ERROR"},
                }
            ]
        },
    )
    lines = run_check(_client(), None)
    assert not lines[0].ok and "LINEAR_API_KEY" in lines[0].detail and "not authenticated" in lines[0].detail
    assert [line.label for line in lines] == ["API key", "webhook URL", "resource types"]
    assert format_check(lines).startswith("FAIL API key")
