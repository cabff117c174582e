"""When a Jira update does not say when its status was entered: the mirror's time or a read of the issue.

Built on the captured Jira Cloud `issue_updated` (a status change). A later update of the same
issue that changes only its summary carries the whole issue but no status item in its changelog.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from integration.mirror_trust import TRUSTED_FOR
from integration.services import Services
from integration.status_entry import StatusEntries
from integration.store.store import Store
from integration.sweeps.mirror_page import refresh
from integration.trackers.jira import normalize as jira_normalize
from integration.trackers.jira.normalize import JiraConfig
from rules.model import Event
from tests.foundation.helpers import MINIMAL_RULES, fixture
from tests.services import MakeServices
from tests.stub import Stub, jira_issue, running_stub

CAPTURE = "jira_issue_updated.status_change.cloud-2024.json"
KEY = "GBL-142"


@pytest.fixture
def stub() -> Iterator[Stub]:
    with running_stub() as running:
        yield running


def services_for(make_services: MakeServices, stub: Stub, status: str = "To Be Released",
                 updated: str = "2024-08-09T19:36:31.865+0000") -> Services:
    """Jira holds the issue as of the status change (or, with `status`, as moved on since)."""
    issue = jira_issue(KEY, status=status, category="indeterminate", updated=updated)
    if status == "To Be Released":
        issue["fields"]["status"] = fixture("jira", CAPTURE)["issue"]["fields"]["status"]
    stub.seed_jira({**issue, "id": "10705"})
    return make_services({"RULES_DIR": str(MINIMAL_RULES), "JIRA_URL": stub.url, "JIRA_USER": "bot@acme.test",
                          "JIRA_API_TOKEN": "token-abc", "FLOWKEEPER_DRY_RUN": "1"})


def status_change(delivery: str = "d-status") -> Event:
    event = jira_normalize.normalize(fixture("jira", CAPTURE), JiraConfig())
    assert event is not None and "status_changed_at" not in event.item.unknown
    return replace(event, delivery_id=delivery)


def summary_update(later: timedelta, delivery: str, status: dict[str, Any] | None = None) -> Event:
    """The same issue `later` after the status change, with only its summary changed."""
    payload = copy.deepcopy(fixture("jira", CAPTURE))
    at = datetime.fromtimestamp(payload["timestamp"] / 1000, tz=UTC) + later
    payload["timestamp"] = int(at.timestamp() * 1000)
    fields = payload["issue"]["fields"]
    fields["updated"] = at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    fields["summary"] = "Renamed"
    if status is not None:
        fields["status"] = status
    payload["changelog"]["items"] = [{"field": "summary", "fieldtype": "jira", "fieldId": "summary",
                                      "from": None, "fromString": "old", "to": None, "toString": "Renamed"}]
    event = jira_normalize.normalize(payload, JiraConfig())
    assert event is not None and event.item.unknown == {"status_changed_at"}
    return replace(event, delivery_id=delivery)


def issue_reads(stub: Stub) -> int:
    return sum(1 for r in stub.requests() if r["method"] == "GET" and r["path"].endswith(f"/issue/{KEY}"))


def test_an_update_after_a_status_change_takes_the_entry_time_from_the_mirror(
        make_services: MakeServices, stub: Stub) -> None:
    services = services_for(make_services, stub)
    first = status_change()
    services.pipeline().handle(first)
    services.pipeline().handle(summary_update(timedelta(minutes=3), "d-summary"))
    assert issue_reads(stub) == 0, "the issue is not read back from Jira"
    mirrored = services.store.mirror.get("jira", first.item.id)
    assert mirrored is not None and mirrored.title == "Renamed"
    assert mirrored.status_changed_at == first.occurred_at
    assert "status_changed_at" not in mirrored.unknown


def test_a_status_the_mirror_did_not_know_is_read_from_jira(make_services: MakeServices, stub: Stub) -> None:
    """A status change whose webhook never came: the update names another status, so Jira is asked."""
    services = services_for(make_services, stub, status="In Review")
    services.pipeline().handle(status_change())
    review = {"name": "In Review", "id": "10040", "statusCategory": {"key": "indeterminate", "name": "In Progress"}}
    services.pipeline().handle(summary_update(timedelta(minutes=3), "d-summary", status=review))
    assert issue_reads(stub) == 1
    mirrored = services.store.mirror.get("jira", "10705")
    assert mirrored is not None and mirrored.status.name == "In Review"


def test_the_mirror_stands_for_jira_only_for_a_while(make_services: MakeServices, stub: Stub) -> None:
    services = services_for(make_services, stub)
    now = [0.0]
    services._status_entries = StatusEntries(clock=lambda: now[0])
    services.pipeline().handle(status_change())
    now[0] = TRUSTED_FOR.total_seconds() - 1
    services.pipeline().handle(summary_update(timedelta(minutes=3), "d-2"))
    assert issue_reads(stub) == 0
    now[0] = TRUSTED_FOR.total_seconds() + 1
    services.pipeline().handle(summary_update(timedelta(minutes=20), "d-3"))
    assert issue_reads(stub) == 1, "the entry time is read from Jira again after TRUSTED_FOR"


def test_without_a_status_change_seen_the_first_update_reads_jira(make_services: MakeServices, stub: Stub) -> None:
    """A mirror filled by a search or by an earlier process proves nothing about the entry time."""
    services = services_for(make_services, stub)
    services.pipeline().handle(status_change())
    services._status_entries = StatusEntries()  # a fresh worker process, embedded default
    services.pipeline().handle(summary_update(timedelta(minutes=3), "d-2"))
    services.pipeline().handle(summary_update(timedelta(minutes=4), "d-3"))
    assert issue_reads(stub) == 1, "read once, then the mirror stands for it"


def test_a_late_update_reads_jira(make_services: MakeServices, stub: Stub) -> None:
    services = services_for(make_services, stub, updated="2024-08-09T19:41:31.865+0000")
    services.pipeline().handle(summary_update(timedelta(minutes=5), "d-newer"))  # read: the record is fresh
    services.pipeline().handle(summary_update(timedelta(minutes=1), "d-late"))  # older than the mirror
    assert issue_reads(stub) == 2


def test_a_late_status_change_moves_the_entry_time_forward(any_store: Store) -> None:
    """X → Y → X with the last webhook late: the mirror learns when X was entered again."""
    entered = status_change().item
    assert entered.status_changed_at is not None and entered.updated_at is not None
    earlier = entered.status_changed_at - timedelta(days=2)
    now = datetime.now(UTC)
    any_store.mirror.upsert(replace(entered, status_changed_at=earlier,
                                    updated_at=entered.updated_at + timedelta(minutes=5)), now)
    held = any_store.mirror.upsert(entered, now)  # older than the mirror, same status, entered later
    assert held.status_changed_at == entered.status_changed_at
    assert held.updated_at == entered.updated_at + timedelta(minutes=5), "the newer state is kept"
    stored = any_store.mirror.get("jira", entered.id)
    assert stored is not None and stored.status_changed_at == entered.status_changed_at
    any_store.mirror.upsert(replace(entered, status_changed_at=earlier), now)
    again = any_store.mirror.get("jira", entered.id)
    assert again is not None and again.status_changed_at == entered.status_changed_at, "never moved back"


def test_the_record_is_shared_through_redis(redis_url: str) -> None:
    import redis

    connection = redis.Redis.from_url(redis_url)
    first, other = StatusEntries(connection), StatusEntries(connection)
    event = status_change()
    later = summary_update(timedelta(minutes=3), "d-2")
    mirrored = event.item
    assert other.from_mirror(later, mirrored) is None
    first.carried(event, None)
    reused = other.from_mirror(later, mirrored)
    assert reused is not None and reused.status_changed_at == event.occurred_at and not reused.unknown
    ttl = connection.pttl(f"flowkeeper:status-entry:jira:{event.item.id}")
    assert 0 < ttl <= TRUSTED_FOR.total_seconds() * 1000


def test_a_status_a_sweep_stored_is_read_from_jira(make_services: MakeServices, stub: Stub) -> None:
    """The status moved on and its webhook never came; a sweep's search stored the new status, but a
    search does not say when a status was entered, so the sweep kept the old status's entry time.
    The next update names that status: the mirror's entry time is the old status's, Jira is asked."""
    services = services_for(make_services, stub, status="In Review", updated="2024-08-09T19:38:31.865+0000")
    first = status_change()
    services.pipeline().handle(first)
    review = {"name": "In Review", "id": "10040", "statusCategory": {"key": "indeterminate", "name": "In Progress"}}
    found = summary_update(timedelta(minutes=2), "d-unused", status=review).item  # what a search answers
    held = services.store.mirror.get("jira", first.item.id)
    assert held is not None
    refresh(services.store, "jira", [found], {held.id: held}, [held.id], datetime.now(UTC))
    swept = services.store.mirror.get("jira", first.item.id)
    assert swept is not None and swept.status.name == "In Review"
    services.pipeline().handle(summary_update(timedelta(minutes=3), "d-summary", status=review))
    assert issue_reads(stub) == 1, "the entry time of a status no read or status change confirmed is not reused"
    mirrored = services.store.mirror.get("jira", first.item.id)
    assert mirrored is not None and mirrored.status_changed_at != first.occurred_at
