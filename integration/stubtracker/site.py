"""The stub's site for one tracker, as a person sees it: issues, statuses, comments, labels.

`Site.add` seeds an issue described tracker-neutrally (`Issue`) in the tracker's own
shape (a Jira REST issue body, or a Linear Issue node with the client's IssueFields), so
the real clients, normalizers and sweeps read it as they read the tracker. What people do
in the tracker (`move`, `comment`, `edit_comment`) changes the stored issue and its
history; what Flowkeeper writes through the API shows in the live views `issues` returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from integration.stubtracker import jira, linear
from integration.stubtracker.jql import moment
from integration.stubtracker.page import comment_text
from integration.stubtracker.state import StubState

CATEGORIES = ("todo", "in_progress", "done", "canceled")
JIRA_CATEGORY = {"todo": ("new", "To Do", 2), "in_progress": ("indeterminate", "In Progress", 4),
                 "done": ("done", "Done", 3), "canceled": ("done", "Done", 3)}
LINEAR_TYPE = {"todo": "unstarted", "in_progress": "started", "done": "completed", "canceled": "canceled"}
CATEGORY_OF_TYPE = {"triage": "todo", "backlog": "todo", "unstarted": "todo", "started": "in_progress",
                    "completed": "done", "canceled": "canceled", "duplicate": "canceled"}
CATEGORY_OF_KEY = {"new": "todo", "indeterminate": "in_progress", "done": "done"}


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    email: str | None = None
    bot: bool = False


JIRA_SERVICE = Account(jira.SERVICE_ACCOUNT["accountId"], "Flowkeeper", jira.SERVICE_ACCOUNT["emailAddress"])
LINEAR_SERVICE = Account(linear.VIEWER["id"], linear.VIEWER["name"])


@dataclass
class Issue:
    """An issue described once for either tracker; `Site.add` stores it in that tracker's shape."""

    id: str
    key: str
    team: str
    status: str
    category: str  # todo | in_progress | done | canceled
    updated: datetime
    created: datetime
    title: str = "Fix the thing"
    labels: list[str] = field(default_factory=list)
    assignee: Account | None = None
    reporter: Account | None = None
    history: list[tuple[datetime, str, str, Account]] = field(default_factory=list)  # at, from, to, actor
    status_entered: datetime | None = None
    milestones: list[str] = field(default_factory=list)  # Jira fix versions; Linear shows the first
    parent: str | None = None  # the parent's key
    cycle_state: str | None = None  # the sprint's / cycle's state: active, upcoming, completed
    project_state: str | None = None  # Linear's project status type
    subtasks: int = 0


@dataclass(frozen=True)
class Comment:
    id: str
    author_id: str
    body: str  # as text: Jira's ADF flattened
    created: str


# ---- the trackers' shapes -----------------------------------------------------------------

def jira_user(account: Account) -> dict[str, Any]:
    return {"accountId": account.id, "displayName": account.name, "emailAddress": account.email,
            "accountType": "app" if account.bot else "atlassian", "active": True}


def jira_status(name: str, category: str) -> dict[str, Any]:
    key, category_name, category_id = JIRA_CATEGORY[category]
    known = jira.STATUSES.get(name)
    return {"name": name, "id": known["id"] if known else f"9{sum(map(ord, name)) % 1000}",
            "statusCategory": {"id": category_id, "key": key, "name": category_name, "colorName": "blue-gray"}}


def jira_issue(issue: Issue, base: str) -> dict[str, Any]:
    """A Jira REST v3 issue body, with the fields Flowkeeper's search asks for."""
    fields: dict[str, Any] = {
        "summary": issue.title, "description": None, "issuetype": {"id": "10001", "name": "Story", "subtask": False},
        "status": jira_status(issue.status, issue.category),
        "resolution": {"name": "Won't Do"} if issue.category == "canceled" else None,
        "assignee": jira_user(issue.assignee) if issue.assignee else None,
        "reporter": jira_user(issue.reporter) if issue.reporter else None,
        "labels": list(issue.labels), "priority": {"name": "Medium", "id": "3"},
        "project": {"id": "10000", "key": issue.team, "name": issue.team}, "issuelinks": [],
        "created": jira.stamp(issue.created), "updated": jira.stamp(issue.updated), "duedate": None,
        "statuscategorychangedate": jira.stamp(issue.status_entered or issue.created),
        "fixVersions": [{"id": str(10000 + n), "name": name, "archived": False, "released": False}
                        for n, name in enumerate(issue.milestones)],
        "subtasks": [{"id": str(20000 + n), "key": f"{issue.team}-{900 + n}"} for n in range(issue.subtasks)],
        "parent": {"id": "10999", "key": issue.parent} if issue.parent else None,
    }
    return {"id": issue.id, "key": issue.key, "self": f"{base}/rest/api/3/issue/{issue.id}", "fields": fields}


