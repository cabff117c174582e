"""The stub's memory: issues, comments, recorded requests and the fault switch."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Fault:
    mode: str  # "429", "ratelimited", "500", "503", "slow"
    count: int  # how many requests it still applies to
    retry_after: float = 1.0
    delay: float = 2.0
    methods: frozenset[str] = frozenset()  # only requests with these methods (all when empty)


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
    requests: list[dict[str, Any]] = field(default_factory=list)
    fault: Fault | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    ids: itertools.count = field(default_factory=lambda: itertools.count(10000))

    def next_id(self) -> str:
        return str(next(self.ids))

    def take_fault(self, method: str = "GET") -> Fault | None:
        with self.lock:
            if self.fault is None or self.fault.count <= 0:
                return None
            if self.fault.methods and method not in self.fault.methods:
                return None
            self.fault.count -= 1
            return self.fault

    def reset(self) -> None:
        with self.lock:
            for store in (self.jira_issues, self.jira_comments, self.linear_issues, self.linear_labels,
                          self.linear_comments, self.jira_users, self.jira_changelogs, self.linear_users, self.linear_states):
                store.clear()
            self.jira_transitions.clear()
            self.requests.clear()
            self.fault = None
