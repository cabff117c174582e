"""Transitions and assignments through the executor to the stub tracker: once, remembered, explained."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from integration.executor import ApplyContext, apply
from integration.judge.dryrun import DryRun
from integration.store.audit import AuditFilter
from integration.store.store import Store
from integration.trackers.jira.client import JiraClient
from integration.trackers.jira.normalize import JiraConfig
from integration.trackers.linear.client import LinearClient
from integration.trackers.linear.event import normalize as normalize_linear
from integration.trackers.linear.fresh import comment_issue_from_mirror
from integration.trackers.linear.item import LinearConfig
from rules.model import (
    Action,
    ActionKind,
    CommentBody,
    Event,
    Item,
    Person,
    Plan,
    StatusCategory,
    Text,
    TransitionTarget,
)
from tests.foundation.helpers import fixture
from tests.stub import Stub, jira_issue, linear_issue, running_stub

NOW = datetime(2026, 3, 13, 12, 0, tzinfo=UTC)
CLOSE = Action(ActionKind.TRANSITION, "close-stale", "'close-stale' holds — no activity for 60 days", step="1",
               transition=TransitionTarget(StatusCategory.CANCELED, note="no activity for 60 days"))
NOTE = Action(ActionKind.COMMENT, "close-stale", "closing note", step="1",
              comment=CommentBody((Text("Closed: no activity for 60 days."),)))


@pytest.fixture
def stub() -> Iterator[Stub]:
    with running_stub() as running:
        yield running


def _jira(stub: Stub) -> JiraClient:
    return JiraClient(stub.url, "bot@acme.test", "token", config=JiraConfig(), write_interval=0)


def _linear(stub: Stub) -> LinearClient:
    return LinearClient(f"{stub.url}/graphql", "lin_api_key", config=LinearConfig())


def _ctx(store: Store, client: object, now: datetime = NOW, dry: bool = False) -> ApplyContext:
    return ApplyContext(store=store, client=client, dry=DryRun.ruleless(dry, writable=True),  # type: ignore[arg-type]
                        now=now)


def _posts(stub: Stub, path_end: str) -> int:
    return sum(1 for r in stub.requests() if r["method"] == "POST" and r["path"].endswith(path_end))


def test_jira_close_as_canceled_is_remembered_and_reopen_returns_there(stub: Stub, store: Store) -> None:
    stub.seed_jira(jira_issue("ENG-1", status="In Review", category="indeterminate"))
    client = _jira(stub)
    item = store.mirror.upsert(client.get_item("ENG-1"), NOW)
    result = apply(Plan(item, (CLOSE, NOTE)), _ctx(store, client))
    assert result.outcomes() == ["done", "done"]
    fields = stub.state()["jira_issues"]["ENG-1"]["fields"]
    assert (fields["status"]["name"], fields["resolution"]["name"]) == ("Done", "Won't Do")
    closure = store.closures.for_item("jira", item.id)
    assert closure is not None and closure.previous.name == "In Review" and closure.rule == "close-stale"
    mirrored = store.mirror.get("jira", item.id)  # the mirror knows at once, and knows it was Flowkeeper
    assert mirrored is not None and mirrored.status.category is StatusCategory.CANCELED
    moves = [h for h in store.mirror.history("jira", item.id) if h.field == "status"]
    assert [(h.old, h.new, h.actor_kind.value) for h in moves] == [("In Review", "Done", "flowkeeper")]
    entry = next(e for e in store.audit.page(AuditFilter(item_key="ENG-1")) if e.action == "transition")
    assert entry.reason.startswith("moved from In Review to Done")
    assert entry.detail["transition"] == {"to": "canceled", "reason": "no activity for 60 days", "reopen": False}

    closed = client.get_item("ENG-1")
    assert closed.status.category is StatusCategory.CANCELED
    reopen = Action(ActionKind.TRANSITION, "reopen-on-reply", "a person answered", transition=TransitionTarget(
        closure.previous.category, status=closure.previous.name, reopen=True))
    assert apply(Plan(closed, (reopen,)), _ctx(store, client)).outcomes() == ["done"]
    assert stub.state()["jira_issues"]["ENG-1"]["fields"]["status"]["name"] == "In Review"
    assert store.closures.for_item("jira", item.id) is None


def test_a_worker_killed_after_the_move_never_moves_twice(stub: Stub, store: Store) -> None:
    stub.seed_jira(jira_issue("ENG-2"))
    client = _jira(stub)
    item = client.get_item("ENG-2")
    assert apply(Plan(item, (CLOSE,)), _ctx(store, client)).outcomes() == ["done"]
    # the worker died after Jira answered and before the claim was finished: the claim is left "claimed"
    from sqlalchemy import update

    from integration.store.tables import write_claims
    with store.engine.begin() as conn:
        conn.execute(update(write_claims).values(state="claimed", finished_at=None))
    later = NOW + timedelta(minutes=30)  # past the claim's staleness: the retry takes it over
    retried = apply(Plan(item, (CLOSE,)), _ctx(store, client, later))  # planned on the stale copy
    assert retried.outcomes() == ["done"]
    assert retried.entries[0].reason.startswith("already Done")
    assert _posts(stub, "/transitions") == 1


def test_no_transition_says_why_and_the_rest_of_the_plan_still_applies(stub: Stub, store: Store) -> None:
    stub.seed_jira(jira_issue("ENG-3"))
    client = _jira(stub)
    item = client.get_item("ENG-3")
    blocked = Action(ActionKind.TRANSITION, "park", "park it", transition=TransitionTarget(status="Blocked"))
    result = apply(Plan(item, (blocked, NOTE)), _ctx(store, client))
    assert result.outcomes() == ["failed", "done"]
    assert result.retryable_failures == 0
    assert "no transition leads to Blocked (available: Back to To Do → To Do" in result.entries[0].reason
    assert len(stub.state()["jira_comments"]["ENG-3"]) == 1


def test_dry_run_records_what_would_be_written(stub: Stub, store: Store) -> None:
    stub.seed_jira(jira_issue("ENG-4"))
    client = _jira(stub)
    item = client.get_item("ENG-4")
    assign = Action(ActionKind.ASSIGN, "give-to-lead", "unowned bug", assignee=Person("acc-dana", "Dana"))
    result = apply(Plan(item, (CLOSE, assign)), _ctx(store, client, dry=True))
    assert result.outcomes() == ["would_do", "would_do"]
    assert [e.detail.get("assignee") for e in result.entries] == [None, "Dana"]
    assert "no activity for 60 days" in result.entries[0].reason
    assert stub.writes() == []


def test_linear_assign_unassign_and_cancel(stub: Stub, store: Store) -> None:
    stub.seed_linear([linear_issue("ENG-7", state_type="unstarted")])
    requests.post(f"{stub.url}/_stub/linear/issues", json={"users": [
        {"id": "u-dana", "name": "Dana", "displayName": "dana", "email": "dana@acme.test", "active": True}]},
        timeout=5).raise_for_status()
    client = _linear(stub)
    item = client.get_item("ENG-7")
    by_email = Action(ActionKind.ASSIGN, "give-to-lead", "unowned", assignee=Person("", "Dana", "dana@acme.test"))
    assert apply(Plan(item, (by_email,)), _ctx(store, client)).outcomes() == ["done"]
    assert stub.state()["linear_issues"]["uuid-ENG-7"]["assignee"]["id"] == "u-dana"
    again = apply(Plan(client.get_item("ENG-7"), (by_email,)), _ctx(store, client, NOW + timedelta(days=1)))
    assert again.entries[0].outcome.value == "skipped"  # the same write identity: already done
    item = client.get_item("ENG-7")
    drop = Action(ActionKind.UNASSIGN, "drop-owner", "no update", step="2")
    assert apply(Plan(item, (drop, CLOSE)), _ctx(store, client)).outcomes() == ["done", "done"]
    issue = stub.state()["linear_issues"]["uuid-ENG-7"]
    assert issue["assignee"] is None and issue["state"]["name"] == "Canceled"
    closure = store.closures.for_item("linear", item.id)
    assert closure is not None and closure.previous.name == "Todo"


def _comment_on(item: Item, at: datetime) -> Event:
    """The captured Linear Comment delivery, on `item`, made at `at`."""
    payload = copy.deepcopy(fixture("linear", "comment_create.2023.json"))
    stamp = at.isoformat().replace("+00:00", "Z")
    payload["data"].update(issueId=item.id, issue={"id": item.id, "title": item.title}, createdAt=stamp, updatedAt=stamp)
    payload.update(url="", createdAt=stamp, webhookTimestamp=int(at.timestamp() * 1000))
    event = normalize_linear(payload, LinearConfig())
    assert event is not None
    return event


def test_a_move_does_not_renew_the_trust_in_linears_copy(stub: Stub, store: Store) -> None:
    """Flowkeeper's own move stores the mirror's copy with the new state, but Linear did not give
    that copy: a comment 16 minutes after Linear last did reads the issue again."""
    stub.seed_linear([linear_issue("ENG-7", state_type="unstarted")])
    client = _linear(stub)
    item = client.get_item("ENG-7")
    read_at = NOW - timedelta(minutes=11)
    store.mirror.upsert(item, read_at)
    soon = _comment_on(item, NOW)
    assert comment_issue_from_mirror(soon, store.mirror.get("linear", item.id), store.mirror.synced_at(
        "linear", item.id), NOW) is not None, "11 minutes after Linear gave it, the copy stands for the issue"
    assert apply(Plan(item, (CLOSE,)), _ctx(store, client)).outcomes() == ["done"]
    moved = store.mirror.get("linear", item.id)
    assert moved is not None and moved.status.category is StatusCategory.CANCELED
    later = NOW + timedelta(minutes=5)
    assert comment_issue_from_mirror(_comment_on(item, later), moved, store.mirror.synced_at("linear", item.id),
                                     later) is None
