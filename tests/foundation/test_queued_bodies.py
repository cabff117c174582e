"""The receiver queues the verified body as it came; the worker normalizes it when the job runs."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import redis as redis_lib
from rq import Queue
from sqlalchemy import select

from integration.app import create_app
from integration.codec import body_envelope, event_envelope
from integration.jobs import use_services
from integration.queue import QUEUE_NAME, RedisDeliveryQueue
from integration.store.tables import deliveries
from integration.trackers.jira.normalize import JiraConfig, normalize
from tests.foundation.helpers import JIRA_SECRET, MINIMAL_RULES, fixture, jira_request
from tests.services import MakeServices

JIRA_UPDATED = "jira_issue_updated.status_change.cloud-2024.json"


def _env(redis_url: str) -> dict[str, str]:
    return {"REDIS_URL": redis_url, "RULES_DIR": str(MINIMAL_RULES), "JIRA_WEBHOOK_SECRET": JIRA_SECRET}


def _run_job(services: Any, redis_url: str) -> Any:
    """The one queued job, run the way the worker runs it, here in the test's thread."""
    (job,) = Queue(QUEUE_NAME, connection=redis_lib.Redis.from_url(redis_url)).jobs
    use_services(services)
    try:
        return job.perform()
    finally:
        use_services(None)


def test_a_delivery_is_queued_as_its_body_and_processed_by_the_worker(make_services: MakeServices,
                                                                       redis_url: str) -> None:
    services = make_services(_env(redis_url))
    body, headers = jira_request(fixture("jira", JIRA_UPDATED), delivery="body-1")
    answer = create_app(services=services).test_client().post("/webhooks/jira", data=body, headers=headers)
    assert (answer.json["status"], answer.json["item"]) == ("queued", "GBL-142")
    (job,) = Queue(QUEUE_NAME, connection=redis_lib.Redis.from_url(redis_url)).jobs
    assert job.args[0]["body"] == body.decode() and "event" not in job.args[0]
    _run_job(services, redis_url)
    assert services.store.deliveries.state_of("jira", "body-1") == "done"
    assert [h.new for h in services.store.mirror.history("jira", "10705") if h.field == "status"] == ["To Be Released"]


def test_a_body_whose_outline_is_wrong_is_refused_with_the_reason(make_services: MakeServices,
                                                                  redis_url: str) -> None:
    payload = copy.deepcopy(fixture("jira", JIRA_UPDATED))
    del payload["issue"]["key"]
    services = make_services(_env(redis_url))
    body, headers = jira_request(payload, delivery="outline-0")
    answer = create_app(services=services).test_client().post("/webhooks/jira", data=body, headers=headers)
    assert answer.status_code == 400 and answer.json["status"] == "malformed"
    assert answer.json["reason"] == "jira:issue_updated without an issue key"
    assert Queue(QUEUE_NAME, connection=redis_lib.Redis.from_url(redis_url)).jobs == []


def test_a_body_with_a_field_of_the_wrong_shape_is_queued_and_its_delivery_fails_with_the_reason(
        make_services: MakeServices, redis_url: str) -> None:
    """The receiver reads the outline only; the worker's normalizer finds the field at fault and the
    delivery ends failed with the reason, once (a retry would read the same body)."""
    payload = copy.deepcopy(fixture("jira", JIRA_UPDATED))
    payload["issue"]["fields"]["labels"] = 5  # the outline is fine; a field is not
    services = make_services(_env(redis_url))
    body, headers = jira_request(payload, delivery="deep-0")
    answer = create_app(services=services).test_client().post("/webhooks/jira", data=body, headers=headers)
    assert (answer.status_code, answer.json["status"], answer.json["item"]) == (200, "queued", "GBL-142")
    outcome = _run_job(services, redis_url)
    assert outcome.startswith("malformed: a field has an unexpected type")
    with services.store.engine.connect() as conn:
        row = conn.execute(select(deliveries.c.state, deliveries.c.outcome, deliveries.c.item_key)
                           .where(deliveries.c.delivery_id == "deep-0")).one()
    assert row.state == "failed" and row.outcome.startswith("malformed: a field has an unexpected type")
    assert row.item_key == "GBL-142"
    assert services.store.deliveries.counts().get("failed") == 1  # flowkeeper_deliveries{state="failed"}


def test_a_queued_body_whose_fields_the_worker_cannot_read_fails_once_with_the_reason(make_services: MakeServices,
                                                                                    redis_url: str) -> None:
    """A body queued before a stricter release (or read with other site facts) ends failed, no retry."""
    payload = copy.deepcopy(fixture("jira", JIRA_UPDATED))
    payload["issue"]["fields"]["labels"] = 5
    services = make_services(_env(redis_url))
    now = datetime.now(UTC)
    envelope = body_envelope("jira", "deep-1", json.dumps(payload), "GBL-142", now)
    assert RedisDeliveryQueue(redis_lib.Redis.from_url(redis_url)).submit("jira", "deep-1", envelope, now)
    services.store.deliveries.enqueue("jira", "deep-1", envelope, now)
    outcome = _run_job(services, redis_url)  # returns: no retry, the body will not change
    assert outcome.startswith("malformed: a field has an unexpected type")
    with services.store.engine.connect() as conn:
        state, outcome = conn.execute(
            select(deliveries.c.state, deliveries.c.outcome).where(deliveries.c.delivery_id == "deep-1")
        ).one()
    assert state == "failed" and outcome.startswith("malformed: a field has an unexpected type")


def test_a_delivery_queued_by_the_previous_release_still_runs(make_services: MakeServices, redis_url: str) -> None:
    services = make_services(_env(redis_url))
    event = normalize(fixture("jira", JIRA_UPDATED), JiraConfig())
    assert event is not None
    envelope = event_envelope(replace(event, delivery_id="old-1"), datetime.now(UTC))
    assert RedisDeliveryQueue(redis_lib.Redis.from_url(redis_url)).submit("jira", "old-1", envelope, datetime.now(UTC))
    _run_job(services, redis_url)
    assert services.store.deliveries.state_of("jira", "old-1") == "done"
