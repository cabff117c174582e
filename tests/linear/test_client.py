"""LinearClient over HTTP mocked with `responses`: exact documents, variables and error handling."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests
import responses
from graphql import parse, print_ast

from integration.sweeps.applier import rate_wait
from integration.trackers.base import (
    NotFound,
    OrganizationScoped,
    PermissionDenied,
    RateLimited,
    RateLimitReporting,
    TrackerError,
    TrackerUnavailable,
    WriteMarker,
)
from integration.trackers.linear.client import LinearClient
from integration.trackers.linear.item import LinearConfig
from integration.trackers.linear.ops import document
from integration.trackers.retry import RetryPolicy
from rules.model import (
    ActorKind,
    CommentBody,
    Item,
    Mention,
    Person,
    SearchQuery,
    StatusCategory,
    Text,
    Tracker,
)

URL = "https://api.linear.app/graphql"
KEY = "lin_api_SECRETKEY123"
TEAM = "team-eng"


def issue_node(
    ident: str, labels: tuple[tuple[str, str], ...] = (), state: str = "started"
) -> dict[str, Any]:
    return {
        "id": f"id-{ident}",
        "identifier": ident,
        "url": f"https://linear.app/acme/issue/{ident}/x",
        "title": f"Issue {ident}",
        "description": "",
        "priority": 3,
        "priorityLabel": "Medium",
        "estimate": 2,
        "dueDate": None,
        "createdAt": "2025-01-01T00:00:00.000Z",
        "updatedAt": "2025-01-05T00:00:00.000Z",
        "state": {"id": "s1", "name": "In Progress", "type": state},
        "assignee": {"id": "u-ann", "name": "Ann Lee", "displayName": "ann"},
        "creator": None,
        "team": {"id": TEAM, "key": "ENG"},
        "project": None,
        "cycle": None,
        "parent": None,
        "labels": {"nodes": [{"id": i, "name": n} for i, n in labels]},
        "stateHistory": {"nodes": [{"startedAt": "2025-01-02T00:00:00.000Z", "endedAt": None}]},
    }


class Linear:
    """Records each GraphQL request and answers from a queue of (status, body, headers)."""

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.sent: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.answers: list[Any] = []
        mock.add_callback(responses.POST, URL, callback=self._answer)

    def reply(
        self,
        data: Any = None,
        *,
        status: int = 200,
        errors: Any = None,
        headers: Any = None,
        raw: str | None = None,
        exc: Exception | None = None,
    ) -> None:
        body = (
            raw
            if raw is not None
            else json.dumps({k: v for k, v in (("data", data), ("errors", errors)) if v is not None})
        )
        self.answers.append(exc or (status, dict(headers or {}), body))

    def _answer(self, request: Any) -> Any:
        self.sent.append(json.loads(request.body))
        self.headers.append(dict(request.headers))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def op(self, index: int) -> tuple[str, dict[str, Any]]:
        body = self.sent[index]
        assert body["query"] == print_ast(parse(document(body["operationName"])))  # the exact document
        return body["operationName"], body.get("variables", {})


@pytest.fixture
def linear() -> Any:
    with responses.RequestsMock() as mock:
        yield Linear(mock)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps: list[float]) -> LinearClient:
    return LinearClient(
        URL,
        KEY,
        config=LinearConfig(),
        retry=RetryPolicy(tries=3, base_delay=0.01),
        sleep=sleeps.append,
    )


def item(labels: tuple[str, ...] = ()) -> Item:
    return Item(tracker=Tracker.LINEAR, id="id-ENG-7", key="ENG-7", labels=labels, custom={"team_id": TEAM})


VIEWER = {
    "viewer": {
        "id": "u-fk",
        "name": "Flowkeeper",
        "displayName": "flowkeeper",
        "organization": {"id": "org-1", "name": "Acme", "urlKey": "acme"},
    }
}


def test_viewer_is_asked_once_with_the_key_as_authorization(client: LinearClient, linear: Linear) -> None:
    linear.reply(VIEWER)
    me = client.whoami()
    assert (me.id, me.kind) == ("u-fk", ActorKind.FLOWKEEPER)
    assert client.organization_id() == "org-1"
    assert len(linear.sent) == 1 and linear.op(0) == ("Viewer", {})
    assert linear.headers[0]["Authorization"] == KEY


def test_paged_search_sends_the_filter_and_follows_the_cursor(client: LinearClient, linear: Linear) -> None:
    linear.reply(
        {
            "issues": {
                "nodes": [issue_node("ENG-1"), issue_node("ENG-2")],
                "pageInfo": {"hasNextPage": True, "endCursor": "c1"},
            }
        }
    )
    linear.reply(
        {"issues": {"nodes": [issue_node("ENG-3")], "pageInfo": {"hasNextPage": False, "endCursor": "c2"}}}
    )
    query = SearchQuery(teams=("ENG",), status_categories=(StatusCategory.IN_PROGRESS,))
    items = list(client.search_all(query, page_size=2))
    assert [i.key for i in items] == ["ENG-1", "ENG-2", "ENG-3"]
    assert items[0].status.category is StatusCategory.IN_PROGRESS and items[0].assignee is not None
    expected_filter = {"and": [{"team": {"key": {"in": ["ENG"]}}}, {"state": {"type": {"in": ["started"]}}}]}
    oldest_updated = [{"updatedAt": {"order": "Ascending"}}]  # the sweep's order, as in Jira's ORDER BY
    assert linear.op(0) == ("SearchIssues", {"filter": expected_filter, "sort": oldest_updated, "first": 2,
                                             "after": None})
    assert linear.op(1) == ("SearchIssues", {"filter": expected_filter, "sort": oldest_updated, "first": 2,
                                             "after": "c1"})


def test_comment_create_mentions_by_the_users_own_profile_url(client: LinearClient, linear: Linear) -> None:
    """Linear mentions a user by the `url` it gives for them, not by a URL built from the name."""
    linear.reply({"commentCreate": {"success": True, "comment": {"id": "cm-1"}}})
    linear.reply({"commentCreate": {"success": True, "comment": {"id": "cm-2"}}})
    marker = WriteMarker(rule="stale", item_key="ENG-7", episode=2, step="0")
    zoe = Person(id="u-zoe", name="Zoë Åberg", url="https://linear.app/acme/profiles/zoe")
    body = CommentBody((Text("Still moving? "), Mention(zoe), Text(" please update.")))
    assert client.add_comment(item(), body, marker) == "cm-1"
    expected = "Still moving? https://linear.app/acme/profiles/zoe please update.\n\n`flowkeeper:stale:ENG-7:2:0`"
    assert linear.op(0) == ("CreateComment", {"issueId": "id-ENG-7", "body": expected})
    nameless = CommentBody((Mention(Person(id="u-zoe", name="Zoë Åberg")), Text(" ping")))
    client.add_comment(item(), nameless, marker)
    assert linear.op(1)[1]["body"].startswith("@Zoë Åberg ping")  # no profile URL given: plain text


def test_find_marked_comment_searches_by_marker(client: LinearClient, linear: Linear) -> None:
    linear.reply({"issue": {"comments": {"nodes": [{"id": "cm-9"}]}}})
    linear.reply({"issue": {"comments": {"nodes": []}}})
    marker = WriteMarker(rule="stale", item_key="ENG-7", episode=1, step="0")
    assert client.find_marked_comment(item(), marker) == "cm-9"
    assert client.find_marked_comment(item(), marker) is None
    assert linear.op(0) == ("FindMarkedComment", {"id": "id-ENG-7", "marker": "flowkeeper:stale:ENG-7:1:0"})


LABELS = {
    "issueLabels": {
        "nodes": [
            {"id": "ws-stalled", "name": "stalled", "isGroup": False, "parent": None, "team": None},
            {"id": "team-stalled", "name": "stalled", "isGroup": False, "parent": None, "team": {"id": TEAM}},
        ]
    }
}


def test_label_add_and_remove_are_diffs_using_the_team_label(client: LinearClient, linear: Linear) -> None:
    linear.reply(LABELS)
    linear.reply({"issueUpdate": {"success": True}})
    linear.reply({"issueUpdate": {"success": True}})
    client.add_labels(item(), ["stalled"])
    client.remove_labels(item(("stalled",)), ["stalled"])  # id cached: no second lookup
    assert linear.op(0) == ("FindLabels", {"names": ["stalled"], "teamId": TEAM, "first": 50})
    assert linear.op(1) == (
        "UpdateIssueLabels",
        {"id": "id-ENG-7", "added": ["team-stalled"], "removed": None},
    )
    assert linear.op(2) == (
        "UpdateIssueLabels",
        {"id": "id-ENG-7", "added": None, "removed": ["team-stalled"]},
    )
    assert len(linear.sent) == 3


def test_missing_label_is_created_when_allowed(client: LinearClient, linear: Linear) -> None:
    linear.reply({"issueLabels": {"nodes": []}})
    linear.reply(
        {"issueLabelCreate": {"success": True, "issueLabel": {"id": "new-1", "name": "needs-owner"}}}
    )
    linear.reply({"issueUpdate": {"success": True}})
    client.add_labels(item(), ["needs-owner"])
    assert linear.op(1) == ("CreateLabel", {"name": "needs-owner", "teamId": TEAM, "color": "#bec2c8"})
    assert linear.op(2)[1]["added"] == ["new-1"]


def test_forbidden_label_creation_names_the_label_and_the_fix(client: LinearClient, linear: Linear) -> None:
    linear.reply({"issueLabels": {"nodes": []}})
    linear.reply(
        errors=[{"message": "Forbidden", "extensions": {"code": "FORBIDDEN", "type": "forbidden"}}],
        status=400,
    )
    with pytest.raises(PermissionDenied, match=r"create label 'needs-owner'.*Settings → Labels"):
        client.add_labels(item(), ["needs-owner"])
    assert len(linear.sent) == 2  # not retried


def test_creation_off_and_missing_label_is_a_clear_failure(sleeps: list[float], linear: Linear) -> None:
    strict = LinearClient(URL, KEY, config=LinearConfig(), allow_label_create=False, sleep=sleeps.append)
    linear.reply({"issueLabels": {"nodes": []}})
    with pytest.raises(NotFound, match="'stalled' does not exist"):
        strict.add_labels(item(), ["stalled"])


def test_a_label_inside_a_group_is_never_used_for_flags(client: LinearClient, linear: Linear) -> None:
    linear.reply(
        {
            "issueLabels": {
                "nodes": [
                    {
                        "id": "g1",
                        "name": "stalled",
                        "isGroup": False,
                        "parent": {"id": "grp"},
                        "team": {"id": TEAM},
                    }
                ]
            }
        }
    )
    with pytest.raises(TrackerError, match="label group"):
        client.add_labels(item(), ["stalled"])
    assert [b["operationName"] for b in linear.sent] == ["FindLabels"]


def test_a_label_a_person_removed_between_read_and_write_stays_removed(
    client: LinearClient, linear: Linear
) -> None:
    # Flowkeeper read ENG-7 with labels Bug + stalled; meanwhile a person removed Bug in Linear.
    stale_copy = item(("Bug", "stalled"))
    linear.reply(LABELS)
    linear.reply({"issueUpdate": {"success": True}})
    client.remove_labels(stale_copy, ["stalled"])
    name, variables = linear.op(1)
    assert name == "UpdateIssueLabels" and variables == {
        "id": "id-ENG-7",
        "added": None,
        "removed": ["team-stalled"],
    }
    assert "labelIds" not in json.dumps(linear.sent)  # Bug is not written back from the stale copy


def test_ratelimited_400_is_a_rate_limit_with_the_reset(client: LinearClient, linear: Linear) -> None:
    reset_ms = int(time.time() * 1000) + 3_600_000
    linear.reply(
        status=400,
        errors=[{"message": "Rate limit exceeded", "extensions": {"code": "RATELIMITED"}}],
        headers={
            "X-RateLimit-Requests-Remaining": "0",
            "X-RateLimit-Requests-Limit": "2500",
            "X-RateLimit-Requests-Reset": str(reset_ms),
        },
    )
    with pytest.raises(RateLimited) as caught:
        client.get_item("ENG-7")
    assert caught.value.retry_after is not None and 3500 < caught.value.retry_after <= 3600
    assert len(linear.sent) == 1  # an hour's wait is left to the job queue, not slept here


def test_short_ratelimit_waits_for_the_reset_then_succeeds(
    client: LinearClient, linear: Linear, sleeps: list[float]
) -> None:
    reset_ms = int(time.time() * 1000) + 20_000
    linear.reply(
        status=400,
        errors=[{"message": "Rate limit exceeded", "extensions": {"code": "RATELIMITED"}}],
        headers={"X-RateLimit-Complexity-Reset": str(reset_ms)},
    )
    linear.reply({"issue": issue_node("ENG-7")})
    assert client.get_item("ENG-7").key == "ENG-7"
    assert len(sleeps) == 1 and 15 < sleeps[0] <= 20


def test_5xx_then_success_is_retried_with_backoff(
    client: LinearClient, linear: Linear, sleeps: list[float]
) -> None:
    linear.reply(status=502, raw="<html>Bad gateway</html>")
    linear.reply(status=503, errors=[{"message": "Service unavailable"}])
    linear.reply({"issue": issue_node("ENG-7")})
    assert client.get_item("ENG-7").title == "Issue ENG-7"
    assert len(linear.sent) == 3 and len(sleeps) == 2


def test_timeouts_give_up_as_unavailable_without_the_key(client: LinearClient, linear: Linear) -> None:
    for _ in range(3):
        linear.reply(exc=requests.exceptions.ReadTimeout(f"read timed out; Authorization: {KEY}"))
    with pytest.raises(TrackerUnavailable) as caught:
        client.get_item("ENG-7")
    assert KEY not in str(caught.value) and len(linear.sent) == 3


def test_other_graphql_errors_fail_with_the_message(client: LinearClient, linear: Linear) -> None:
    linear.reply(
        status=400,
        errors=[
            {
                "message": "Argument Validation Error",
                "extensions": {
                    "code": "INVALID_INPUT",
                    "userPresentableMessage": f"title is too long (key {KEY})",
                },
            }
        ],
    )
    with pytest.raises(TrackerError, match="title is too long") as caught:
        client.get_item("ENG-7")
    assert type(caught.value) is TrackerError and KEY not in str(caught.value)
    assert len(linear.sent) == 1


def test_unknown_issue_is_not_found(client: LinearClient, linear: Linear) -> None:
    linear.reply(
        status=200, errors=[{"message": "Entity not found: Issue", "extensions": {"code": "INVALID_INPUT"}}]
    )
    with pytest.raises(NotFound):
        client.get_item("ENG-404")


def test_client_slows_down_before_the_budget_runs_out(
    client: LinearClient, linear: Linear, sleeps: list[float]
) -> None:
    reset_ms = int(time.time() * 1000) + 30_000
    linear.reply(
        VIEWER,
        headers={
            "X-RateLimit-Requests-Limit": "2500",
            "X-RateLimit-Requests-Remaining": "40",
            "X-RateLimit-Requests-Reset": str(reset_ms),
        },
    )
    linear.reply({"teams": {"nodes": []}}, headers={"X-RateLimit-Requests-Remaining": "2400"})
    client.whoami()
    assert sleeps == []
    client.teams()  # 40 left of 2,500 is inside the 5 % reserve: wait for the reset first
    assert len(sleeps) == 1 and 25 < sleeps[0] <= 30
    assert client.gateway.budget.requests_remaining == 2400


def test_the_rate_limit_the_last_answer_reported_slows_sweep_writes(client: LinearClient, linear: Linear) -> None:
    """Sweeps ask the client (a typed capability, not its internals) how much of Linear's budget is left."""
    assert isinstance(client, OrganizationScoped) and isinstance(client, RateLimitReporting)
    assert rate_wait(client, now_ms=time.time() * 1000) == 0.0  # nothing said yet: no pause
    reset_ms = time.time() * 1000 + 30_000
    linear.reply(VIEWER, headers={"X-RateLimit-Requests-Limit": "1500", "X-RateLimit-Requests-Remaining": "3",
                                  "X-RateLimit-Requests-Reset": str(int(reset_ms))})
    client.whoami()
    assert client.rate_budget().requests_remaining == 3
    assert 25 < rate_wait(client, now_ms=time.time() * 1000) <= 30

