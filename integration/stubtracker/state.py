"""The stub's memory: issues, comments, recorded requests, the fault switch and the clock.

Issues are kept as the trackers serve them (Jira REST issue bodies, Linear GraphQL nodes);
`version` moves on every change so a search can keep its answer until the site changes.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from integration.stubtracker.jiralimits import BURST, JiraLimits

# POSTs that only read: Jira's comment lookup by id, its search and bulk fetch; Linear's queries.
READING_POSTS = ("/rest/api/3/comment/list", "/rest/api/3/search", "/rest/api/3/issue/bulkfetch")
MUTATION = re.compile(r"^\s*mutation\b", re.MULTILINE)


@dataclass
class Fault:
    mode: str  # "429", "ratelimited", "500", "503", "slow"
    count: int  # how many requests it still applies to
    retry_after: float = 1.0
    reason: str = BURST  # a Jira 429's RateLimit-Reason
    delay: float = 2.0
    methods: frozenset[str] = frozenset()  # only requests with these methods (all when empty)
    paths: tuple[str, ...] = ()  # only requests whose path starts with one of these (all when empty)


@dataclass
class StubState:
    jira_issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    jira_comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    linear_issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    linear_labels: dict[str, dict[str, Any]] = field(default_factory=dict)
    linear_comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    jira_users: dict[str, dict[str, Any]] = field(default_factory=dict)  # accountId → user
    jira_changelogs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # key → changelog values
    jira_transitions: list[dict[str, Any]] = field(default_factory=list)  # every status change made
    linear_users: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → user
    linear_states: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # team id → workflow states
    linear_history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # issue id → state changes
    linear_remaining: int = 2400  # what Linear's rate-limit headers say is left this hour
    linear_reset_in_ms: int = 3_600_000
    jira_limits: JiraLimits = field(default_factory=JiraLimits)  # burst and per-issue write budgets
    now: datetime | None = None  # the time writes are stamped with (the wall clock when None)
    version: int = 0  # moves on every change: search answers are kept per version
    answers: dict[str, tuple[int, list[Any]]] = field(default_factory=dict)  # search → (version, found)
    keep_requests: bool = True  # False: count requests without keeping them (large benchmarks)
    reads: int = 0
    writes: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    fault: Fault | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    ids: itertools.count = field(default_factory=lambda: itertools.count(10000))

    def next_id(self) -> str:
        return str(next(self.ids))

    def clock(self) -> datetime:
        return self.now or datetime.now(UTC)

    def changed(self) -> None:
        self.version += 1

    def cached(self, query: str, find: Callable[[], list[Any]]) -> list[Any]:
        """A search's answer, worked out again only when the site changed since it was last asked."""
        kept = self.answers.get(query)
        if kept is None or kept[0] != self.version:
            kept = self.answers[query] = (self.version, find())
        return kept[1]

    def record(self, entry: dict[str, Any]) -> None:
        """One request: counted as a read or a write, and kept unless `keep_requests` is off."""
        with self.lock:
            if is_write(entry):
                self.writes += 1
            else:
                self.reads += 1
            if self.keep_requests:
                self.requests.append(entry)

    def take_fault(self, method: str = "GET", path: str = "") -> Fault | None:
        with self.lock:
            if self.fault is None or self.fault.count <= 0:
                return None
            if self.fault.methods and method not in self.fault.methods:
                return None
            if self.fault.paths and not path.startswith(self.fault.paths):
                return None
            self.fault.count -= 1
            return self.fault

    def reset(self) -> None:
        with self.lock:
            for store in (self.jira_issues, self.jira_comments, self.linear_issues, self.linear_labels,
                          self.linear_comments, self.jira_users, self.jira_changelogs, self.linear_users,
                          self.linear_states, self.linear_history):
                store.clear()
            self.jira_transitions.clear()
            self.requests.clear()
            self.fault = None
            self.jira_limits.reset()
            self.reads = self.writes = 0
            self.changed()


def is_write(entry: dict[str, Any]) -> bool:
    """Whether a recorded request changes the tracker: a Jira PUT/POST/DELETE, a Linear mutation."""
    if entry["method"] not in ("POST", "PUT", "DELETE"):
        return False
    if entry["path"] == "/graphql":
        return bool(MUTATION.search(str((entry.get("json") or {}).get("query") or "")))
    return not entry["path"].startswith(READING_POSTS)