def jira_history(number: int, at: datetime, old: str, new: str, actor: Account) -> dict[str, Any]:
    return {"id": str(number), "author": jira_user(actor), "created": jira.stamp(at),
            "items": [{"field": "status", "fieldtype": "jira", "fieldId": "status", "fromString": old, "toString": new}]}


def linear_person(account: Account | None) -> dict[str, Any] | None:
    if account is None:
        return None
    handle = account.name.split()[0].lower()
    org = linear.VIEWER["organization"]["urlKey"]
    return {"id": account.id, "name": account.name, "displayName": handle,
            "url": f"https://linear.app/{org}/profiles/{handle}"}  # the profile URL Linear gives


def linear_state(name: str, category: str) -> dict[str, Any]:
    return {"id": f"state-{name}", "name": name, "type": LINEAR_TYPE[category]}


def linear_node(issue: Issue) -> dict[str, Any]:
    """A Linear Issue node with the client's IssueFields."""
    org = linear.VIEWER["organization"]["urlKey"]
    return {
        "id": issue.id, "identifier": issue.key, "url": f"https://linear.app/{org}/issue/{issue.key}/x",
        "title": issue.title, "description": None, "priority": 3, "priorityLabel": "Medium", "estimate": None,
        "dueDate": None, "createdAt": linear.iso(issue.created), "updatedAt": linear.iso(issue.updated),
        "state": linear_state(issue.status, issue.category),
        "assignee": linear_person(issue.assignee), "creator": linear_person(issue.reporter),
        "team": {"id": f"team-{issue.team}", "key": issue.team}, "project": _linear_project(issue),
        "cycle": _linear_cycle(issue), "parent": {"identifier": issue.parent} if issue.parent else None,
        "projectMilestone": {"name": issue.milestones[0]} if issue.milestones else None,
        "children": {"nodes": [{"id": f"child-{n}"} for n in range(issue.subtasks)]},
        "labels": {"nodes": [{"id": f"label-{n}", "name": n} for n in issue.labels]},
        "stateHistory": {"nodes": [{"startedAt": linear.iso(issue.status_entered or issue.created), "endedAt": None}]},
    }


def _linear_cycle(issue: Issue) -> dict[str, Any] | None:
    if issue.cycle_state is None:
        return None
    state = issue.cycle_state
    return {"name": f"Cycle of {issue.key}", "number": 1, "isActive": state == "active",
            "isFuture": state == "upcoming", "isPast": state == "completed",
            "completedAt": linear.iso(issue.updated) if state == "completed" else None}


def _linear_project(issue: Issue) -> dict[str, Any] | None:
    if issue.project_state is None:
        return None
    return {"name": "Launch", "completedAt": None, "canceledAt": None, "status": {"type": issue.project_state}}


def linear_history(at: datetime, old: str, old_category: str, new: str, category: str,
                   actor: Account) -> dict[str, Any]:
    return {"createdAt": linear.iso(at), "fromState": {"name": old, "type": LINEAR_TYPE[old_category]},
            "toState": {"name": new, "type": LINEAR_TYPE[category]},
            "actor": None if actor.bot else {"id": actor.id, "name": actor.name, "email": actor.email,
                                             "displayName": actor.name.split()[0].lower()},
            "botActor": {"id": actor.id, "name": actor.name} if actor.bot else None}


# ---- the site -----------------------------------------------------------------------------

