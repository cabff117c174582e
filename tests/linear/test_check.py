"""`flowkeeper linear check` tells an operator what works and what to fix."""

from __future__ import annotations

import json

import responses

from integration.trackers.checklines import Verdict, render
from integration.trackers.linear.check import run_check
from integration.trackers.linear.client import LinearClient
from integration.trackers.linear.item import LinearConfig

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
    text = render(lines)
    assert "acting as flowkeeper in organization org-1" in text and "ENG (Engineering)" in text
    assert "URL: https://fk.example.com/webhooks/linear\n" in text
    assert "Resource types: Issues, Comments, Issue labels" in text
    assert "LINEAR_WEBHOOK_SECRET (one webhook per team" in text
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
    assert [line.title for line in lines] == ["API key (viewer)", "webhook to create in Linear"]
    assert render(lines).startswith("[fail] API key")


def test_without_a_public_url_or_secret_the_check_names_the_real_variables() -> None:
    text = render([line for line in run_check(_NoCalls(), None, secret_set=False) if line.title.startswith("webhook")])
    assert "<Flowkeeper's public URL>/webhooks/linear (set FLOWKEEPER_BASE_URL" in text
    assert "copy the webhook's secret into LINEAR_WEBHOOK_SECRET " in text
    assert "LINEAR_WEBHOOK_SECRETS" not in text and "FLOWKEEPER_PUBLIC_URL" not in text
    assert run_check(_NoCalls(), None, secret_set=False)[-1].verdict is Verdict.WARN


class _NoCalls:
    def whoami(self) -> object:
        from integration.trackers.base import TrackerError

        raise TrackerError("not authenticated")

    def organization_id(self) -> str:
        raise AssertionError

    def teams(self) -> list[dict[str, str]]:
        raise AssertionError
