"""The Jira client's exact requests, checked against the OpenAPI spec, and its failure modes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses
from jira_fixtures import load
from jira_openapi import check_calls
from responses import matchers

from integration.sweeps.applier import rate_wait
from integration.trackers.base import (
    NotFound,
    OrganizationScoped,
    PermissionDenied,
    RateLimited,
    RateLimitReporting,
    SiteFactsReporting,
    TrackerClient,
    TrackerError,
    TrackerUnavailable,
    WriteMarker,
)
from integration.trackers.jira.client import JiraClient
from integration.trackers.jira.normalize import JiraConfig
from rules.model import ActorKind, CommentBody, Item, Mention, Person, StatusCategory, Text, Tracker

SITE = "https://acme.atlassian.net"
API = f"{SITE}/rest/api/3"
TOKEN = "ATATT3xFfGF0-secret-token-value"
ME = "5b10a2844c20165700ede21g"  # the accountId in myself.200.json
FIELDS = (
    "summary,description,issuetype,status,resolution,assignee,reporter,labels,priority,project,parent,"
    "issuelinks,created,updated,duedate,fixVersions,subtasks,customfield_10016,customfield_10020,customfield_10050"
)
ITEM = Item(tracker=Tracker.JIRA, id="10002", key="ED-1", labels=("backend",))
MARKER = WriteMarker(rule="stale-in-progress", item_key="ED-1", episode=2, step="remind")
ANA = Person(id="5b10ac8d82e05b22cc7d4ef5", name="Ana Lima")


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    """Mocked Jira; on the way out every request made is checked against the OpenAPI spec."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock
        check_calls(mock.calls)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(config: JiraConfig, sleeps: list[float]) -> JiraClient:
    return JiraClient(
        SITE, "flowkeeper@acme.com", TOKEN, config=config, sleep=sleeps.append, write_interval=0
    )


def body_of(call: Any) -> Any:
    return json.loads(call.request.body)


def test_is_a_tracker_client(client: JiraClient) -> None:
    assert isinstance(client, TrackerClient)
    # Jira webhooks carry no workspace id and its answers no budget: sweeps never pause for it
    assert not isinstance(client, OrganizationScoped) and not isinstance(client, RateLimitReporting)
    assert isinstance(client, SiteFactsReporting)  # the story points field, for the receiver
    assert rate_wait(client) == 0.0


def test_every_call_has_connect_and_read_timeouts(client: JiraClient) -> None:
    assert client.http._jira.timeout == (5.0, 10.0)


def test_whoami_asks_myself_once(client: JiraClient, api: responses.RequestsMock) -> None:
    api.get(f"{API}/myself", json=load("rest/myself.200.json"), match=[matchers.query_param_matcher({})])
    first, second = client.whoami(), client.whoami()
    assert first == second == Person(ME, "Mia Krystof", "mia@example.com", ActorKind.FLOWKEEPER)
    assert len(api.calls) == 1


def test_search_page_asks_only_for_item_fields(
    client: JiraClient, api: responses.RequestsMock, config: JiraConfig
) -> None:
    from integration.trackers.jira.jql import to_jql
    from rules.model import SearchQuery

    query = SearchQuery(teams=("ED",), status_categories=(StatusCategory.IN_PROGRESS,))
    answer = load("rest/search_jql.200.json")
    answer.update(isLast=False, nextPageToken="tok-2")
    api.get(
        f"{API}/search/jql",
        json=answer,
        match=[
            matchers.query_param_matcher(
                {"jql": to_jql(query), "fields": FIELDS, "maxResults": "50", "nextPageToken": "tok-1"}
            )
        ],
    )
    page = client.search(query, page_token="tok-1", page_size=50)
    assert page.next_token == "tok-2"
    assert [i.key for i in page.items] == ["ED-1"]
    assert page.items[0].links[0].key == "PR-2"


