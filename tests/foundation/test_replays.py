"""Replays: a captured, correctly signed body posted again later must not act again."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator

import pytest
import redis as redis_lib
from flask.testing import FlaskClient
from rq import Queue

from integration.app import create_app
from integration.queue import QUEUE_NAME
from integration.settings import SettingsError, load_settings
from tests.foundation.helpers import (
    JIRA_SECRET,
    LINEAR_SECRET,
    MINIMAL_RULES,
    fixture,
    jira_request,
    linear_request,
)

JIRA_UPDATED = "jira_issue_updated.status_change.cloud-2024.json"
LINEAR_OLD_ENVELOPE = "issue_update.state_change.2021.json"  # no webhookTimestamp
HOUR_MS = 3_600_000


@pytest.fixture
def app_env(db_url: str, redis_url: str) -> dict[str, str]:
    return {"DATABASE_URL": db_url, "REDIS_URL": redis_url, "JIRA_WEBHOOK_SECRET": JIRA_SECRET,
            "LINEAR_WEBHOOK_SECRET": LINEAR_SECRET, "RULES_DIR": str(MINIMAL_RULES)}


@pytest.fixture
def client(app_env: dict[str, str]) -> Iterator[FlaskClient]:
    yield create_app(app_env).test_client()


def queued(redis_url: str) -> int:
    return Queue(QUEUE_NAME, connection=redis_lib.Redis.from_url(redis_url)).count


def now_ms() -> int:
    return int(time.time() * 1000)


def test_a_45_day_old_jira_body_under_a_new_identifier_is_refused(client: FlaskClient, redis_url: str) -> None:
    body, headers = jira_request(fixture("jira", JIRA_UPDATED), timestamp_ms=now_ms() - 45 * 24 * HOUR_MS)
    response = client.post("/webhooks/jira", data=body, headers=headers)
    assert (response.status_code, response.json["status"]) == (401, "stale")
    assert "FLOWKEEPER_WEBHOOK_MAX_AGE" in response.json["reason"]
    assert queued(redis_url) == 0


def test_a_late_jira_retry_within_the_bound_is_accepted(client: FlaskClient, redis_url: str) -> None:
    body, headers = jira_request(fixture("jira", JIRA_UPDATED), timestamp_ms=now_ms() - 2 * HOUR_MS)
    assert client.post("/webhooks/jira", data=body, headers=headers).json["status"] == "queued"


def test_a_jira_body_stamped_far_in_the_future_is_refused(client: FlaskClient) -> None:
    body, headers = jira_request(fixture("jira", JIRA_UPDATED), timestamp_ms=now_ms() + 30 * 24 * HOUR_MS)
    response = client.post("/webhooks/jira", data=body, headers=headers)
    assert response.status_code == 401 and "in the future" in response.json["reason"]


def test_the_bound_is_configurable(app_env: dict[str, str]) -> None:
    strict = create_app({**app_env, "FLOWKEEPER_WEBHOOK_MAX_AGE": "1"}).test_client()
    body, headers = jira_request(fixture("jira", JIRA_UPDATED), timestamp_ms=now_ms() - 2 * HOUR_MS)
    assert strict.post("/webhooks/jira", data=body, headers=headers).status_code == 401
    with pytest.raises(SettingsError, match="FLOWKEEPER_WEBHOOK_MAX_AGE"):
        load_settings({"FLOWKEEPER_WEBHOOK_MAX_AGE": "soon"})
    assert load_settings({"FLOWKEEPER_WEBHOOK_MAX_AGE": "12h"}).webhooks.max_age.total_seconds() == 12 * 3600


def test_a_jira_timestamp_that_is_not_a_number_is_malformed(client: FlaskClient) -> None:
    body, headers = jira_request(json.dumps({**fixture("jira", JIRA_UPDATED), "timestamp": "yesterday"}).encode())
    response = client.post("/webhooks/jira", data=body, headers=headers)
    assert (response.status_code, response.json["status"]) == (400, "malformed")


def test_a_correct_sha1_signature_is_refused(client: FlaskClient, redis_url: str) -> None:
    body, headers = jira_request(fixture("jira", JIRA_UPDATED))
    headers["X-Hub-Signature"] = "sha1=" + hmac.new(JIRA_SECRET.encode(), body, hashlib.sha1).hexdigest()
    response = client.post("/webhooks/jira", data=body, headers=headers)
    assert (response.status_code, response.json["status"]) == (401, "bad_signature")
    assert queued(redis_url) == 0


def test_an_old_linear_envelope_is_accepted_once_whatever_its_delivery_id(client: FlaskClient,
                                                                          redis_url: str) -> None:
    payload = fixture("linear", LINEAR_OLD_ENVELOPE)
    assert "webhookTimestamp" not in payload
    answers = []
    for n in range(3):
        body, headers = linear_request(payload, delivery=f"replay-{n}")
        headers["Linear-Timestamp"] = str(now_ms())  # an unsigned header proves nothing
        answers.append(client.post("/webhooks/linear", data=body, headers=headers).json["status"])
    assert answers == ["queued", "duplicate", "duplicate"]
    assert queued(redis_url) == 1


def test_a_later_change_to_the_same_linear_issue_is_not_a_duplicate(client: FlaskClient, redis_url: str) -> None:
    payload = fixture("linear", LINEAR_OLD_ENVELOPE)
    later = {**payload, "data": {**payload["data"], "updatedAt": "2031-01-01T00:00:00.000Z"}}
    for body, headers in (linear_request(payload), linear_request(later)):
        assert client.post("/webhooks/linear", data=body, headers=headers).json["status"] == "queued"
    assert queued(redis_url) == 2


def test_timestamped_linear_deliveries_keep_their_own_delivery_id(client: FlaskClient) -> None:
    body, headers = linear_request(fixture("linear", LINEAR_OLD_ENVELOPE), delivery="lin-7", timestamp_ms=now_ms())
    assert client.post("/webhooks/linear", data=body, headers=headers).json["delivery"] == "lin-7"
