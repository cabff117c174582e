"""`/metrics` in one process: webhook outcomes, queue depth read from Redis, shared figures, the token."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis as redis_lib
import responses
from flask import Flask

from integration.app import create_app
from integration.executor import RetryLater
from integration.logs import JsonFormatter
from integration.observability import record
from integration.observability.figures import COUNTERS_KEY, MemoryFigures, RedisFigures
from integration.store.audit import AuditEntry, Outcome
from integration.trackers.jira.client import JiraClient
from integration.trackers.jira.normalize import JiraConfig
from integration.trackers.retry import RetryPolicy
from rules.model import Tracker
from tests.foundation.helpers import JIRA_SECRET, LINEAR_SECRET, MINIMAL_RULES, fixture, jira_request
from tests.reliability.metrics_text import total, value

JIRA_UPDATED = "jira_issue_updated.status_change.cloud-2024.json"


@pytest.fixture(autouse=True)
def fresh_figures() -> Iterator[None]:
    yield
    record.use_figures(None)


def make_app(db_url: str, redis_url: str | None, **extra: str) -> Flask:
    env = {
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url or "",
        "JIRA_WEBHOOK_SECRET": JIRA_SECRET,
        "LINEAR_WEBHOOK_SECRET": LINEAR_SECRET,
        "RULES_DIR": str(MINIMAL_RULES),
        **extra,
    }
    return create_app(env)


def scrape(app: Flask, **headers: str) -> str:
    response = app.test_client().get("/metrics", headers=headers)
    assert response.status_code == 200, response.data
    return response.data.decode()


def test_webhook_outcomes_and_ack_latency_are_counted(db_url: str, redis_url: str) -> None:
    app = make_app(db_url, redis_url)
    client = app.test_client()
    before = scrape(app)
    body, headers = jira_request(fixture("jira", JIRA_UPDATED), delivery="m-1")
    client.post("/webhooks/jira", data=body, headers=headers)
    client.post("/webhooks/jira", data=body, headers=headers)
    client.post("/webhooks/jira", data=body, headers={**headers, "X-Hub-Signature": "sha256=00"})
    client.post("/webhooks/jira", data=b"{not json", headers=jira_request(b"{not json")[1])
    after = scrape(app)

    def delta(outcome: str) -> float:
        return value(after, "flowkeeper_webhooks_total", tracker="jira", outcome=outcome) - value(
            before, "flowkeeper_webhooks_total", tracker="jira", outcome=outcome
        )

    assert [delta(o) for o in ("queued", "duplicate", "bad_signature", "malformed")] == [1, 1, 1, 1]
    answered = value(after, "flowkeeper_webhook_ack_seconds_count", tracker="jira") - value(
        before, "flowkeeper_webhook_ack_seconds_count", tracker="jira"
    )
    assert answered == 4
    assert value(after, "flowkeeper_queue_jobs", queue="flowkeeper", state="queued") == 1
    assert value(after, "flowkeeper_queue_oldest_job_age_seconds", queue="flowkeeper") >= 0
    assert value(after, "flowkeeper_up", dependency="redis") == 1
    assert value(after, "flowkeeper_up", dependency="database") == 1


def test_figures_counted_by_another_process_are_reported_by_any_web_process(
    db_url: str, redis_url: str
) -> None:
    """A worker elsewhere counts into Redis; the web process reads Redis at scrape time."""
    worker_side = RedisFigures(redis_lib.Redis.from_url(redis_url))
    record.use_figures(worker_side)
    entry = AuditEntry(
        at=datetime.now(UTC),
        tracker="jira",
        action="comment",
        outcome=Outcome.DONE,
        reason="commented",
        item_key="KAN-1",
        rule="stale",
        delivery_id="d-1",
    )
    record.decisions([entry, entry])
    record.tracker_response(
        "linear",
        200,
        {"X-RateLimit-Requests-Remaining": "1234", "X-RateLimit-Complexity-Remaining": "99000"},
        0.05,
    )
    record.tracker_response("jira", 429, {"Retry-After": "3"}, 0.01)
    record.job_finished("jira", "done", 0.0)
    worker_side.close()
    assert redis_lib.Redis.from_url(redis_url).hlen(COUNTERS_KEY) > 0

    text = scrape(make_app(db_url, redis_url))  # binds its own RedisFigures: nothing shared in memory
    assert value(text, "flowkeeper_writes_total", tracker="jira", action="comment", outcome="done") == 2
    assert value(text, "flowkeeper_rule_hits_total", tracker="jira", rule="stale") == 1
    assert value(text, "flowkeeper_tracker_rate_limit_remaining", tracker="linear", kind="requests",
                 endpoint="graphql") == 1234
    assert value(text, "flowkeeper_tracker_rate_limit_remaining", tracker="linear", kind="complexity",
                 endpoint="graphql") == 99000
    assert value(text, "flowkeeper_tracker_calls_total", tracker="jira", outcome="rate_limited") == 1
    assert value(text, "flowkeeper_jobs_total", tracker="jira", outcome="done") == 1
    assert value(text, "flowkeeper_job_seconds_count", tracker="jira") == 1
    assert total(text, "flowkeeper_job_seconds_bucket", tracker="jira", le="+Inf") == 1


def test_embedded_default_keeps_figures_in_memory(db_url: str) -> None:
    app = make_app(db_url, None)
    assert isinstance(record.figures(), MemoryFigures)
    record.count("flowkeeper_jobs_total", tracker="linear", outcome="done")
    text = scrape(app)
    assert value(text, "flowkeeper_jobs_total", tracker="linear", outcome="done") == 1
    assert value(text, "flowkeeper_deliveries", state="pending") == 0
    assert "flowkeeper_queue_jobs" not in text


def test_token_limits_access(db_url: str, redis_url: str) -> None:
    app = make_app(db_url, redis_url, FLOWKEEPER_METRICS_TOKEN="metrics-token-123")
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Basic metrics-token-123"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer metrics-token-123"}).status_code == 200


def test_scrape_answers_while_redis_is_away(db_url: str) -> None:
    dead = "redis://127.0.0.1:1/0"
    app = make_app(db_url, dead)
    record.count("flowkeeper_jobs_total", tracker="jira", outcome="done")  # buffered, cannot be sent
    text = scrape(app)
    assert value(text, "flowkeeper_up", dependency="redis") == 0
    assert value(text, "flowkeeper_up", dependency="shared_figures") == 0
    assert value(text, "flowkeeper_up", dependency="database") == 1


def test_unsent_counts_survive_a_redis_outage(redis_url: str) -> None:
    connection = redis_lib.Redis.from_url(redis_url)
    figures = RedisFigures(redis_lib.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2))
    figures.add("flowkeeper_jobs_total\x1foutcome=done\x1ftracker=jira", 3)
    figures.flush()  # fails: kept in the buffer
    figures.connection = connection
    figures.flush()
    figures.close()
    assert float(connection.hget(COUNTERS_KEY, "flowkeeper_jobs_total\x1foutcome=done\x1ftracker=jira")) == 3


def test_every_decision_is_one_structured_log_line(caplog: pytest.LogCaptureFixture) -> None:
    record.use_figures(MemoryFigures())
    entry = AuditEntry(
        at=datetime.now(UTC),
        tracker="linear",
        action="add_labels",
        outcome=Outcome.WOULD_DO,
        reason="dry run: no assignee",
        item_key="ENG-7",
        rule="needs-owner",
        delivery_id="dlv-9",
    )
    with caplog.at_level(logging.INFO, logger="flowkeeper.decisions"):
        record.decisions([entry])
    line = json.loads(JsonFormatter().format(caplog.records[-1]))
    assert {k: line[k] for k in ("tracker", "item", "rule", "delivery", "outcome", "action")} == {
        "tracker": "linear",
        "item": "ENG-7",
        "rule": "needs-owner",
        "delivery": "dlv-9",
        "outcome": "would_do",
        "action": "add_labels",
    }
    assert line["event"] == "decision.would_do"


def test_openapi_description_is_served(db_url: str) -> None:
    response = make_app(db_url, None).test_client().get("/openapi.yaml")
    assert response.status_code == 200
    assert b"/webhooks/jira" in response.data and b"openapi: 3" in response.data


def test_a_delivery_job_is_counted_as_retried_only_for_the_exceptions_its_caller_names() -> None:
    """The pipeline names `RetryLater`; any other failure of a job is an error."""
    figures = MemoryFigures()
    record.use_figures(figures)

    class Job:
        def __init__(self, failure: Exception) -> None:
            self.failure = failure

        @record.observed_job(retried=(RetryLater,))
        def handle(self, event: object) -> str:
            raise self.failure

    event = type("E", (), {"tracker": Tracker.JIRA, "occurred_at": None})()
    for failure in (RetryLater("429 from Jira"), RuntimeError("bug")):
        with pytest.raises(type(failure)):
            Job(failure).handle(event)
    counters = figures.read().counters
    retried = [k for k in counters if "flowkeeper_jobs_total" in k and "retry" in k]
    errors = [k for k in counters if "flowkeeper_jobs_total" in k and "error" in k]
    assert [counters[k] for k in retried] == [1] and [counters[k] for k in errors] == [1]


def test_jiras_budget_left_is_shown_per_endpoint_in_a_bounded_number_of_series(db_url: str) -> None:
    """Jira's X-RateLimit-Remaining is the burst budget of one endpoint (method and route): one series each,
    ids and keys left out of the route, and past a bound the rest share one `other` series."""
    app = make_app(db_url, None)
    site = "https://acme.atlassian.net"
    jira = JiraClient(site, "u", "token", config=JiraConfig(site_url=site), retry=RetryPolicy(tries=1),
                      sleep=lambda _s: None, write_interval=0)

    def answer(path: str, left: int) -> None:
        mock.get(f"{site}{path}", json={}, headers={"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": str(left)})
        jira.http.call("GET", path)
    with responses.RequestsMock() as mock:
        for n in range(1, 30):
            answer(f"/rest/api/3/issue/KAN-{n}", 60 - n)
        answer("/rest/api/3/search/jql", 97)
        for n in range(60):
            answer(f"/rest/api/3/route-{n}", 80)
    text = scrape(app)
    assert value(text, "flowkeeper_tracker_rate_limit_remaining", tracker="jira", kind="requests",
                 endpoint="GET /rest/api/3/issue/{}") == 31
    assert value(text, "flowkeeper_tracker_rate_limit_remaining", tracker="jira", kind="requests",
                 endpoint="GET /rest/api/3/search/jql") == 97
    assert value(text, "flowkeeper_tracker_rate_limit_remaining", tracker="jira", kind="requests",
                 endpoint="other") == 80
    series = [line for line in text.splitlines() if line.startswith("flowkeeper_tracker_rate_limit_remaining{")]
    assert len(series) <= 33
