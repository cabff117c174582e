"""The stub tracker speaks the same language as Jira and Linear to Flowkeeper's real clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from integration.trackers.base import RateLimited, WriteMarker
from integration.trackers.jira.client import JiraClient
from integration.trackers.jira.normalize import JiraConfig
from integration.trackers.linear.client import LinearClient
from integration.trackers.linear.item import LinearConfig
from integration.trackers.retry import RetryPolicy
from rules.model import CommentBody, Mention, Person, Priority, StatusCategory, Text
from tests.stub import Stub, jira_issue, linear_issue, running_stub

FAST = RetryPolicy(tries=3, base_delay=0.01, max_delay=0.05)


@pytest.fixture
def stub() -> Iterator[Stub]:
    with running_stub() as running:
        yield running


def jira(stub: Stub) -> JiraClient:
    return JiraClient(stub.url, "bot@acme.test", "token-123", config=JiraConfig(site_url=stub.url),
                      retry=FAST, write_interval=0.0)


def test_jira_client_round_trip_on_the_stub(stub: Stub) -> None:
    stub.seed_jira(jira_issue("ACME-1", labels=("keep-me",)))
    client = jira(stub)
    assert client.whoami().id == "stub-flowkeeper-account"
    item = client.get_item("ACME-1")
    assert item.status.category is StatusCategory.IN_PROGRESS and item.assignee is None
    marker = WriteMarker("started-without-assignee", "ACME-1", 1, "0")
    assert client.find_marked_comment(item, marker) is None
    comment_id = client.add_comment(item, CommentBody((Text("Who owns this? "), Mention(Person("acc-1", "Ann")))), marker)
    assert client.find_marked_comment(item, marker) == comment_id
    client.add_labels(item, ["needs-owner"])
    assert client.get_item("ACME-1").labels == ("keep-me", "needs-owner")
    client.remove_labels(item, ["needs-owner"])
    assert client.get_item("ACME-1").labels == ("keep-me",)


def test_jira_429_is_retried_after_retry_after(stub: Stub) -> None:
    stub.seed_jira(jira_issue("ACME-2"))
    client = jira(stub)
    assert client.config.story_points_field == "customfield_10016"  # the site's facts, read before the fault
    stub.fault("429", count=1, retry_after=0)
    assert client.get_item("ACME-2").key == "ACME-2"
    assert [r["path"] for r in stub.requests()].count("/rest/api/3/issue/ACME-2") == 2


def test_linear_client_round_trip_on_the_stub(stub: Stub) -> None:
    stub.seed_linear([linear_issue("ENG-7", labels=(("l-keep", "keep-me"),))],
                     labels=[{"id": "l-keep", "name": "keep-me", "isGroup": False, "parent": None, "team": None}])
    client = LinearClient(f"{stub.url}/graphql", "lin_api_key", config=LinearConfig(), retry=FAST)
    assert client.whoami().id == "stub-flowkeeper-user"
    assert client.organization_id() == "stub-org"
    item = client.get_item("ENG-7")
    marker = WriteMarker("started-without-assignee", "ENG-7", 1, "0")
    comment_id = client.add_comment(item, CommentBody((Text("Who owns this?"),)), marker)
    assert client.find_marked_comment(item, marker) == comment_id
    client.add_labels(item, ["needs-owner"])
    assert set(client.get_item("ENG-7").labels) == {"keep-me", "needs-owner"}


def test_linear_ratelimited_400_becomes_rate_limited(stub: Stub) -> None:
    stub.seed_linear([linear_issue("ENG-8")])
    stub.fault("ratelimited", count=5, retry_after=120)
    client = LinearClient(f"{stub.url}/graphql", "lin_api_key", config=LinearConfig(), retry=FAST)
    with pytest.raises(RateLimited):
        client.get_item("ENG-8")


def test_jira_priority_ranks_come_from_the_sites_ordered_list_not_names(stub: Stub) -> None:
    """A translated or added priority ranks by its place in the site's list: "Обычный" is third."""
    issue = jira_issue("ACME-3")
    issue["fields"]["priority"] = {"name": "Обычный", "id": "10001"}
    stub.seed_jira(issue, jira_issue("ACME-4"))
    client = jira(stub)
    assert client.get_item("ACME-3").priority == Priority("Обычный", 3)
    assert client.get_item("ACME-4").priority == Priority("Medium", 4)


def test_a_seeded_changelog_is_the_jira_status_history(stub: Stub) -> None:
    """Seeding an issue with `changelog.histories` gives the sync a history to read, as Jira would."""
    issue = jira_issue("ACME-7", status="In Progress")
    issue["changelog"] = {"histories": [{
        "id": "1", "author": {"accountId": "acc-ada", "displayName": "Ada", "accountType": "atlassian"},
        "created": "2026-03-02T09:00:00.000+0000",
        "items": [{"field": "status", "fieldId": "status", "fromString": "To Do", "toString": "In Progress"}]}]}
    stub.seed_jira(issue)
    [(change, actor, when)] = jira(stub).status_history("ACME-7")
    assert (change.old, change.new, actor and actor.name, when and when.day) == ("To Do", "In Progress", "Ada", 2)
    assert "changelog" not in stub.state()["jira_issues"]["ACME-7"]  # not a field of the issue itself
