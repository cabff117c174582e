"""The store on SQLite and PostgreSQL: mirror, history, claims, states, deliveries, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from integration.store.audit import AuditEntry, AuditFilter, Outcome
from integration.store.claims import ClaimResult
from integration.store.mirror import HistoryEntry
from integration.store.store import Store
from rules.model import (
    ActorKind,
    EpisodeChange,
    EpisodeTransition,
    Item,
    Person,
    Status,
    StatusCategory,
    Tracker,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
IN_PROGRESS = Status("In Progress", StatusCategory.IN_PROGRESS)


def item(**fields: object) -> Item:
    base = dict(tracker=Tracker.JIRA, id="10001", key="ACME-1", title="Ship it", status=IN_PROGRESS,
                assignee=Person("acc-1", "Ana Ñúñez"), updated_at=T0, team="ACME")
    base.update(fields)
    return Item(**base)  # type: ignore[arg-type]


def test_mirror_keeps_the_newer_state_when_events_arrive_out_of_order(any_store: Store) -> None:
    newer = item(title="Newer title", updated_at=T0 + timedelta(minutes=5))
    any_store.mirror.upsert(newer, T0)
    held = any_store.mirror.upsert(item(title="Older title", updated_at=T0), T0)
    assert held.title == "Newer title"
    assert any_store.mirror.get("jira", "10001").title == "Newer title"  # type: ignore[union-attr]


def test_an_item_stored_the_first_time_takes_no_savepoint(any_store: Store) -> None:
    """One insert that skips a racing writer's row, not a savepoint around it: the job holds SQLite's
    write lock meanwhile."""
    statements: list[str] = []
    event.listen(any_store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    any_store.mirror.upsert(item(), T0)
    assert sum(s.startswith("INSERT INTO items ") for s in statements) == 1
    assert not [s for s in statements if "SAVEPOINT" in s]
    again = any_store.mirror.upsert(item(title="Renamed", updated_at=T0 + timedelta(minutes=1)), T0)
    assert again.title == any_store.mirror.get("jira", "10001").title == "Renamed"  # type: ignore[union-attr]


def test_mirror_round_trips_unicode_and_custom_fields(any_store: Store) -> None:
    original = item(title="Überprüfen 🚀 <script>", custom={"severity": "S1"}, labels=("a", "b"))
    any_store.mirror.upsert(original, T0)
    back = any_store.mirror.get_by_key("jira", "ACME-1")
    assert back == original and dict(back.custom) == {"severity": "S1"}  # type: ignore[union-attr]


def test_deleted_item_loses_title_and_description(any_store: Store) -> None:
    any_store.mirror.upsert(item(description="secret plans"), T0)
    any_store.mirror.mark_deleted(item(), T0)
    back = any_store.mirror.get("jira", "10001")
    assert back is not None and back.deleted and back.title == "" and back.description is None


def test_history_is_deduplicated_and_staleness_counts_only_people(any_store: Store) -> None:
    it = item()
    entries = [
        HistoryEntry(at=T0, field="status", actor_kind=ActorKind.HUMAN, new="In Progress"),
        HistoryEntry(at=T0 + timedelta(hours=1), field="comment", actor_kind=ActorKind.HUMAN, new="c1"),
        HistoryEntry(at=T0 + timedelta(hours=2), field="labels", actor_kind=ActorKind.FLOWKEEPER, new="+stalled"),
        HistoryEntry(at=T0 + timedelta(hours=3), field="comment", actor_kind=ActorKind.BOT, new="c2"),
    ]
    assert any_store.mirror.record_history("jira", it, entries) == 4
    assert any_store.mirror.record_history("jira", it, entries) == 0, "a redelivery adds nothing"
    assert any_store.mirror.last_activity("jira", "10001") == T0 + timedelta(hours=1)
    assert any_store.mirror.last_activity("jira", "10001", ["status"]) == T0


def test_wip_by_assignee_counts_in_progress_items(any_store: Store) -> None:
    for n in range(3):
        any_store.mirror.upsert(item(id=f"2{n}", key=f"ACME-2{n}"), T0)
    any_store.mirror.upsert(item(id="30", key="ACME-30", status=Status("Done", StatusCategory.DONE)), T0)
    assert any_store.mirror.wip_by_assignee("jira") == {"acc-1": 3}


def test_write_claims_let_one_writer_through(any_store: Store) -> None:
    claims = any_store.claims
    assert claims.claim("jira", "1", "r/1/0/comment", T0) is ClaimResult.CLAIMED
    assert claims.claim("jira", "1", "r/1/0/comment", T0) is ClaimResult.IN_FLIGHT
    claims.finish("jira", "1", "r/1/0/comment", ok=False, now=T0)
    assert claims.claim("jira", "1", "r/1/0/comment", T0) is ClaimResult.CLAIMED, "a failed write may be retried"
    claims.finish("jira", "1", "r/1/0/comment", ok=True, now=T0)
    assert claims.claim("jira", "1", "r/1/0/comment", T0) is ClaimResult.ALREADY_DONE


def test_a_claim_abandoned_by_a_dead_worker_is_taken_over(any_store: Store) -> None:
    claims = any_store.claims
    assert claims.claim("jira", "1", "x", T0) is ClaimResult.CLAIMED
    later = T0 + claims.stale_after + timedelta(seconds=1)
    assert claims.claim("jira", "1", "x", later) is ClaimResult.CLAIMED


def test_rule_states_open_steps_and_close_per_mode(any_store: Store) -> None:
    states = any_store.rule_states
    states.apply("jira", "1", "ACME-1", "live", [EpisodeTransition("stalled", EpisodeChange.OPEN, 1)],
                 [("stalled", 1, "0")], T0)
    live = states.for_item("jira", "1", "live")["stalled"]
    assert live.active and live.episode == 1 and live.steps_done == {"0"}
    assert states.for_item("jira", "1", "dry") == {}, "dry-run episodes are kept apart"
    states.apply("jira", "1", "ACME-1", "live", [EpisodeTransition("stalled", EpisodeChange.CLOSE, 1)], [], T0)
    assert not states.for_item("jira", "1", "live")["stalled"].active


def test_rule_states_of_several_changes_are_written_once_each(any_store: Store) -> None:
    """An episode opened with its step done is one row written once (the executor holds SQLite's
    write lock meanwhile); a new episode starts with no steps, an old episode's step changes nothing,
    and a step keeps the time it was first done."""
    states, later = any_store.rule_states, T0 + timedelta(hours=1)
    statements: list[str] = []
    event.listen(any_store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    states.apply("jira", "1", "ACME-1", "live", [EpisodeTransition("stalled", EpisodeChange.OPEN, 1)],
                 [("stalled", 1, "0"), ("unowned", 1, "0")], T0)
    assert [s.split()[0] for s in statements if not s.startswith(("BEGIN", "COMMIT", "SAVEPOINT"))] == \
        ["SELECT", "INSERT", "INSERT"]
    states.apply("jira", "1", "ACME-1", "live", [], [("stalled", 1, "0"), ("stalled", 1, "1")], later)
    stalled = states.for_item("jira", "1", "live")["stalled"]
    assert dict(stalled.steps_at) == {"0": T0, "1": later} and stalled.last_action_at == later
    states.apply("jira", "1", "ACME-1", "live", [EpisodeTransition("stalled", EpisodeChange.CLOSE, 1),
                                                 EpisodeTransition("stalled", EpisodeChange.OPEN, 2)],
                 [("stalled", 1, "2"), ("unowned", 2, "1")], later)
    found = states.for_item("jira", "1", "live")
    assert (found["stalled"].episode, found["stalled"].active, found["stalled"].steps_done) == (2, True, frozenset())
    assert found["unowned"].episode == 1 and found["unowned"].steps_done == {"0"}


def test_a_batchs_pauses_hold_live_snoozes_and_every_exemption(any_store: Store) -> None:
    pauses = any_store.snoozes
    pauses.snooze("jira", "1", "ACME-1", T0 + timedelta(days=2), "ada", None, T0)
    pauses.snooze("jira", "2", "ACME-2", T0 - timedelta(hours=1), "ada", None, T0)  # over already
    pauses.exempt("jira", "2", "ACME-2", "stalled", "ada", None, T0)
    pauses.exempt("jira", "2", "ACME-2", "unowned", "ada", None, T0)
    pauses.exempt("linear", "3", "ENG-3", "stalled", "ada", None, T0)
    found = pauses.for_items("jira", ["1", "2", "3"], T0)
    assert found["1"].snoozed_until == T0 + timedelta(days=2) and found["1"].exempt_rules == frozenset()
    assert found["2"].snoozed_until is None and found["2"].exempt_rules == {"stalled", "unowned"}
    assert "3" not in found, "another tracker's item of the same id is not this one"


def test_deliveries_dedupe_and_resume(any_store: Store) -> None:
    d = any_store.deliveries
    assert d.enqueue("linear", "abc", {"event": {"item": {"key": "ENG-1"}}}, T0)
    assert not d.enqueue("linear", "abc", {"event": {}}, T0), "same delivery id twice is a duplicate"
    assert d.begin("linear", "abc", T0)
    assert [x.delivery_id for x in d.next_pending(include_processing=True)] == ["abc"], "a crash resumes it"
    d.finish("linear", "abc", "done", "ok", T0)
    assert not d.begin("linear", "abc", T0), "a finished delivery is never processed again"
    assert d.purge_before(T0 + timedelta(days=1)) == 1


def test_audit_filters_pages_and_retention(any_store: Store) -> None:
    entries = [
        AuditEntry(at=T0 + timedelta(minutes=n), tracker="jira", action="comment",
                   outcome=Outcome.WOULD_DO if n % 2 else Outcome.DONE, reason=f"r{n}", item_key="ACME-1", rule="x")
        for n in range(25)
    ]
    any_store.audit.record(entries)
    first = any_store.audit.page(limit=10)
    assert [e.reason for e in first][:2] == ["r24", "r23"]
    second = any_store.audit.page(limit=10, before_id=first[-1].id)
    assert second[0].reason == "r14"
    assert any_store.audit.count(AuditFilter(outcome="would_do")) == 12
    assert any_store.audit.purge_before(T0 + timedelta(minutes=5)) == 5
    assert any_store.audit.count() == 20


def test_overrides_win_and_can_be_cleared(any_store: Store) -> None:
    any_store.overrides.set("stalled", T0, dry_run=True)
    any_store.overrides.set("stalled", T0, enabled=False)
    assert any_store.overrides.all() == {"stalled": {"enabled": False, "dry_run": True}}
    any_store.overrides.clear("stalled")
    assert any_store.overrides.all() == {}
