"""What a webhook job writes, and in how many transactions: a crash between two steps leaves
both or neither, and SQLite's write lock is taken as few times as the job needs."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from integration.executor import ApplyContext, RetryLater, apply
from integration.judge.dryrun import DryRun
from integration.services import Services
from integration.store.audit import AuditFilter, AuditLog
from integration.store.db import WRITE_LOCK, make_engine, read_connection
from integration.store.deliveries import Deliveries
from integration.store.mirror import HistoryEntry, Mirror
from integration.store.tables import item_history, items
from integration.trackers.base import TrackerError
from integration.trackers.jira import normalize as jira_normalize
from integration.trackers.jira.normalize import JiraConfig
from rules.model import (
    Action,
    ActionKind,
    ActorKind,
    CommentBody,
    EpisodeChange,
    EpisodeTransition,
    Plan,
    Text,
)
from tests.foundation.helpers import fixture
from tests.foundation.test_pipeline import seed, stub_services, unassigned_in_progress
from tests.reliability.soak import SOAK_RULES, _payload
from tests.services import MakeServices
from tests.stub import Stub, jira_issue, running_stub


@pytest.fixture
def stub() -> Iterator[Stub]:
    with running_stub() as running:
        yield running


def commented(make_services: MakeServices, stub: Stub) -> Services:
    """A live deployment where KAN-22 already got its comment: the next update to it writes nothing."""
    seed(stub)
    services = stub_services(make_services, stub, live=True)
    services.pipeline().handle(unassigned_in_progress("d-1"))
    return services


def disk_error(statement: str) -> Callable[..., None]:
    """A store method that fails as SQLite does when the disk does, at `statement`."""

    def fail(*args: Any, **kwargs: Any) -> None:
        raise OperationalError(statement, {}, Exception("disk I/O error"))

    return fail


def no_action_entries(services: Services) -> int:
    return services.store.audit.count(AuditFilter(item_key="KAN-22", outcome="skipped"))


def test_a_no_write_event_takes_the_write_lock_twice(make_services: MakeServices, stub: Stub) -> None:
    """The delivery's start with the item's history and its mirror row (the job's first writes), then
    its outcome with the audit entry: the start is no transaction of its own."""
    services = commented(make_services, stub)
    WRITE_LOCK.take()
    outcome = services.pipeline().handle(unassigned_in_progress("d-2"))
    transactions, _waited, _seconds = WRITE_LOCK.take()
    assert outcome == "no action"
    assert transactions == 2
    assert no_action_entries(services) == 1
    assert services.store.deliveries.state_of("jira", "d-2") == "done"


def test_a_delivery_processed_before_stores_nothing_again(make_services: MakeServices, stub: Stub) -> None:
    """A redelivery whose first run finished is found out in the transaction of its first writes, ahead of
    them: no second history entry, mirror write or audit entry."""
    services = commented(make_services, stub)
    assert services.pipeline().handle(unassigned_in_progress("d-2")) == "no action"
    with services.store.engine.connect() as conn:
        history = conn.execute(select(func.count()).select_from(item_history)).scalar()
        synced = conn.execute(select(items.c.synced_at)).scalar()
    entries = services.store.audit.count(AuditFilter(item_key="KAN-22"))

    assert services.pipeline().handle(unassigned_in_progress("d-2")) == "duplicate: already processed"
    with services.store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(item_history)).scalar() == history
        assert conn.execute(select(items.c.synced_at)).scalar() == synced
    assert services.store.audit.count(AuditFilter(item_key="KAN-22")) == entries
    assert services.store.deliveries.state_of("jira", "d-2") == "done"


def test_a_job_that_stops_before_its_first_write_still_starts_its_delivery(
    make_services: MakeServices, stub: Stub
) -> None:
    """A refetch that fails ends the job before the mirror: its delivery is given back to the queue
    when the tracker asks to wait, and left started for RQ's retries (and `jobs.mark_delivery_failed`
    once they run out) on any other error; the retry then runs it to its end."""
    stub.seed_jira(jira_issue("SOAK-1"))
    services = stub_services(make_services, stub, live=False)
    update = jira_normalize.normalize(_payload("SOAK-1", "10001", 1), JiraConfig())
    assert update is not None and update.item.is_partial  # completed from the tracker

    stub.fault("429", count=20, retry_after=0)
    with pytest.raises(RetryLater):
        services.pipeline().handle(replace(update, delivery_id="d-1"))
    assert services.store.deliveries.state_of("jira", "d-1") == "pending"

    stub.fault("400", count=20)
    with pytest.raises(TrackerError):
        services.pipeline().handle(replace(update, delivery_id="d-2"))
    assert services.store.deliveries.state_of("jira", "d-2") == "processing"

    stub.fault("slow", count=0, delay=0)
    assert "would_do" in services.pipeline().handle(replace(update, delivery_id="d-2"))
    assert services.store.deliveries.state_of("jira", "d-2") == "done"


def test_a_crash_before_the_outcome_is_stored_records_no_action_once(
    make_services: MakeServices, stub: Stub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """"No rule acted" is committed with the delivery's outcome: a job that dies before that leaves
    neither, and its retry records the decision once."""
    services = commented(make_services, stub)

    with monkeypatch.context() as patch:
        patch.setattr(Deliveries, "finish", disk_error("UPDATE deliveries"))
        with pytest.raises(OperationalError):
            services.pipeline().handle(unassigned_in_progress("d-2"))
    assert no_action_entries(services) == 0
    assert services.store.deliveries.state_of("jira", "d-2") == "processing"

    assert services.pipeline().handle(unassigned_in_progress("d-2")) == "no action"  # RQ's retry
    assert no_action_entries(services) == 1
    assert services.store.deliveries.state_of("jira", "d-2") == "done"
    assert len(stub.state()["jira_comments"]["KAN-22"]) == 1


def test_the_items_history_is_stored_with_its_mirror_row_or_not_at_all(
    make_services: MakeServices, stub: Stub, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(stub)
    services = stub_services(make_services, stub, live=True)

    with monkeypatch.context() as patch:
        patch.setattr(Mirror, "upsert", disk_error("UPDATE items"))
        with pytest.raises(OperationalError):
            services.pipeline().handle(unassigned_in_progress("d-1"))
    with services.store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(item_history)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(items)).scalar() == 0

    services.pipeline().handle(unassigned_in_progress("d-1"))
    with services.store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(items)).scalar() == 1
    assert len(stub.state()["jira_comments"]["KAN-22"]) == 1


def test_episodes_are_kept_only_with_their_audit_entries(
    make_services: MakeServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An episode a plan opens and the plan's decisions are one transaction: when the audit entries
    cannot be written, the episode is not recorded either, so the next evaluation decides again."""
    store = make_services().store
    item = unassigned_in_progress().item
    plan = Plan(item=item, actions=(Action(ActionKind.COMMENT, "stale", "no owner", comment=CommentBody((Text("Who?"),))),),
                transitions=(EpisodeTransition(rule="stale", change=EpisodeChange.OPEN, episode=1),))
    ctx = ApplyContext(store=store, client=None, dry=DryRun(requested=True, writable=False), now=item.updated_at)

    with monkeypatch.context() as patch:
        patch.setattr(AuditLog, "record", disk_error("INSERT INTO audit_log"))
        with pytest.raises(OperationalError):
            apply(plan, ctx)
    assert store.rule_states.for_item("jira", item.id, "dry") == {}

    assert apply(plan, ctx).outcomes() == ["would_do"]
    assert store.rule_states.for_item("jira", item.id, "dry")["stale"].active
    assert store.audit.count(AuditFilter(item_key=item.key, outcome="would_do")) == 1