def test_get_item_reads_the_issue_itself_with_changelog(
    client: JiraClient, api: responses.RequestsMock
) -> None:
    issue = load("webhooks/jira_issue_updated.status_change.cloud-2024.json")["issue"]
    issue["changelog"] = {
        "startAt": 0,
        "maxResults": 1,
        "total": 1,
        "histories": [
            {
                "created": "2024-08-09T22:36:31.818+0300",
                "items": [{"field": "status", "fieldId": "status", "toString": "To Be Released"}],
            }
        ],
    }
    api.get(
        f"{API}/issue/GBL-142",
        json=issue,
        match=[matchers.query_param_matcher({"fields": FIELDS, "expand": "changelog"})],
    )
    item = client.get_item("GBL-142")
    assert item.title == "țâțe 1" and not item.is_partial
    assert (
        item.status_changed_at is not None
        and item.status_changed_at.isoformat() == "2024-08-09T22:36:31.818000+03:00"
    )


def test_add_comment_posts_adf_with_mention_footer_and_marker(
    client: JiraClient, api: responses.RequestsMock
) -> None:
    api.post(f"{API}/issue/ED-1/comment", json=load("rest/add_comment.201.json"), status=201)
    body = CommentBody(
        (Text("Stuck in review for 6 days, "), Mention(ANA), Text(".\n\nCan you take a look?"))
    )
    assert client.add_comment(ITEM, body, MARKER) == "10000"
    assert body_of(api.calls[0]) == {
        "body": {
            "type": "doc",
            "version": 1,
            "content": [
                {
                    "type": "paragraph",
                    "content": [
                        {"type": "text", "text": "Stuck in review for 6 days, "},
                        {"type": "mention", "attrs": {"id": ANA.id, "text": "@Ana Lima"}},
                        {"type": "text", "text": "."},
                    ],
                },
                {"type": "paragraph", "content": [{"type": "text", "text": "Can you take a look?"}]},
                {
                    "type": "paragraph",
                    "content": [
                        {
                            "type": "text",
                            "text": "Flowkeeper · rule stale-in-progress",
                            "marks": [{"type": "em"}],
                        }
                    ],
                },
            ],
        },
        "properties": [
            {
                "key": "flowkeeper",
                "value": {
                    "token": "flowkeeper:stale-in-progress:ED-1:2:remind",
                    "rule": "stale-in-progress",
                    "item": "ED-1",
                    "episode": 2,
                    "step": "remind",
                },
            }
        ],
    }


def _comments(api: responses.RequestsMock, marked_id: str | None) -> None:
    """An issue with a person's comment and one of ours; ours carries the marker if marked_id."""
    mine = {"accountId": ME, "displayName": "Flowkeeper"}
    other = {"accountId": "someone-else", "displayName": "Ana"}
    api.get(
        f"{API}/issue/ED-1/comment",
        json={
            "startAt": 0,
            "maxResults": 100,
            "total": 2,
            "comments": [
                {"id": "100", "author": other, "body": {"type": "doc", "version": 1, "content": []}},
                {"id": "101", "author": mine, "body": {"type": "doc", "version": 1, "content": []}},
            ],
        },
        match=[matchers.query_param_matcher({"startAt": "0", "maxResults": "100", "orderBy": "created"})],
    )
    props = [{"key": "flowkeeper", "value": {"token": MARKER.token}}] if marked_id else []
    api.post(
        f"{API}/comment/list",
        json={
            "startAt": 0,
            "maxResults": 1,
            "total": 1,
            "isLast": True,
            "values": [{"id": "101", "properties": props}],
        },
        match=[
            matchers.query_param_matcher({"expand": "properties"}),
            matchers.json_params_matcher({"ids": [101]}),
        ],
    )


