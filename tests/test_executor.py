"""The executor, the only writer: each write once (claims, comment markers, label diffs), dry run
decided by the job's DryRun, failures that may pass retried — against the stub tracker over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from integration.executor import ApplyContext, ApplyResult, apply, claim_identity
from integration.judge.dryrun import DryRun
from integration.store.store import Store
from integration.trackers.jira.client import JiraClient
from integration.trackers.jira.normalize import JiraConfig
from integration.trackers.retry import RetryPolicy
from rules.model import (
    Action,
    ActionKind,
    CommentBody,
    EpisodeChange,
    EpisodeTransition,
    Item,
    Plan,
    Text,
)
from tests.stub import Stub, jira_issue, running_stub

NOW = datetime(2026, 3, 13, 12, 0, tzinfo=UTC)
RULE = "stalled"
NUDGE = Action(ActionKind.COMMENT, RULE, "no activity for 5 days", episode=1, step="0",
               comment=CommentBody((Text("ENG-1 has had no activity for 5 days."),)))
FLAG = Action(ActionKind.ADD_LABELS, RULE, "no activity for 5 days", episode=1, step="0", labels=("stalled",))
OPEN = EpisodeTransition(RULE, EpisodeChange.OPEN, 1)
LIVE = DryRun(requested=False, writable=True, rules={RULE: False})


@pytest.fixture
def stub() -> Iterator[Stub]:
    with running_stub() as running:
        running.seed_jira(jira_issue("ENG-1"))
        yield running


@pytest.fixture
def client(stub: Stub) -> JiraClient:
    return JiraClient(stub.url, "bot@acme.test", "token", config=JiraConfig(), write_interval=0)


@pytest.fixture
def item(client: JiraClient) -> Item:
    return client.get_item("ENG-1")


def run(store: Store, client: JiraClient | None, plan: Plan, dry: DryRun = LIVE,
        now: datetime = NOW, **options: bool) -> ApplyResult:
    return apply(plan, ApplyContext(store=store, client=client, dry=dry, now=now, **options))


def comments(stub: Stub) -> list[str]:
    return [str(c.get("body")) for c in stub.state()["jira_comments"].get("ENG-1", [])]


def reasons(result: ApplyResult) -> list[str]:
    return [e.reason for e in result.entries]


def test_a_plan_applied_twice_writes_once(stub: Stub, client: JiraClient, item: Item, store: Store) -> None:
    first = run(store, client, Plan(item, (NUDGE, FLAG), (OPEN,)))
    assert first.outcomes() == ["done", "done"]
    again = run(store, client, Plan(client.get_item("ENG-1"), (NUDGE, FLAG)), now=NOW + timedelta(minutes=5))
    assert again.outcomes() == ["skipped", "skipped"]
    assert all(r.startswith("already done by an earlier run") for r in reasons(again))
    assert len(comments(stub)) == 1 and stub.state()["jira_issues"]["ENG-1"]["fields"]["labels"] == ["stalled"]
    state = store.rule_states.for_item("jira", item.id, "live")[RULE]
    assert state.active and state.steps_done == frozenset({"0"})


def test_a_comment_already_posted_is_found_by_its_marker(stub: Stub, client: JiraClient, item: Item,
                                                         store: Store) -> None:
    run(store, client, Plan(item, (NUDGE,)))
    # the worker wrote, then died before recording it: the claim lapsed and is taken again
    store.claims.finish("jira", item.id, claim_identity(NUDGE), ok=False, now=NOW)
    again = run(store, client, Plan(item, (NUDGE,)), now=NOW + timedelta(minutes=1))
    assert again.outcomes() == ["done"] and reasons(again)[0].startswith("comment already present")
    assert len(comments(stub)) == 1


def test_a_write_another_worker_is_making_is_left_to_it(stub: Stub, client: JiraClient, item: Item,
                                                        store: Store) -> None:
    store.claims.claim("jira", item.id, claim_identity(FLAG), NOW)
    result = run(store, client, Plan(item, (FLAG,), (OPEN,)), now=NOW + timedelta(seconds=30))
    assert result.outcomes() == ["skipped"] and reasons(result) == ["another worker is making this write now"]
    assert stub.writes() == []
    assert store.rule_states.for_item("jira", item.id, "live")[RULE].steps_done == frozenset(), "the step stays open"


def test_label_writes_are_diffs_against_the_item(stub: Stub, client: JiraClient, store: Store) -> None:
    stub.seed_jira(jira_issue("ENG-2", labels=("stalled",)))
    labelled = client.get_item("ENG-2")
    unflag = Action(ActionKind.REMOVE_LABELS, RULE, "moving again", episode=1, step="clear", labels=("escalated",))
    result = run(store, client, Plan(labelled, (FLAG, unflag)))
    assert [r.split(":")[0] for r in reasons(result)] == ["labels already present", "labels already absent"]
    assert stub.writes() == []


def test_a_dry_run_records_what_would_be_done_and_writes_nothing(stub: Stub, client: JiraClient, item: Item,
                                                                  store: Store) -> None:
    result = run(store, client, Plan(item, (NUDGE, FLAG), (OPEN,)), dry=DryRun(requested=True))
    assert result.outcomes() == ["would_do", "would_do"]
    assert reasons(result)[0] == "dry run: no activity for 5 days"
    assert stub.writes() == []
    assert RULE in store.rule_states.for_item("jira", item.id, "dry")
    assert store.rule_states.for_item("jira", item.id, "live") == {}, "a dry run never blocks a live write"


def test_a_rule_in_dry_run_is_held_while_the_others_write(stub: Stub, client: JiraClient, item: Item,
                                                          store: Store) -> None:
    quiet = Action(ActionKind.ADD_LABELS, "quiet", "trying it out", episode=1, step="0", labels=("quiet",))
    dry = DryRun(requested=False, writable=True, rules={RULE: False, "quiet": True})
    result = run(store, client, Plan(item, (FLAG, quiet)), dry=dry)
    assert result.outcomes() == ["done", "would_do"]
    assert reasons(result)[1] == "rule in dry run: trying it out"
    assert stub.state()["jira_issues"]["ENG-1"]["fields"]["labels"] == ["stalled"]


def test_without_a_client_nothing_is_written_and_the_reason_says_so(item: Item, store: Store) -> None:
    result = run(store, None, Plan(item, (FLAG,)), dry=DryRun(requested=False, writable=False, rules={RULE: False}))
    assert result.outcomes() == ["would_do"]
    assert reasons(result) == ["dry run (no tracker credentials): no activity for 5 days"]
    with pytest.raises(ValueError, match="without a tracker client"):
        ApplyContext(store=store, client=None, dry=LIVE, now=NOW)


def test_a_failure_that_may_pass_is_retried_and_then_written_once(stub: Stub, item: Item, store: Store) -> None:
    once = JiraClient(stub.url, "bot@acme.test", "token", config=JiraConfig(), write_interval=0,
                      retry=RetryPolicy(tries=1))  # the job queue's retry, not the client's, is under test
    stub.fault("503", count=1)
    failed = run(store, once, Plan(item, (NUDGE,), (OPEN,)))
    assert failed.outcomes() == ["failed"] and failed.retryable_failures == 1
    assert failed.entries[0].detail["retryable"] is True
    assert store.rule_states.for_item("jira", item.id, "live")[RULE].steps_done == frozenset(), "the step stays open"
    again = run(store, once, Plan(item, (NUDGE,)), now=NOW + timedelta(minutes=1))
    assert again.outcomes() == ["done"] and len(comments(stub)) == 1