def test_a_begin_that_waits_for_another_writer_is_counted(db_url: str) -> None:
    """What `/metrics` shows as SQLite write-lock waits: a BEGIN held up by another process's write."""
    holder, waiter = make_engine(db_url), make_engine(db_url)
    Mirror(holder).get("jira", "1")  # the schema exists
    taken = threading.Event()

    def hold() -> None:
        with holder.begin():
            taken.set()
            time.sleep(0.2)

    thread = threading.Thread(target=hold)
    thread.start()
    taken.wait(5)
    WRITE_LOCK.take()
    with waiter.begin():
        pass
    thread.join()
    transactions, waited, seconds = WRITE_LOCK.take()
    assert (transactions, waited) == (1, 1)
    assert 0.1 < seconds < 5
    holder.dispose()
    waiter.dispose()


def test_the_time_a_transaction_holds_the_write_lock_is_counted(db_url: str) -> None:
    """What `/metrics` shows as SQLite write-lock hold: BEGIN to COMMIT, what other workers cannot write in."""
    engine = make_engine(db_url)
    Mirror(engine).get("jira", "1")  # the schema exists
    WRITE_LOCK.take_held()
    with engine.begin():
        time.sleep(0.05)
    with engine.begin():
        pass
    held = WRITE_LOCK.take_held()
    assert 0.05 <= held < 5
    with read_connection(engine) as reader:  # a reader holds nothing
        reader.execute(select(1))
        time.sleep(0.02)
    assert WRITE_LOCK.take_held() == 0
    engine.dispose()


def test_a_write_finishes_its_claim_with_the_decisions(make_services: MakeServices, stub: Stub) -> None:
    """An event that labels and comments: the delivery's start with the mirror, a claim before each write,
    the labels in the item's history, both claims' outcomes with the decisions and the delivery's end."""
    seed(stub)
    services = stub_services(make_services, stub, live=True)
    services.pipeline().service_account("jira")  # learned once per deployment, not per job
    WRITE_LOCK.take()
    outcome = services.pipeline().handle(unassigned_in_progress("d-1"))
    transactions, _waited, _seconds = WRITE_LOCK.take()
    assert outcome.count(":done") == 2
    assert transactions == 5
    assert services.store.deliveries.state_of("jira", "d-1") == "done"
    assert len(stub.state()["jira_comments"]["KAN-22"]) == 1