def test_a_comment_already_present_is_not_posted_again(
    client: JiraClient, api: responses.RequestsMock
) -> None:
    api.get(f"{API}/myself", json=load("rest/myself.200.json"))
    _comments(api, marked_id="101")
    comment_id, posted = client.ensure_comment(ITEM, CommentBody((Text("hi"),)), MARKER)
    assert (comment_id, posted) == ("101", False)
    assert not [
        c for c in api.calls if c.request.method == "POST" and c.request.url.endswith("/ED-1/comment")
    ]


def test_an_unmarked_own_comment_does_not_count(client: JiraClient, api: responses.RequestsMock) -> None:
    api.get(f"{API}/myself", json=load("rest/myself.200.json"))
    _comments(api, marked_id=None)
    api.post(f"{API}/issue/ED-1/comment", json={"id": "102"}, status=201)
    assert client.ensure_comment(ITEM, CommentBody((Text("hi"),)), MARKER) == ("102", True)


def test_comment_retry_after_a_lost_answer_does_not_post_twice(
    client: JiraClient, api: responses.RequestsMock, sleeps: list[float]
) -> None:
    """Jira stored the comment but answered 503: the retry finds it instead of posting again."""
    api.post(f"{API}/issue/ED-1/comment", status=503, json={"errorMessages": ["Service Unavailable"]})
    api.get(f"{API}/myself", json=load("rest/myself.200.json"))
    _comments(api, marked_id="101")
    assert client.add_comment(ITEM, CommentBody((Text("hi"),)), MARKER) == "101"
    posts = [c for c in api.calls if c.request.method == "POST" and c.request.url.endswith("/ED-1/comment")]
    assert len(posts) == 1 and len(sleeps) == 1


def test_update_comment_rewrites_in_place(client: JiraClient, api: responses.RequestsMock) -> None:
    api.put(f"{API}/issue/ED-1/comment/101", json={"id": "101"})
    client.update_comment(ITEM, "101", CommentBody((Text("still stuck"),)), MARKER)
    assert body_of(api.calls[0])["properties"][0]["value"]["token"] == MARKER.token


def test_labels_are_sent_as_update_diffs(client: JiraClient, api: responses.RequestsMock) -> None:
    api.put(
        f"{API}/issue/ED-1",
        status=204,
        match=[
            matchers.query_param_matcher({}),
            matchers.json_params_matcher({"update": {"labels": [{"add": "stale"}, {"add": "needs-owner"}]}}),
        ],
    )
    api.put(
        f"{API}/issue/ED-1",
        status=204,
        match=[
            matchers.json_params_matcher({"update": {"labels": [{"remove": "stale"}]}}),
        ],
    )
    client.add_labels(ITEM, ["stale", "needs-owner", "stale"])
    client.remove_labels(ITEM, ["stale"])
    assert len(api.calls) == 2


def test_quiet_label_edits_when_notifications_are_off(
    config: JiraConfig, api: responses.RequestsMock
) -> None:
    quiet = JiraClient(SITE, "u", TOKEN, config=config, notify_users=False, write_interval=0)
    api.put(f"{API}/issue/ED-1", status=204, match=[matchers.query_param_matcher({"notifyUsers": "false"})])
    quiet.add_labels(ITEM, ["stale"])


