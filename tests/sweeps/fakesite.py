"""A tracker-neutral fake site: issues, comments, history, and every request counted.

`fake_jira` and `fake_linear` serve it through `responses` in each tracker's own JSON
shapes (copied from the reference captures), so the real clients, normalizers and
sweeps run unchanged against it. Writes change the site (labels, comments, `updated`),
so a test sees what a person would see in the tracker.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

CATEGORIES = ("todo", "in_progress", "done", "canceled")


@dataclass
class Account:
    id: str
    name: str
    email: str | None = None
    bot: bool = False


ADA = Account("acc-ada", "Ada Lovelace", "ada@example.com")
GRACE = Account("acc-grace", "Grace Hopper", "grace@example.com")
LEAD = Account("acc-lead", "Lin Lead", "lead@example.com")
BOT = Account("acc-bot", "Deploy Bot", None, bot=True)
SERVICE = Account("acc-flowkeeper", "Flowkeeper", "flowkeeper@example.com")


@dataclass
class FakeComment:
    id: str
    author: Account
    body: str
    created: datetime
    marker: str | None = None  # Flowkeeper's idempotency marker, when it wrote the comment


@dataclass
class FakeIssue:
    id: str
    key: str
    team: str
    status: str
    category: str
    updated: datetime
    created: datetime
    title: str = "Fix the thing"
    labels: list[str] = field(default_factory=list)
    assignee: Account | None = None
    reporter: Account | None = None
    comments: list[FakeComment] = field(default_factory=list)
    history: list[tuple[datetime, str, str, Account]] = field(default_factory=list)  # at, from, to, actor
    status_entered: datetime | None = None
    milestones: list[str] = field(default_factory=list)  # Jira fix versions; Linear shows the first
    parent: str | None = None  # the parent's key
    cycle_state: str | None = None  # the sprint's / cycle's state: active, upcoming, completed
    project_state: str | None = None  # Linear's project status type
    subtasks: int = 0

    def number(self) -> int:
        return int(self.key.rsplit("-", 1)[1])


class Site:
    """The tracker's state plus a request log split into reads and writes."""

    def __init__(self, now: datetime) -> None:
        self.now = now  # what the fake stamps on writes (tests move it forward)
        self.issues: dict[str, FakeIssue] = {}  # by key
        self.by_id: dict[str, FakeIssue] = {}
        self.reads = 0
        self.writes = 0
        self.log: list[tuple[str, str]] = []  # (kind, what)
        self.version = 0  # bumps on every write: search caches key on it
        self._ids = itertools.count(90000)
        self.keep_log = True

    def add(self, issue: FakeIssue) -> FakeIssue:
        self.issues[issue.key] = issue
        self.by_id[issue.id] = issue
        self.version += 1
        return issue

    def next_id(self) -> str:
        return str(next(self._ids))

    def read(self, what: str) -> None:
        self.reads += 1
        if self.keep_log:
            self.log.append(("read", what))

    def wrote(self, what: str, issue: FakeIssue | None = None) -> None:
        self.writes += 1
        self.version += 1
        if self.keep_log:
            self.log.append(("write", what))
        if issue is not None:
            issue.updated = self.now

    def find(self, ref: str) -> FakeIssue | None:
        return self.issues.get(ref) or self.by_id.get(ref)

    # ---- what people do in the tracker (tests call these, then deliver the webhook) ----

    def move(self, key: str, status: str, category: str, actor: Account, at: datetime | None = None) -> FakeIssue:
        issue = self.issues[key]
        when = at or self.now
        issue.history.append((when, issue.status, status, actor))
        issue.status, issue.category, issue.updated, issue.status_entered = status, category, when, when
        self.version += 1
        return issue

    def comment(self, key: str, author: Account, body: str, at: datetime | None = None) -> FakeComment:
        issue = self.issues[key]
        made = FakeComment(self.next_id(), author, body, at or self.now)
        issue.comments.append(made)
        issue.updated = made.created
        self.version += 1
        return made

    def flowkeeper_comments(self, key: str) -> list[FakeComment]:
        return [c for c in self.issues[key].comments if c.author.id == SERVICE.id]

    def writes_to(self, key: str) -> list[str]:
        return [what for kind, what in self.log if kind == "write" and what.endswith(f" {key}")]


def stamp(moment: datetime) -> str:
    """Jira's timestamp format."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def iso(moment: datetime) -> str:
    """Linear's timestamp format."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def populate(site: Site, prefix: str, count: int, stalled_every: int, now: datetime,
             in_progress_every: int = 40, team: str = "ENG") -> list[str]:
    """A site of `count` issues: mostly done, some to do, a few in progress, every
    `stalled_every`-th in progress and untouched for weeks. Returns the stalled keys."""
    stalled = []
    for n in range(1, count + 1):
        key = f"{prefix}-{n}"
        if n % stalled_every == 0:
            status, category, updated = "In Progress", "in_progress", now - timedelta(days=30)
            stalled.append(key)
        elif n % in_progress_every == 1:
            status, category, updated = "In Progress", "in_progress", now - timedelta(hours=n % 47 + 1)
        elif n % 10 < 2:
            status, category, updated = "To Do", "todo", now - timedelta(days=n % 60)
        else:
            status, category, updated = "Done", "done", now - timedelta(days=n % 400 + 1)
        site.add(FakeIssue(id=str(10000 + n), key=key, team=team, status=status, category=category,
                           updated=updated, created=updated - timedelta(days=3), assignee=ADA, reporter=GRACE,
                           status_entered=updated))
    return stalled