class Site:
    """One tracker's issues in a `StubState`, seeded and read tracker-neutrally."""

    def __init__(self, state: StubState, tracker: str, base: str = "https://acme.atlassian.net") -> None:
        if tracker not in ("jira", "linear"):
            raise ValueError(f"unknown tracker {tracker!r}")
        self.state, self.tracker, self.base = state, tracker, base
        self.service = JIRA_SERVICE if tracker == "jira" else LINEAR_SERVICE

    # ---- time and counts ----------------------------------------------------------------
    @property
    def now(self) -> datetime:
        return self.state.clock()

    @now.setter
    def now(self, moment: datetime) -> None:
        self.state.now = moment

    @property
    def reads(self) -> int:
        return self.state.reads

    @property
    def writes(self) -> int:
        return self.state.writes

    @property
    def keep_log(self) -> bool:
        return self.state.keep_requests

    @keep_log.setter
    def keep_log(self, keep: bool) -> None:
        self.state.keep_requests = keep

    # ---- seeding --------------------------------------------------------------------------
    def add(self, issue: Issue) -> IssueView:
        with self.state.lock:
            if self.tracker == "jira":
                self.state.jira_issues[issue.key] = jira_issue(issue, self.base)
                self.state.jira_changelogs[issue.key] = [
                    jira_history(n, at, old, new, actor) for n, (at, old, new, actor) in enumerate(issue.history, 1)]
            else:
                for name in issue.labels:
                    self.label_id(name)
                self.state.linear_issues[issue.id] = linear_node(issue)
                self.state.linear_history[issue.id] = [
                    linear_history(at, old, "todo", new, issue.category, actor) for at, old, new, actor in issue.history]
            self.state.changed()
        return IssueView(self, issue.key)

    def label_id(self, name: str) -> str:
        """A workspace label's id (Linear), made when first named."""
        label_id = f"label-{name}"
        self.state.linear_labels.setdefault(label_id, {"id": label_id, "name": name, "isGroup": False,
                                                       "parent": None, "team": None})
        return label_id

    # ---- reading --------------------------------------------------------------------------
    def _stored(self) -> dict[str, dict[str, Any]]:
        if self.tracker == "jira":
            return self.state.jira_issues
        return {n["identifier"]: n for n in self.state.linear_issues.values()}

    @property
    def issues(self) -> dict[str, IssueView]:
        return {key: IssueView(self, key) for key in self._stored()}

    def payload(self, key: str) -> dict[str, Any]:
        """The issue as the tracker serves it (the stored body or node itself)."""
        if self.tracker == "jira":
            return self.state.jira_issues[key]
        return next(n for n in self.state.linear_issues.values() if n["identifier"] == key)

    def comments(self, key: str) -> list[Comment]:
        if self.tracker == "jira":
            stored = self.state.jira_comments.get(key, [])
            return [Comment(c["id"], (c.get("author") or {}).get("accountId", ""), comment_text(c.get("body")),
                            c.get("created", "")) for c in stored]
        stored = self.state.linear_comments.get(self.payload(key)["id"], [])
        return [Comment(c["id"], (c.get("user") or {}).get("id", ""), str(c.get("body", "")), c.get("createdAt", ""))
                for c in stored]

    def flowkeeper_comments(self, key: str) -> list[Comment]:
        return [c for c in self.comments(key) if c.author_id == self.service.id]

    # ---- what people do in the tracker ----------------------------------------------------
    def move(self, key: str, status: str, category: str, actor: Account, at: datetime | None = None) -> IssueView:
        when = at or self.now
        with self.state.lock:
            stored = self.payload(key)
            if self.tracker == "jira":
                fields = stored["fields"]
                old = fields["status"]["name"]
                history = self.state.jira_changelogs.setdefault(key, [])
                history.append(jira_history(len(history) + 1, when, old, status, actor))
                fields["status"] = jira_status(status, category)
                fields["updated"] = fields["statuscategorychangedate"] = jira.stamp(when)
                fields["resolution"] = {"name": "Won't Do"} if category == "canceled" else None
            else:
                old_state = stored["state"]
                self.state.linear_history.setdefault(stored["id"], []).append(linear_history(
                    when, old_state["name"], CATEGORY_OF_TYPE[old_state["type"]], status, category, actor))
                stored["state"] = linear_state(status, category)
                stored["updatedAt"] = linear.iso(when)
                stored["stateHistory"] = {"nodes": [{"startedAt": linear.iso(when), "endedAt": None}]}
            self.state.changed()
        return IssueView(self, key)

    def set_labels(self, key: str, labels: list[str], at: datetime | None = None) -> IssueView:
        """A person edits the issue's labels."""
        when = at or self.now
        with self.state.lock:
            stored = self.payload(key)
            if self.tracker == "jira":
                stored["fields"]["labels"] = list(labels)
                stored["fields"]["updated"] = jira.stamp(when)
            else:
                stored["labels"] = {"nodes": [{"id": self.label_id(n), "name": n} for n in labels]}
                stored["updatedAt"] = linear.iso(when)
            self.state.changed()
        return IssueView(self, key)

    def edit(self, key: str, field: str, actor: Account, at: datetime | None = None) -> IssueView:
        """Someone changes a field other than the status (a bot sets a field, a person the priority)."""
        when = at or self.now
        with self.state.lock:
            stored = self.payload(key)
            if self.tracker == "jira":
                history = self.state.jira_changelogs.setdefault(key, [])
                history.append({"id": str(len(history) + 1), "author": jira_user(actor), "created": jira.stamp(when),
                                "items": [{"field": field, "fieldtype": "jira", "fieldId": field,
                                           "fromString": None, "toString": "x"}]})
                stored["fields"]["updated"] = jira.stamp(when)
            else:
                node = linear_history(when, "", "todo", "", "todo", actor)
                self.state.linear_history.setdefault(stored["id"], []).append(
                    {**node, "fromState": None, "toState": None})
                stored["updatedAt"] = linear.iso(when)
            self.state.changed()
        return IssueView(self, key)

    def comment(self, key: str, author: Account, body: str, at: datetime | None = None) -> Comment:
        when = at or self.now
        with self.state.lock:
            made_id = self.state.next_id()
            stored = self.payload(key)
            if self.tracker == "jira":
                adf = {"type": "doc", "version": 1,
                       "content": [{"type": "paragraph", "content": [{"type": "text", "text": body}]}]}
                self.state.jira_comments.setdefault(key, []).append(
                    {"id": made_id, "author": jira_user(author), "body": adf, "created": jira.stamp(when),
                     "updated": jira.stamp(when), "properties": []})
                stored["fields"]["updated"] = jira.stamp(when)
            else:
                made_id = f"comment-{made_id}"
                self.state.linear_comments.setdefault(stored["id"], []).append(
                    {"id": made_id, "body": body, "createdAt": linear.iso(when),
                     "user": None if author.bot else {"id": author.id, "name": author.name, "email": author.email},
                     "botActor": {"id": author.id, "name": author.name} if author.bot else None})
                stored["updatedAt"] = linear.iso(when)
            self.state.changed()
        return next(c for c in self.comments(key) if c.id == made_id)

    def edit_comment(self, key: str, comment_id: str, body: str) -> Comment:
        with self.state.lock:
            if self.tracker == "jira":
                for c in self.state.jira_comments.get(key, []):
                    if c["id"] == comment_id:
                        c["body"] = {"type": "doc", "version": 1, "content": [
                            {"type": "paragraph", "content": [{"type": "text", "text": body}]}]}
                        c["updated"] = jira.stamp(self.now)
            else:
                for c in self.state.linear_comments.get(self.payload(key)["id"], []):
                    if c["id"] == comment_id:
                        c["body"] = body
            self.state.changed()
        return next(c for c in self.comments(key) if c.id == comment_id)


