"""The Jira client answers each rate limit in its own scope, on the stub's Jira headers:
a burst 429 slows that endpoint, a per-issue 429 spaces writes to that issue, and nothing
else waits. Time is a fake clock that the client's sleeps move (no test sleeps)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import responses

from integration.stubtracker.app import create_stub_app
from integration.stubtracker.state import Fault, StubState
from integration.trackers.base import RateLimited
from integration.trackers.jira.client import JiraClient
from integration.trackers.jira.normalize import JiraConfig
from integration.trackers.jira.pacing import endpoint, written_issue
from integration.trackers.retry import RetryPolicy
from rules.model import Item, Tracker
from tests.stub import JIRA_BASE, jira_issue, serve

NOW = datetime(2026, 12, 4, 17, 24, 0, tzinfo=UTC)
API = "/rest/api/3"
ONCE = RetryPolicy(tries=1)


class Clock:
    """Monotonic seconds for the client and the stub's buckets; the client's sleeps move it."""

    def __init__(self) -> None:
        self.now, self.sleeps = 1000.0, []  # type: ignore[var-annotated]

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(clock: Clock) -> Iterator[StubState]:
    state = StubState(now=NOW)
    state.jira_limits.clock = clock
    for key in ("ENG-1", "ENG-2"):
        state.jira_issues[key] = jira_issue(key)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serve(create_stub_app(state), mock, JIRA_BASE)
        yield state


def client(clock: Clock, retry: RetryPolicy = RetryPolicy(), write_interval: float = 0.0) -> JiraClient:
    config = JiraConfig(site_url=JIRA_BASE, story_points_field="customfield_10016", priority_ranks={"3": 3})
    return JiraClient(JIRA_BASE, "bot@acme.test", "token", config=config, retry=retry, sleep=clock.sleep,
                      clock=clock, wall_clock=lambda: NOW, write_interval=write_interval)


def item(key: str) -> Item:
    return Item(tracker=Tracker.JIRA, id=f"1{key[-1].zfill(4)}", key=key)


def sent(state: StubState, method: str, path: str) -> int:
    return sum(1 for r in state.requests if r["method"] == method and r["path"] == path)


def test_a_burst_429_holds_that_endpoint_only(state: StubState, clock: Clock) -> None:
    state.fault = Fault("429", count=1, retry_after=3, paths=(f"{API}/issue/ENG-1",), methods=frozenset({"GET"}))
    jira = client(clock, ONCE)
    with pytest.raises(RateLimited, match="jira-burst-based") as caught:
        jira.get_item("ENG-1")
    assert caught.value.retry_after == 3.0
    jira.whoami()
    jira.add_labels(item("ENG-1"), ["x"])  # PUT is another endpoint than GET
    assert clock.sleeps == []
    assert jira.get_item("ENG-2").key == "ENG-2"  # the same endpoint, another key: held
    assert clock.sleeps == [3.0]


def test_a_burst_429_is_waited_once_then_retried(state: StubState, clock: Clock) -> None:
    state.fault = Fault("429", count=1, retry_after=4, paths=(f"{API}/issue/ENG-1",))
    assert client(clock).get_item("ENG-1").key == "ENG-1"
    assert clock.sleeps == [4.0] and sent(state, "GET", f"{API}/issue/ENG-1") == 2


def test_a_per_issue_429_spaces_writes_to_that_issue_and_nothing_else(state: StubState, clock: Clock) -> None:
    state.fault = Fault("429", count=1, retry_after=2, reason="jira-per-issue-on-write",
                        paths=(f"{API}/issue/ENG-1",), methods=frozenset({"PUT"}))
    jira = client(clock, ONCE)
    with pytest.raises(RateLimited, match="jira-per-issue-on-write"):
        jira.add_labels(item("ENG-1"), ["x"])
    jira.add_labels(item("ENG-2"), ["x"])  # the same endpoint, another issue
    jira.get_item("ENG-1")  # reading the issue
    assert clock.sleeps == []
    jira.add_labels(item("ENG-1"), ["x"])
    jira.remove_labels(item("ENG-1"), ["x"])  # and later writes to it keep the pace Jira asked for
    assert clock.sleeps == [2.0, 2.0]


def test_writes_past_the_stubs_per_issue_limit_wait_its_retry_after_and_all_land(
    state: StubState, clock: Clock
) -> None:
    state.jira_limits.enforce = True  # 2 writes a second per issue
    jira = client(clock)
    for label in ("a", "b", "c", "d"):
        jira.add_labels(item("ENG-1"), [label])
    refused = [r for r in state.requests if r["method"] == "PUT"]
    assert len(refused) == 5  # one 429, retried once, and none after it: the pace held
    # NearLimit after the 2nd write slows the endpoint to 100/s (0.01 s); then Retry-After, then that pace
    assert clock.sleeps == [0.01, 1.0, 1.0]
    assert state.jira_issues["ENG-1"]["fields"]["labels"] == ["a", "b", "c", "d"]


def test_near_the_burst_limit_the_endpoint_goes_at_its_advertised_rate(state: StubState, clock: Clock) -> None:
    state.jira_limits.burst_per_second, state.jira_limits.enforce = 5, True
    jira = client(clock)
    for _ in range(12):
        jira.get_item("ENG-2")
    statuses = sent(state, "GET", f"{API}/issue/ENG-2")
    assert statuses == 12  # no 429: slowed before the bucket ran dry
    assert all(s == pytest.approx(0.2) for s in clock.sleeps) and clock.sleeps  # 1 / X-RateLimit-Limit


def test_without_retry_after_the_reset_time_says_how_long(clock: Clock) -> None:
    with responses.RequestsMock() as mock:
        mock.get(f"{JIRA_BASE}{API}/myself", status=429,
                 headers={"X-RateLimit-Reset": "2026-12-04T17:25Z", "RateLimit-Reason": "jira-burst-based"})
        mock.get(f"{JIRA_BASE}{API}/myself", json={"accountId": "me", "displayName": "Flowkeeper"})
        client(clock).whoami()
    assert clock.sleeps == [60.0]


def test_a_hold_longer_than_the_policy_waits_sends_nothing(state: StubState, clock: Clock) -> None:
    state.fault = Fault("429", count=1, retry_after=600, paths=(f"{API}/issue/ENG-1",))
    jira = client(clock)
    with pytest.raises(RateLimited):
        jira.get_item("ENG-1")
    with pytest.raises(RateLimited) as caught:
        jira.get_item("ENG-2")
    assert caught.value.retry_after == 600.0 and sent(state, "GET", f"{API}/issue/ENG-2") == 0
    assert clock.sleeps == []


def test_an_endpoint_is_its_method_and_route_and_a_write_names_its_issue() -> None:
    assert endpoint("GET", f"{API}/issue/ENG-1/comment?startAt=0") == f"GET {API}/issue/{{}}/comment"
    assert endpoint("PUT", f"{API}/issue/ENG-1/comment/10001") == f"PUT {API}/issue/{{}}/comment/{{}}"
    assert endpoint("POST", f"{API}/issue/bulkfetch") == f"POST {API}/issue/bulkfetch"
    assert written_issue("PUT", f"{API}/issue/ENG-1/comment/10001") == "ENG-1"
    assert written_issue("POST", f"{API}/issue/ENG-1/transitions") == "ENG-1"
    assert written_issue("POST", f"{API}/issue/bulkfetch") is None
    assert written_issue("POST", f"{API}/comment/list") is None
    assert written_issue("GET", f"{API}/issue/ENG-1") is None
