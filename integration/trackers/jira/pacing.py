"""Jira's rate limits, remembered per endpoint and per issue: how long before the next request.

API-token traffic meets two limits of different scope (Atlassian's "Rate limiting"), and each
429 names its own in `RateLimit-Reason`, so each gets its own answer and nothing else waits:
- `jira-burst-based` (per second, per endpoint and HTTP method): that endpoint — method and
  route, `GET /rest/api/3/issue/{}` — is held for the 429's Retry-After. While an answer says
  under 20 % of its budget is left (`X-RateLimit-NearLimit: true`, or Remaining under a fifth of
  Limit), requests to that endpoint go at most Limit a second.
- `jira-per-issue-on-write`: writes to that issue only are held for Retry-After, and from then
  on spaced at least that far apart. Reads, and writes to other issues, carry on.
A 429 with another reason, or none, holds its endpoint. Every write to an issue is also spaced
by `write_interval` (Flowkeeper's own pace, under the per-issue limit before Jira says so).
Retry-After is read first; without it, `X-RateLimit-Reset` (`yyyy-MM-ddTHH:mmZ`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

BURST = "jira-burst-based"
PER_ISSUE = "jira-per-issue-on-write"
NEAR = 0.2
WRITES = frozenset({"PUT", "POST", "DELETE"})
_NOT_IDS = "bulkfetch|createmeta|picker|list|search|properties"
_ID = re.compile(rf"/(issue|comment|project)/(?!(?:{_NOT_IDS})(?:/|$))[^/]+")
_ISSUE = re.compile(rf"^/rest/api/\d+/issue/(?!(?:{_NOT_IDS})(?:/|$))([^/]+)")
FORGET_AFTER = 600.0  # seconds: an issue not written to for this long is forgotten (memory stays small)


def endpoint(method: str, path: str) -> str:
    """Jira's burst scope: the method and the route, ids and keys left out."""
    return f"{method.upper()} {_ID.sub(lambda m: f'/{m.group(1)}/{{}}', path.split('?')[0])}"


def written_issue(method: str, path: str) -> str | None:
    """The issue a request writes to, if it writes to one (a search or bulk read by POST does not)."""
    found = _ISSUE.match(path) if method.upper() in WRITES else None
    return found.group(1) if found else None


def header(headers: Mapping[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def retry_after(headers: Mapping[str, str], wall: datetime) -> float | None:
    """Seconds to wait: Retry-After, else until X-RateLimit-Reset, else None (back off as for a 5xx)."""
    value = header(headers, "Retry-After")
    try:
        if value is not None:
            return max(0.0, float(value))
    except ValueError:
        pass
    reset = header(headers, "X-RateLimit-Reset")
    try:
        when = datetime.fromisoformat(reset.replace("Z", "+00:00")) if reset else None
    except ValueError:
        return None
    if when is None:
        return None
    return max(0.0, (when.astimezone(UTC) - wall.astimezone(UTC)).total_seconds())


@dataclass
class Pacer:
    """Holds and spacings per endpoint and per issue, on a monotonic clock."""

    clock: Callable[[], float]
    write_interval: float = 1.0
    held: dict[str, float] = field(default_factory=dict)  # endpoint or issue → not before
    spacing: dict[str, float] = field(default_factory=dict)  # endpoint or issue → seconds between requests
    last: dict[str, float] = field(default_factory=dict)  # endpoint or issue → last sent
    limits: dict[str, float] = field(default_factory=dict)  # endpoint → X-RateLimit-Limit it last advertised
    issue_write_limit: float | None = None  # the X-RateLimit-Limit of the last per-issue 429

    def wait(self, method: str, path: str) -> float:
        """Seconds before this request may go (0 when it may go now)."""
        now = self.clock()
        scopes = [endpoint(method, path)]
        issue = written_issue(method, path)
        if issue is not None:
            scopes.append(f"issue {issue}")
        until = now
        for scope in scopes:
            gap = self.spacing.get(scope, self.write_interval if scope.startswith("issue ") else 0.0)
            until = max(until, self.held.get(scope, now), self.last.get(scope, -math.inf) + gap)
        return round(until - now, 3)

    def sent(self, method: str, path: str) -> None:
        now = self.clock()
        self.last[endpoint(method, path)] = now
        issue = written_issue(method, path)
        if issue is not None:
            self.last[f"issue {issue}"] = now
            if len(self.last) > 4096:
                self._forget(now)

    def answered(self, method: str, path: str, status: int, headers: Mapping[str, str], wall: datetime) -> float | None:
        """Learn from an answer's headers; for a 429, the seconds to wait (also held here)."""
        scope = endpoint(method, path)
        limit = _number(header(headers, "X-RateLimit-Limit"))
        if status != 429:
            if limit:
                self.limits[scope] = limit
            left = _number(header(headers, "X-RateLimit-Remaining"))
            near = (header(headers, "X-RateLimit-NearLimit") or "").lower() == "true" or (
                limit is not None and left is not None and left < NEAR * limit)
            if near and (limit or self.limits.get(scope)):
                self.spacing[scope] = 1 / (limit or self.limits[scope])
            else:
                self.spacing.pop(scope, None)
            return None
        wait = retry_after(headers, wall)
        issue = written_issue(method, path)
        if (header(headers, "RateLimit-Reason") or "") == PER_ISSUE and issue is not None:
            scope = f"issue {issue}"
            self.issue_write_limit = limit or self.issue_write_limit
            self.spacing[scope] = max(self.write_interval, wait or 0.0)
        self.held[scope] = self.clock() + (wait if wait is not None else 0.0)
        return wait

    def _forget(self, now: float) -> None:
        for scope in [s for s, at in self.last.items() if s.startswith("issue ") and now - at > FORGET_AFTER]:
            self.last.pop(scope, None)
            self.held.pop(scope, None)
            self.spacing.pop(scope, None)


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