class IssueView:
    """One stored issue, read live: what it shows now, whoever changed it."""

    def __init__(self, site: Site, key: str) -> None:
        self.site, self.key = site, key

    def __repr__(self) -> str:
        return f"IssueView({self.key!r}, {self.status!r}, labels={self.labels!r})"

    @property
    def _stored(self) -> dict[str, Any]:
        return self.site.payload(self.key)

    @property
    def id(self) -> str:
        return str(self._stored["id"])

    @property
    def labels(self) -> list[str]:
        if self.site.tracker == "jira":
            return list(self._stored["fields"].get("labels") or [])
        return [n["name"] for n in (self._stored.get("labels") or {}).get("nodes", [])]

    @property
    def status(self) -> str:
        stored = self._stored
        return str((stored["fields"]["status"] if self.site.tracker == "jira" else stored["state"])["name"])

    @property
    def category(self) -> str:
        stored = self._stored
        if self.site.tracker == "jira":
            return CATEGORY_OF_KEY[stored["fields"]["status"]["statusCategory"]["key"]]
        return CATEGORY_OF_TYPE[stored["state"]["type"]]

    @property
    def updated(self) -> datetime:
        stored = self._stored
        if self.site.tracker == "jira":
            found = moment(stored, "updated")
            assert found is not None
            return found
        return datetime.fromisoformat(stored["updatedAt"].replace("Z", "+00:00"))

    @property
    def comments(self) -> list[Comment]:
        return self.site.comments(self.key)
