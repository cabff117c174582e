"""Failed jobs: RQ's failed registry (requeue re-runs the delivery, delete drops it), the embedded queue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import redis as redis_lib
from flask import Flask
from flask.testing import FlaskClient
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.registry import FailedJobRegistry

from integration.app import create_app
from integration.codec import body_envelope
from integration.jobs import use_services
from integration.queue import QUEUE_NAME, job_id_for
from integration.runner import EmbeddedRunner
from integration.services import Services
from integration.store.audit import AuditFilter
from tests.admin.helpers import (
    JIRA_SECRET,
    JIRA_TOKEN,
    JIRA_URL,
    base_env,
    captured_jira_request,
    jira_payload,
    login,
    post,
)
from tests.services import MakeServices
from tests.stub import JiraStub


@dataclass
class RedisApp:
    app: Flask
    admin: FlaskClient
    services: Services
    tracker: JiraStub
    connection: redis_lib.Redis

    def deliver(self, delivery: str, key: str) -> Job:
        """Queue a signed delivery with no retries left, so its first failure lands in the failed registry."""
        payload = jira_payload(key)
        self.tracker.seed(payload["issue"])  # the issue the delivery speaks of, as Jira holds it
        body, headers = captured_jira_request(payload, delivery=delivery, secret=JIRA_SECRET)
        assert (
            self.app.test_client().post("/webhooks/jira", data=body, headers=headers).json["status"]
            == "queued"
        )
        job = Job.fetch(job_id_for("jira", delivery), connection=self.connection)
        job.retries_left = 0
        job.save()
        return job

    def work(self) -> None:
        SimpleWorker([QUEUE_NAME], connection=self.connection).work(burst=True)

    def failed_ids(self) -> list[str]:
        return FailedJobRegistry(QUEUE_NAME, connection=self.connection).get_job_ids()


@pytest.fixture
def rq_app(db_url: str, redis_url: str, make_services: MakeServices, jira_stub: JiraStub) -> Iterator[RedisApp]:
    env = base_env(
        db_url,
        REDIS_URL=redis_url,
        JIRA_URL=JIRA_URL,
        JIRA_USER="bot@example.com",
        JIRA_API_TOKEN=JIRA_TOKEN,
    )
    tracker = jira_stub
    services = make_services(env, clients={"jira": tracker.client})
    app = create_app(services=services)
    admin = app.test_client()
    login(admin)
    use_services(services)
    yield RedisApp(app, admin, services, tracker, redis_lib.Redis.from_url(redis_url))
    use_services(None)


def test_failed_job_is_listed_with_its_error_and_no_secret(rq_app: RedisApp) -> None:
    rq_app.tracker.break_reads(RuntimeError(f"tracker exploded while using {JIRA_TOKEN}"))
    job = rq_app.deliver("d-1", "GBL-11")
    rq_app.work()
    assert rq_app.failed_ids() == [job.id]
    page = rq_app.admin.get("/admin/jobs").get_data(as_text=True)
    assert "jira delivery d-1" in page and "GBL-11" in page
    assert "RuntimeError: tracker exploded while using ***" in page
    assert JIRA_TOKEN not in page
    listed = rq_app.admin.get("/admin/jobs.json").json
    assert listed["total"] == 1 and listed["jobs"][0]["id"] == job.id
    assert rq_app.admin.get("/admin/overview.json").json["queue"]["queues"][0]["failed"] == 1


def test_requeue_runs_the_delivery_again_and_it_completes(rq_app: RedisApp) -> None:
    rq_app.tracker.break_reads(RuntimeError("tracker exploded"))
    job = rq_app.deliver("d-2", "GBL-12")
    rq_app.work()
    store = rq_app.services.store
    assert store.deliveries.state_of("jira", "d-2") == "failed"
    rq_app.tracker.break_reads(None)  # the cause is fixed; the admin requeues
    response = post(rq_app.admin, f"/admin/jobs/{job.id}/requeue")
    assert response.status_code == 302
    assert rq_app.failed_ids() == []
    assert Queue(QUEUE_NAME, connection=rq_app.connection).job_ids == [job.id]
    assert store.deliveries.state_of("jira", "d-2") == "pending"
    rq_app.work()
    assert store.deliveries.state_of("jira", "d-2") == "done"
    assert [e.outcome.value for e in store.audit.page() if e.item_key == "GBL-12" and e.rule]
    assert "Requeued jira delivery d-2." in rq_app.admin.get("/admin/jobs").get_data(as_text=True)


def test_delete_removes_the_failed_job(rq_app: RedisApp) -> None:
    rq_app.tracker.break_reads(RuntimeError("tracker exploded"))
    job = rq_app.deliver("d-3", "GBL-13")
    rq_app.work()
    assert post(rq_app.admin, f"/admin/jobs/{job.id}/delete").status_code == 302
    assert rq_app.failed_ids() == []
    assert not Job.exists(job.id, connection=rq_app.connection)
    again = post(rq_app.admin, f"/admin/jobs/{job.id}/requeue")
    assert again.status_code == 302
    assert "no longer in the failed list" in rq_app.admin.get("/admin/jobs").get_data(as_text=True)


@pytest.fixture
def embedded(app: Flask, admin: FlaskClient) -> Services:
    return app.extensions["flowkeeper"].services  # type: ignore[no-any-return]


def _failed_delivery(services: Services, delivery: str, key: str) -> None:
    """A delivery the embedded runner gave up on, as `EmbeddedRunner._failed` leaves it."""
    now = datetime.now(UTC)
    envelope = body_envelope("jira", delivery, json.dumps(jira_payload(key)), key, now)  # as the receiver queues it
    services.store.deliveries.enqueue("jira", delivery, envelope, now)
    services.store.deliveries.begin("jira", delivery, now)
    services.store.deliveries.finish("jira", delivery, "failed", "OperationalError: database is locked", now)


def test_embedded_failed_deliveries_can_be_requeued(embedded: Services, admin: FlaskClient) -> None:
    _failed_delivery(embedded, "e-1", "GBL-21")
    page = admin.get("/admin/jobs").get_data(as_text=True)
    assert "Failed deliveries of the embedded queue" in page
    assert "jira delivery e-1" in page and "database is locked" in page
    job_id = admin.get("/admin/jobs.json").json["jobs"][0]["id"]
    assert post(admin, f"/admin/jobs/{job_id}/requeue").status_code == 302
    assert embedded.store.deliveries.state_of("jira", "e-1") == "pending"
    assert [e.action for e in embedded.store.audit.page(AuditFilter(tracker="admin"))] == ["admin:requeue"]
    EmbeddedRunner(embedded).run_pending()
    assert embedded.store.deliveries.state_of("jira", "e-1") == "done"
    assert admin.get("/admin/jobs.json").json["total"] == 0


def test_embedded_failed_delivery_can_be_deleted(embedded: Services, admin: FlaskClient) -> None:
    _failed_delivery(embedded, "e-2", "GBL-22")
    job_id = admin.get("/admin/jobs.json").json["jobs"][0]["id"]
    assert post(admin, f"/admin/jobs/{job_id}/delete").status_code == 302
    assert embedded.store.deliveries.state_of("jira", "e-2") is None
    trail = embedded.store.audit.page(AuditFilter(tracker="admin"))
    assert [(e.action, e.detail["job"]) for e in trail] == [("admin:delete_job", job_id)]
    assert post(admin, "/admin/jobs/not-a-number/delete").status_code == 302  # gone: a message, not a 500


def test_nothing_failed(admin: FlaskClient) -> None:
    assert "Nothing has failed." in admin.get("/admin/jobs").get_data(as_text=True)
