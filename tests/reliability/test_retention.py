"""Retention purges what is past its time, keeps the rest, and never drops a pending delivery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis as redis_lib
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry

from integration.queue import QUEUE_NAME
from integration.retention import run_retention
from integration.settings import SettingsError, load_settings
from integration.settings_retention import RetentionSettings
from integration.store.audit import AuditEntry, AuditFilter, Outcome
from integration.store.store import Store

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
POLICY = RetentionSettings(audit_days=180, delivery_days=14, failed_job_days=30)


def audit(store: Store, age_days: int, reason: str) -> None:
    store.audit.record(
        [
            AuditEntry(
                at=NOW - timedelta(days=age_days),
                tracker="jira",
                action="comment",
                outcome=Outcome.DONE,
                reason=reason,
                item_key="KAN-1",
            )
        ]
    )


def delivery(store: Store, delivery_id: str, age_days: int, state: str) -> None:
    at = NOW - timedelta(days=age_days)
    store.deliveries.enqueue("jira", delivery_id, {"v": 1, "event": {}}, at)
    if state != "pending":
        store.deliveries.begin("jira", delivery_id, at)
        store.deliveries.finish("jira", delivery_id, state, "x", at)


def failed_job(connection: redis_lib.Redis, failed_days_ago: float) -> str:
    job = Job.create("integration.jobs.process_delivery", args=({"v": 0},), connection=connection)
    job.ended_at = datetime.now(UTC) - timedelta(days=failed_days_ago)
    FailedJobRegistry(QUEUE_NAME, connection=connection).add(job, ttl=90 * 86400, exc_string="boom")
    return job.id


def test_old_audit_entries_and_finished_deliveries_go_recent_and_pending_stay(store: Store) -> None:
    audit(store, 200, "old")
    audit(store, 10, "recent")
    delivery(store, "old-done", 20, "done")
    delivery(store, "old-failed", 20, "failed")
    delivery(store, "old-pending", 20, "pending")
    delivery(store, "new-done", 2, "done")
    report = run_retention(store, None, POLICY, NOW)
    assert (report.audit_entries, report.deliveries, report.failed_jobs) == (1, 2, 0)
    assert [e.reason for e in store.audit.page(AuditFilter())] == ["recent"]
    assert store.deliveries.state_of("jira", "old-pending") == "pending"
    assert store.deliveries.state_of("jira", "new-done") == "done"
    assert store.deliveries.state_of("jira", "old-done") is None
    assert store.service.get("retention.last_run")["deliveries"] == 2


def test_failed_jobs_past_retention_are_deleted_with_their_data(store: Store, redis_url: str) -> None:
    connection = redis_lib.Redis.from_url(redis_url)
    old = [failed_job(connection, 45) for _ in range(3)]
    recent = failed_job(connection, 3)
    Queue(QUEUE_NAME, connection=connection).enqueue(
        "integration.jobs.process_delivery", {"v": 1}
    )  # not failed
    report = run_retention(store, connection, POLICY, datetime.now(UTC))
    assert report.failed_jobs == 3
    registry = FailedJobRegistry(QUEUE_NAME, connection=connection)
    assert registry.get_job_ids(cleanup=False) == [recent]
    assert all(not connection.exists(f"rq:job:{job_id}") for job_id in old)
    assert Queue(QUEUE_NAME, connection=connection).count == 1


def test_retention_is_a_section_of_the_settings_and_a_bad_value_is_named() -> None:
    settings = load_settings({"FLOWKEEPER_AUDIT_RETENTION_DAYS": "90", "FLOWKEEPER_DELIVERY_RETENTION_DAYS": "7",
                              "FLOWKEEPER_FAILED_JOB_RETENTION_DAYS": "10"})
    policy = settings.retention
    assert (policy.audit_days, policy.delivery_days, policy.failed_job_days) == (90, 7, 10)
    with pytest.raises(SettingsError, match="FLOWKEEPER_FAILED_JOB_RETENTION_DAYS"):
        load_settings({"FLOWKEEPER_FAILED_JOB_RETENTION_DAYS": "0"})


def test_cli_command_purges_and_says_how_much(
    db_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store.connect(db_url)
    store.audit.record(
        [
            AuditEntry(
                at=datetime.now(UTC) - timedelta(days=400),
                tracker="jira",
                action="comment",
                outcome=Outcome.DONE,
                reason="ancient",
            )
        ]
    )
    failed_job(redis_lib.Redis.from_url(redis_url), 60)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    from integration.cli import main

    assert main(["retention", "run"]) == 0
    assert capsys.readouterr().out.strip() == "purged 1 audit entries, 0 deliveries, 1 failed jobs, 0 day-scoped refusal claims"


def test_day_scoped_refusal_claims_go_after_two_days_and_write_claims_stay(store: Store) -> None:
    """The one-refusal-a-day claims are only needed for their day; the write claims are forever."""
    from integration.commands.handler import REFUSAL_CLAIM_PREFIX

    old_day, today = NOW - timedelta(days=3), NOW - timedelta(hours=1)
    store.claims.claim("jira", "10001", f"{REFUSAL_CLAIM_PREFIX}u1/{old_day:%Y-%m-%d}", old_day)
    store.claims.claim("jira", "10001", f"{REFUSAL_CLAIM_PREFIX}u1/{today:%Y-%m-%d}", today)
    store.claims.claim("jira", "10001", "stale-in-progress/1/0/comment", old_day)
    report = run_retention(store, None, POLICY, NOW)
    assert report.refusal_claims == 1
    assert "1 day-scoped refusal claims" in report.summary()
    assert not store.claims.claimed_before("jira", "10001", f"{REFUSAL_CLAIM_PREFIX}u1/{old_day:%Y-%m-%d}")
    assert store.claims.claimed_before("jira", "10001", f"{REFUSAL_CLAIM_PREFIX}u1/{today:%Y-%m-%d}")
    assert store.claims.claimed_before("jira", "10001", "stale-in-progress/1/0/comment")