def test_a_persons_label_edit_between_read_and_write_is_preserved(
    client: JiraClient, api: responses.RequestsMock
) -> None:
    server_labels = ["backend"]  # what Flowkeeper read (ITEM.labels)

    def edit(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        for op in json.loads(request.body or "{}")["update"]["labels"]:
            if "add" in op and op["add"] not in server_labels:
                server_labels.append(op["add"])
            if "remove" in op and op["remove"] in server_labels:
                server_labels.remove(op["remove"])
        return 204, {}, ""

    api.add_callback(responses.PUT, f"{API}/issue/ED-1", callback=edit)
    server_labels.append("customer-escalation")  # a person edits in Jira meanwhile
    client.add_labels(ITEM, ["stale"])
    assert server_labels == ["backend", "customer-escalation", "stale"]


def test_labels_with_spaces_are_refused_before_any_request(
    client: JiraClient, api: responses.RequestsMock
) -> None:
    with pytest.raises(TrackerError, match="cannot contain spaces"):
        client.add_labels(ITEM, ["needs review"])
    assert len(api.calls) == 0


def test_status_history_follows_changelog_pages(client: JiraClient, api: responses.RequestsMock) -> None:
    def entry(n: int, when: str, field: str, to: str) -> dict[str, Any]:
        return {
            "id": str(n),
            "author": {"accountId": "a1", "displayName": "Ana"},
            "created": when,
            "items": [{"field": field, "fieldId": field, "fromString": "x", "toString": to}],
        }

    first = [entry(i, "2024-08-01T10:00:00.000+0000", "labels", "l") for i in range(99)]
    first.append(entry(99, "2024-08-02T10:00:00.000+0000", "status", "In Progress"))
    second = [entry(100, "2024-08-05T10:00:00.000+0000", "status", "In Review")]
    path = f"{API}/issue/ED-1/changelog"
    api.get(
        path,
        json={"startAt": 0, "maxResults": 100, "total": 101, "isLast": False, "values": first},
        match=[matchers.query_param_matcher({"startAt": "0", "maxResults": "100"})],
    )
    api.get(
        path,
        json={"startAt": 100, "maxResults": 100, "total": 101, "isLast": True, "values": second},
        match=[matchers.query_param_matcher({"startAt": "100", "maxResults": "100"})],
    )
    history = client.status_history("ED-1")
    assert [(c.new, who.id if who else None, when.day if when else None) for c, who, when in history] == [
        ("In Progress", "a1", 2),
        ("In Review", "a1", 5),
    ]


def test_activity_tells_people_from_apps_and_from_flowkeeper(client: JiraClient, api: responses.RequestsMock) -> None:
    api.get(f"{API}/myself", json=load("rest/myself.200.json"))
    app = {"accountId": "app-1", "displayName": "Automation for Jira", "accountType": "app"}
    ana = {"accountId": "a1", "displayName": "Ana", "accountType": "atlassian"}
    api.get(f"{API}/issue/ED-1/changelog", json={"startAt": 0, "maxResults": 100, "total": 2, "isLast": True, "values": [
        {"id": "1", "author": ana, "created": "2024-08-01T10:00:00.000+0000",
         "items": [{"field": "priority", "fieldId": "priority", "fromString": "Low", "toString": "High"}]},
        {"id": "2", "author": app, "created": "2024-08-03T10:00:00.000+0000",
         "items": [{"field": "labels", "fieldId": "labels", "fromString": "", "toString": "triaged"}]},
    ]})
    api.get(f"{API}/issue/ED-1/comment", json={"startAt": 0, "maxResults": 100, "total": 1, "comments": [
        {"id": "9", "author": {"accountId": ME, "displayName": "Flowkeeper", "accountType": "atlassian"},
         "created": "2024-08-04T10:00:00.000+0000"}]})
    found = [(c.field, who.kind if who else None, when.day if when else None)
             for c, who, when in client.activity("ED-1")]
    assert found == [("priority", ActorKind.HUMAN, 1), ("labels", ActorKind.BOT, 3),
                     ("comment", ActorKind.FLOWKEEPER, 4)]


def test_429_waits_retry_after_then_succeeds(
    client: JiraClient, api: responses.RequestsMock, sleeps: list[float]
) -> None:
    api.get(f"{API}/myself", status=429, headers={"Retry-After": "7", "RateLimit-Reason": "jira-burst-based"})
    api.get(f"{API}/myself", json=load("rest/myself.200.json"))
    assert client.whoami().id == ME
    assert sleeps == [7.0] and len(api.calls) == 2


def test_5xx_is_retried_then_fails_with_a_reason(
    client: JiraClient, api: responses.RequestsMock, sleeps: list[float]
) -> None:
    for _ in range(4):
        api.put(f"{API}/issue/ED-1", status=502, json={"errorMessages": ["Bad gateway"]})
    with pytest.raises(TrackerUnavailable) as caught:
        client.add_labels(ITEM, ["stale"])
    assert len(api.calls) == 4 and len(sleeps) == 3
    assert all(0 < s <= 30 for s in sleeps)  # backoff with jitter, bounded
    assert caught.value.retryable and caught.value.status == 502
    assert "502" in str(caught.value) and "Bad gateway" in str(caught.value)


def test_timeouts_are_retried_and_never_leak_the_token(
    client: JiraClient, api: responses.RequestsMock
) -> None:
    for _ in range(4):
        api.get(f"{API}/myself", body=requests.ReadTimeout(f"read timed out for {TOKEN}"))
    with pytest.raises(TrackerUnavailable) as caught:
        client.whoami()
    assert "timed out" in str(caught.value) and TOKEN not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize(
    ("status", "error", "text"),
    [
        (401, TrackerError, "check JIRA_USER and JIRA_API_TOKEN"),
        (403, PermissionDenied, "403"),
        (404, NotFound, "Issue does not exist"),
    ],
)
def test_client_errors_map_to_the_error_family_without_retry(
    client: JiraClient, api: responses.RequestsMock, status: int, error: type[TrackerError], text: str
) -> None:
    api.get(
        f"{API}/issue/ED-9",
        status=status,
        json={"errorMessages": [f"Issue does not exist ({TOKEN})"], "errors": {}},
    )
    with pytest.raises(error, match=text) as caught:
        client.get_item("ED-9")
    assert not caught.value.retryable and len(api.calls) == 1
    assert TOKEN not in str(caught.value)


def test_rate_limit_longer_than_the_policy_is_left_to_the_job_queue(
    client: JiraClient, api: responses.RequestsMock
) -> None:
    api.get(f"{API}/myself", status=429, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimited) as caught:
        client.whoami()
    assert caught.value.retry_after == 3600.0 and len(api.calls) == 1


def test_writes_to_one_issue_are_paced(config: JiraConfig, api: responses.RequestsMock) -> None:
    now = [100.0]
    waited: list[float] = []
    paced = JiraClient(
        SITE, "u", TOKEN, config=config, sleep=waited.append, write_interval=1.0, clock=lambda: now[0]
    )
    api.put(f"{API}/issue/ED-1", status=204)
    api.put(f"{API}/issue/ED-1", status=204)
    paced.add_labels(ITEM, ["stale"])
    now[0] += 0.25
    paced.remove_labels(ITEM, ["old"])
    assert waited == [0.75]


def test_the_spec_check_itself_rejects_wrong_requests() -> None:
    from jira_openapi import check_request

    with pytest.raises(AssertionError, match="is not of type 'integer'"):
        check_request("POST", f"{API}/comment/list?expand=properties", json.dumps({"ids": ["101"]}))
    with pytest.raises(AssertionError, match="undeclared query parameters"):
        check_request("GET", f"{API}/search/jql?jql=x&startAt=0", None)
    with pytest.raises(AssertionError, match="not an operation"):
        check_request("GET", f"{API}/search/jql/everything", None)


def test_markdown_code_in_a_reply_becomes_an_adf_code_mark() -> None:
    """A reply like "snoozed until `2026-03-20`" must not show backticks in Jira."""
    from integration.trackers.jira.adf import to_adf

    doc = to_adf(CommentBody((Text("Snoozed until `2026-03-20`; say `/flowkeeper unsnooze` to undo."),)))
    assert doc["content"][0]["content"] == [
        {"type": "text", "text": "Snoozed until "},
        {"type": "text", "text": "2026-03-20", "marks": [{"type": "code"}]},
        {"type": "text", "text": "; say "},
        {"type": "text", "text": "/flowkeeper unsnooze", "marks": [{"type": "code"}]},
        {"type": "text", "text": " to undo."},
    ]
    assert "`" not in str(doc)
