"""Jira Cloud's rate limits on API-token traffic, as the stub counts and answers them.

Two limits meet API-token traffic (Atlassian's "Rate limiting" page and "Build an app that
respects rate limits"):
- the burst limit: requests per second per tenant, per endpoint and HTTP method, kept with a
  token bucket (short bursts pass, the average may not); a refusal says
  `RateLimit-Reason: jira-burst-based`;
- the per-issue write limit: how often one issue may be changed; `jira-per-issue-on-write`.

Atlassian publishes no number for either, so the stub's are stand-ins, set on `StubState`
(or with `POST /_stub/limits`): 100 requests a second per endpoint and method, 2 writes a
second per issue, each bucket holding one second's worth. Every Jira answer carries the
endpoint's burst budget in `X-RateLimit-Limit` / `X-RateLimit-Remaining`, and
`X-RateLimit-NearLimit: true` when under 20 % of a budget the request drew on is left. A
refusal (429) carries `Retry-After` (whole seconds until the bucket has a token again),
`X-RateLimit-Reset` (the request's time plus Retry-After, `yyyy-MM-ddTHH:mmZ` as the docs
give it), `RateLimit-Reason`, and the breached limit's `X-RateLimit-Limit` with
`X-RateLimit-Remaining: 0`.

The stub always counts; it refuses only while `enforce` is on, so suites that drive it
harder than a site would (tests writing to one issue many times in a millisecond) keep
testing what they test.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

BURST = "jira-burst-based"
PER_ISSUE = "jira-per-issue-on-write"
NEAR = 0.2  # X-RateLimit-NearLimit: less than this share of a budget is left


@dataclass
class Bucket:
    tokens: float
    at: float


@dataclass(frozen=True)
class Answer:
    """The rate-limit headers for one request, and the reason when it is refused."""

    headers: dict[str, str]
    refused: str | None = None


@dataclass
class JiraLimits:
    burst_per_second: float = 100.0  # per endpoint (route) and method; Atlassian publishes no number
    issue_writes_per_second: float = 2.0  # per issue; likewise a stand-in
    enforce: bool = False  # answer 429 when a bucket is empty (else only say so in the headers)
    clock: Callable[[], float] = time.monotonic  # the buckets' time (tests pass their own)
    buckets: dict[str, Bucket] = field(default_factory=dict)

    def answer(self, method: str, route: str, issue: str | None, wall: datetime) -> Answer:
        """Spend the request's tokens: the endpoint's burst bucket, and the issue's when it writes to one."""
        now = self.clock()
        burst = self._take(f"{method} {route}", self.burst_per_second, now)
        if burst is not None:
            return self._refusal(BURST, self.burst_per_second, burst, wall)
        left = self._left(f"{method} {route}")
        near = left < NEAR * self.burst_per_second
        if issue is not None:
            waits = self._take(f"issue {issue}", self.issue_writes_per_second, now)
            if waits is not None:
                return self._refusal(PER_ISSUE, self.issue_writes_per_second, waits, wall)
            near = near or self._left(f"issue {issue}") < NEAR * self.issue_writes_per_second
        headers = {"X-RateLimit-Limit": _count(self.burst_per_second), "X-RateLimit-Remaining": str(math.floor(left))}
        if near:
            headers["X-RateLimit-NearLimit"] = "true"
        return Answer(headers)

    def reset(self) -> None:
        self.buckets.clear()

    def _take(self, key: str, rate: float, now: float) -> float | None:
        """Take a token; None when there was one, else the seconds until there is (enforcing only)."""
        size = max(1.0, rate)
        bucket = self.buckets.setdefault(key, Bucket(size, now))
        bucket.tokens = min(size, bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        if not self.enforce:
            bucket.tokens = 0.0
            return None
        return (1 - bucket.tokens) / rate

    def _left(self, key: str) -> float:
        return max(0.0, self.buckets[key].tokens)

    @staticmethod
    def _refusal(reason: str, limit: float, wait: float, wall: datetime) -> Answer:
        headers = refusal_headers(reason, max(1.0, wait), wall)
        return Answer({**headers, "X-RateLimit-Limit": _count(limit), "X-RateLimit-Remaining": "0"}, refused=reason)


def _count(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def refusal_headers(reason: str, retry_after: float, wall: datetime) -> dict[str, str]:
    """A forced 429's headers (the stub's `429` fault), as Jira sends them."""
    seconds = max(0, math.ceil(retry_after))
    reset = (wall.astimezone(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%MZ")
    return {"Retry-After": str(seconds), "X-RateLimit-Reset": reset, "RateLimit-Reason": reason}