def test_a_write_made_stays_done_when_its_decisions_cannot_be_stored(
    make_services: MakeServices, stub: Stub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim is finished with the audit entries; when they fail, on its own: RQ's retry finds the
    comment already made, not a write another worker may still be making."""
    seed(stub)
    services = stub_services(make_services, stub, live=True)

    with monkeypatch.context() as patch:
        patch.setattr(AuditLog, "record", disk_error("INSERT INTO audit_log"))
        with pytest.raises(OperationalError):
            services.pipeline().handle(unassigned_in_progress("d-1"))
    assert len(stub.state()["jira_comments"]["KAN-22"]) == 1

    outcome = services.pipeline().handle(unassigned_in_progress("d-1"))  # RQ's retry
    assert outcome.endswith(":skipped") and "in flight" not in outcome
    entries = services.store.audit.page(AuditFilter(item_key="KAN-22", outcome="skipped"))
    assert {e.reason for e in entries if e.rule} == {"already done by an earlier run"}
    assert len(stub.state()["jira_comments"]["KAN-22"]) == 1


def test_the_delivery_ends_with_its_decisions_or_not_at_all(
    make_services: MakeServices, stub: Stub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The delivery's end is committed with the decisions: when it cannot be stored the decisions are
    not either, the delivery stays in process, and RQ's retry finds the writes done and ends it."""
    seed(stub)
    services = stub_services(make_services, stub, live=True)

    with monkeypatch.context() as patch:
        patch.setattr(Deliveries, "finish", disk_error("UPDATE deliveries"))
        with pytest.raises(OperationalError):
            services.pipeline().handle(unassigned_in_progress("d-1"))
    assert services.store.deliveries.state_of("jira", "d-1") == "processing"
    assert services.store.audit.count(AuditFilter(item_key="KAN-22", outcome="done")) == 0

    outcome = services.pipeline().handle(unassigned_in_progress("d-1"))  # RQ's retry
    assert outcome.count(":skipped") == 2
    assert services.store.deliveries.state_of("jira", "d-1") == "done"
    assert len(stub.state()["jira_comments"]["KAN-22"]) == 1
    assert services.pipeline().handle(unassigned_in_progress("d-1")) == "duplicate: already processed"


STALLED = """
version: 1
rules:
  - name: stalled
    description: Work in progress sees a person's activity at least every three days.
    on: [updated]
    when:
      all:
        - status.category: in_progress
        - last_activity: { older_than: 3 days }
    then:
      - add_labels: [stalled]
"""


def test_the_rules_see_the_activity_the_event_itself_carries(
    make_services: MakeServices, stub: Stub, tmp_path: Path
) -> None:
    """The item's facts are read with its mirrored copy, before the job writes the change it carries:
    a person's change now still counts as activity now, so a week-old item is not called stalled."""
    (tmp_path / "stalled.yml").write_text(STALLED)
    stub.seed_jira(jira_issue("SOAK-1", assignee=None))
    services = make_services({"RULES_DIR": str(tmp_path), "JIRA_URL": stub.url, "JIRA_USER": "bot@acme.test",
                              "JIRA_API_TOKEN": "token-abc", "FLOWKEEPER_DRY_RUN": "1"})
    update = jira_normalize.normalize(_payload("SOAK-1", "10001", 1), JiraConfig())
    assert update is not None and update.actor is not None and update.actor.kind is ActorKind.HUMAN
    week_ago = HistoryEntry(at=update.occurred_at - timedelta(days=7), field="status", actor_kind=ActorKind.HUMAN)
    services.store.mirror.record_history("jira", update.item, [week_ago])

    outcome = services.pipeline().handle(replace(update, delivery_id="d-1"))

    assert outcome == "no action"
    assert services.store.audit.count(AuditFilter(item_key="SOAK-1", outcome="would_do")) == 0


def test_a_command_in_the_comment_counts_before_the_rules_judge_the_item(
    make_services: MakeServices, stub: Stub, tmp_path: Path
) -> None:
    """`/flowkeeper ignore` exempts the item in the job that carries it out: the rule it names does
    not act on that same comment, although the item's facts were read before the command ran."""
    (tmp_path / "unowned.yml").write_text(SOAK_RULES.joinpath("soak.yml").read_text())
    seed(stub)
    services = make_services({"RULES_DIR": str(tmp_path), "JIRA_URL": stub.url, "JIRA_USER": "bot@acme.test",
                              "JIRA_API_TOKEN": "token-abc", "FLOWKEEPER_DRY_RUN": "1"})
    payload = copy.deepcopy(fixture("jira", "comment_created.derived.json"))
    payload["issue"].update(id="10022", key="KAN-22")
    payload["comment"]["body"] = "/flowkeeper ignore started-without-assignee"
    comment = jira_normalize.normalize(payload, JiraConfig())
    assert comment is not None

    services.pipeline().handle(replace(comment, delivery_id="d-1"))

    acted = services.store.audit.page(AuditFilter(item_key="KAN-22", outcome="would_do"))
    assert [e.action for e in acted if e.rule == "started-without-assignee"] == []
    assert services.store.snoozes.for_item("jira", "10022", comment.occurred_at).exempt_rules
