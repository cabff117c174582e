"""The stub answers Jira's rate limits as Jira Cloud does for API-token traffic: the burst limit
per endpoint and method, the per-issue write limit, and the headers Atlassian documents."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient

from integration.stubtracker.app import create_stub_app
from integration.stubtracker.state import Fault, StubState
from tests.stub import jira_issue

NOW = datetime(2026, 12, 4, 17, 20, 30, tzinfo=UTC)
API = "/rest/api/3"
RESET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z$")  # yyyy-MM-ddTHH:mmZ, as the docs give it
LABEL = {"update": {"labels": [{"add": "x"}]}}


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def state(ticks: Ticks) -> StubState:
    state = StubState(now=NOW)
    state.jira_limits.clock = ticks
    state.jira_limits.burst_per_second = 10
    for key in ("ENG-1", "ENG-2"):
        state.jira_issues[key] = jira_issue(key)
    return state


@pytest.fixture
def client(state: StubState) -> Iterator[FlaskClient]:
    yield create_stub_app(state).test_client()


def test_every_jira_answer_carries_its_endpoints_burst_budget(client: FlaskClient) -> None:
    first = client.get(f"{API}/issue/ENG-1")
    second = client.get(f"{API}/issue/ENG-2")  # the same endpoint: one budget, whatever the key
    other = client.put(f"{API}/issue/ENG-1", json=LABEL)  # another method: its own budget
    assert first.status_code == 200 and first.headers["X-RateLimit-Limit"] == "10"
    assert first.headers["X-RateLimit-Remaining"] == "9" and second.headers["X-RateLimit-Remaining"] == "8"
    assert other.headers["X-RateLimit-Limit"] == "10" and other.headers["X-RateLimit-Remaining"] == "9"
    assert "X-RateLimit-NearLimit" not in first.headers
    assert "X-RateLimit-Limit" not in client.post("/graphql", json={"query": "query Viewer { viewer { id } }"}).headers


def test_near_limit_is_said_when_under_a_fifth_of_the_budget_is_left(client: FlaskClient) -> None:
    answers = [client.get(f"{API}/search/jql", query_string={"jql": "project = ENG"}) for _ in range(9)]
    said = [a.headers.get("X-RateLimit-NearLimit") for a in answers]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers][-2:] == ["2", "1"]
    assert said[:8] == [None] * 8 and said[8] == "true"  # 1 of 10 left


def test_an_enforced_burst_refusal_says_why_and_when(client: FlaskClient, state: StubState, ticks: Ticks) -> None:
    state.jira_limits.enforce = True
    for _ in range(10):
        assert client.get(f"{API}/issue/ENG-1").status_code == 200
    refused = client.get(f"{API}/issue/ENG-2")
    assert refused.status_code == 429
    assert refused.headers["RateLimit-Reason"] == "jira-burst-based"
    assert refused.headers["Retry-After"] == "1"  # whole seconds
    assert RESET.match(refused.headers["X-RateLimit-Reset"])
    assert refused.headers["X-RateLimit-Reset"] == "2026-12-04T17:20Z"  # request time + Retry-After, to the minute
    assert refused.headers["X-RateLimit-Limit"] == "10" and refused.headers["X-RateLimit-Remaining"] == "0"
    assert client.get(f"{API}/myself").status_code == 200  # other endpoints are not limited by it
    ticks.now += 0.1  # a tenth of a second refills one request of ten a second
    assert client.get(f"{API}/issue/ENG-2").status_code == 200


def test_writes_to_one_issue_meet_the_per_issue_limit_and_only_that_issue(
    client: FlaskClient, state: StubState, ticks: Ticks
) -> None:
    state.jira_limits.enforce = True
    assert [client.put(f"{API}/issue/ENG-1", json=LABEL).status_code for _ in range(2)] == [204, 204]
    refused = client.post(f"{API}/issue/ENG-1/comment", json={"body": "hi"})
    assert refused.status_code == 429 and refused.headers["RateLimit-Reason"] == "jira-per-issue-on-write"
    assert refused.headers["X-RateLimit-Limit"] == "2" and refused.headers["Retry-After"] == "1"
    assert RESET.match(refused.headers["X-RateLimit-Reset"])
    assert client.put(f"{API}/issue/ENG-2", json=LABEL).status_code == 204  # another issue writes on
    assert client.get(f"{API}/issue/ENG-1").status_code == 200  # reading it is no write
    ticks.now += 0.5
    assert client.post(f"{API}/issue/ENG-1/comment", json={"body": "hi"}).status_code == 201


def test_unenforced_the_stub_counts_and_says_so_but_answers(client: FlaskClient) -> None:
    answers = [client.put(f"{API}/issue/ENG-1", json=LABEL) for _ in range(12)]
    assert {a.status_code for a in answers} == {204}
    assert answers[-1].headers["X-RateLimit-Remaining"] == "0"
    assert answers[-1].headers["X-RateLimit-NearLimit"] == "true"


def test_limits_are_set_over_http(client: FlaskClient, state: StubState) -> None:
    client.post("/_stub/limits", json={"burst_per_second": 3, "issue_writes_per_second": 0.5, "enforce": True})
    assert state.jira_limits.enforce and state.jira_limits.issue_writes_per_second == 0.5
    assert client.get(f"{API}/myself").headers["X-RateLimit-Limit"] == "3"
    assert client.put(f"{API}/issue/ENG-1", json=LABEL).status_code == 204
    refused = client.put(f"{API}/issue/ENG-1", json=LABEL)
    assert refused.headers["RateLimit-Reason"] == "jira-per-issue-on-write" and refused.headers["Retry-After"] == "2"


def test_the_429_fault_answers_with_jiras_headers_and_a_chosen_reason(client: FlaskClient, state: StubState) -> None:
    client.post("/_stub/fault", json={"mode": "429", "retry_after": 90, "reason": "jira-per-issue-on-write"})
    refused = client.put(f"{API}/issue/ENG-1", json=LABEL)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "90"
    assert refused.headers["RateLimit-Reason"] == "jira-per-issue-on-write"
    assert refused.headers["X-RateLimit-Reset"] == "2026-12-04T17:22Z"  # 17:20:30 + 90 s
    state.fault = Fault("429", count=1, retry_after=5)
    assert client.get(f"{API}/myself").headers["RateLimit-Reason"] == "jira-burst-based"  # the default
    state.fault = Fault("429", count=1, retry_after=5)
    linear = client.post("/graphql", json={"query": "query Viewer { viewer { id } }"})
    assert linear.status_code == 429 and "RateLimit-Reason" not in linear.headers
