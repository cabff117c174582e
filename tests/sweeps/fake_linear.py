"""The fake site as Linear's GraphQL API (node shapes from the client's `.graphql` files).

Operations are answered by name; `SearchIssues` applies the `IssueFilter` subset the
client writes (and/or, team key, state type/name, updatedAt, label some/every) and pages
by cursor. Webhook bodies follow the captured deliveries (2023–2024 envelopes).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import responses

from tests.sweeps.fakesite import SERVICE, Account, FakeComment, FakeIssue, Site, iso

URL = "https://api.linear.app/graphql"
STATE_TYPE = {"todo": "unstarted", "in_progress": "started", "done": "completed", "canceled": "canceled"}
ORG = {"id": "org-acme", "name": "Acme", "urlKey": "acme"}


def person(account: Account | None) -> dict[str, Any] | None:
    if account is None:
        return None
    handle = account.name.split()[0].lower()
    return {"id": account.id, "name": account.name, "displayName": handle,
            "url": f"https://linear.app/{ORG['urlKey']}/profiles/{handle}"}  # the profile URL Linear gives


class FakeLinear:
    def __init__(self, site: Site) -> None:
        self.site = site
        self.labels: dict[str, str] = {}  # name → id (workspace labels)
        self._cache: dict[str, tuple[int, list[FakeIssue]]] = {}
        self.filters: list[dict[str, Any]] = []
        self.handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "Viewer": self._viewer, "SearchIssues": self._search, "GetIssue": self._get,
            "IssueStateHistory": self._history, "FindMarkedComment": self._marked, "CreateComment": self._comment,
            "FindLabels": self._find_labels, "CreateLabel": self._create_label, "UpdateIssueLabels": self._labels,
        }
        self.mutations = {"CreateComment", "CreateLabel", "UpdateIssueLabels"}
        self.remaining = 2400  # what the rate-limit headers say is left this hour
        self.reset_in_ms = 3_600_000

    def install(self, mock: responses.RequestsMock) -> FakeLinear:
        mock.add_callback(responses.POST, URL, callback=self._answer)
        return self

    def label_id(self, name: str) -> str:
        return self.labels.setdefault(name, f"label-{name}")

    def node(self, issue: FakeIssue) -> dict[str, Any]:
        return {
            "id": issue.id, "identifier": issue.key, "url": f"https://linear.app/acme/issue/{issue.key}/x",
            "title": issue.title, "description": None, "priority": 3, "priorityLabel": "Medium", "estimate": None,
            "dueDate": None, "createdAt": iso(issue.created), "updatedAt": iso(issue.updated),
            "state": {"id": f"state-{issue.status}", "name": issue.status, "type": STATE_TYPE[issue.category]},
            "assignee": person(issue.assignee), "creator": person(issue.reporter),
            "team": {"id": f"team-{issue.team}", "key": issue.team}, "project": _project(issue),
            "cycle": _cycle(issue), "parent": {"identifier": issue.parent} if issue.parent else None,
            "projectMilestone": {"name": issue.milestones[0]} if issue.milestones else None,
            "children": {"nodes": [{"id": f"child-{n}"} for n in range(issue.subtasks)]},
            "labels": {"nodes": [{"id": self.label_id(n), "name": n} for n in issue.labels]},
            "stateHistory": {"nodes": [{"startedAt": iso(issue.status_entered or issue.created), "endedAt": None}]},
        }

    def _answer(self, request: Any) -> Any:
        body = json.loads(request.body)
        name = body.get("operationName")
        if name in self.mutations:
            pass  # counted by the handler, with the issue it changed
        else:
            self.site.read(name)
        try:
            data = self.handlers[name](body.get("variables") or {})
        except LookupError as error:
            return 200, {}, json.dumps({"data": None, "errors": [{"message": str(error),
                                                                   "extensions": {"code": "ENTITY_NOT_FOUND"}}]})
        headers = {"X-RateLimit-Requests-Limit": "2500", "X-RateLimit-Requests-Remaining": str(self.remaining),
                   "X-RateLimit-Requests-Reset": str(int(self.site.now.timestamp() * 1000) + self.reset_in_ms)}
        return 200, headers, json.dumps({"data": data})

    def _viewer(self, _v: dict[str, Any]) -> dict[str, Any]:
        return {"viewer": {**(person(SERVICE) or {}), "organization": ORG}}

    def _search(self, v: dict[str, Any]) -> dict[str, Any]:
        self.filters.append(v.get("filter") or {})
        found = self._matching(v.get("filter") or {})
        for sort in reversed(v.get("sort") or []):  # stable: the first sort key decides
            (name, how), = sort.items()
            found = sorted(found, key=lambda i: i.created if name == "createdAt" else i.updated,
                           reverse=how.get("order") == "Descending")
        start, first = int(v.get("after") or 0), int(v["first"])
        page = found[start:start + first]
        more = start + first < len(found)
        return {"issues": {"nodes": [self.node(i) for i in page],
                           "pageInfo": {"hasNextPage": more, "endCursor": str(start + first) if more else None}}}

    def _matching(self, f: dict[str, Any]) -> list[FakeIssue]:
        key = json.dumps(f, sort_keys=True)
        cached = self._cache.get(key)
        if cached is not None and cached[0] == self.site.version:
            return cached[1]
        found = sorted((i for i in self.site.issues.values() if matches(i, f)), key=lambda i: i.number())
        self._cache[key] = (self.site.version, found)
        return found

    def _issue(self, ref: str) -> FakeIssue:
        issue = self.site.find(ref)
        if issue is None:
            raise LookupError("Entity not found: Issue")
        return issue

    def _get(self, v: dict[str, Any]) -> dict[str, Any]:
        return {"issue": {**self.node(self._issue(v["id"])), "inverseRelations": {"nodes": []}}}

    def _history(self, v: dict[str, Any]) -> dict[str, Any]:
        issue = self._issue(v["id"])
        nodes = [{"createdAt": iso(at), "fromState": {"name": old, "type": "unstarted"},
                  "toState": {"name": new, "type": "started"},
                  "actor": None if actor.bot else person(actor),
                  "botActor": {"id": actor.id, "name": actor.name} if actor.bot else None}
                 for at, old, new, actor in issue.history]
        return {"issue": {"history": {"nodes": nodes, "pageInfo": {"hasNextPage": False, "endCursor": None}}}}

    def _marked(self, v: dict[str, Any]) -> dict[str, Any]:
        issue = self._issue(v["id"])
        found = [c for c in issue.comments if v["marker"] in c.body]
        return {"issue": {"comments": {"nodes": [{"id": c.id} for c in found[:1]]}}}

    def _comment(self, v: dict[str, Any]) -> dict[str, Any]:
        issue = self._issue(v["issueId"])
        comment = FakeComment(f"comment-{self.site.next_id()}", SERVICE, v["body"], self.site.now)
        issue.comments.append(comment)
        self.site.wrote(f"comment {issue.key}", issue)
        return {"commentCreate": {"success": True, "comment": {"id": comment.id}}}

    def _find_labels(self, v: dict[str, Any]) -> dict[str, Any]:
        nodes = [{"id": self.labels[n], "name": n, "isGroup": False, "parent": None, "team": None}
                 for n in v["names"] if n in self.labels]
        return {"issueLabels": {"nodes": nodes}}

    def _create_label(self, v: dict[str, Any]) -> dict[str, Any]:
        self.site.wrote("label")
        label_id = self.label_id(v["name"])
        return {"issueLabelCreate": {"success": True, "issueLabel": {"id": label_id, "name": v["name"]}}}

    def _labels(self, v: dict[str, Any]) -> dict[str, Any]:
        issue = self._issue(v["id"])
        names = {i: n for n, i in self.labels.items()}
        for label_id in v.get("removed") or []:
            if names.get(label_id) in issue.labels:
                issue.labels.remove(names[label_id])
        for label_id in v.get("added") or []:
            if names[label_id] not in issue.labels:
                issue.labels.append(names[label_id])
        self.site.wrote(f"labels {issue.key}", issue)
        return {"issueUpdate": {"success": True}}


def _cycle(issue: FakeIssue) -> dict[str, Any] | None:
    if issue.cycle_state is None:
        return None
    state = issue.cycle_state
    return {"name": f"Cycle of {issue.key}", "number": 1, "isActive": state == "active",
            "isFuture": state == "upcoming", "isPast": state == "completed",
            "completedAt": iso(issue.updated) if state == "completed" else None}


def _project(issue: FakeIssue) -> dict[str, Any] | None:
    if issue.project_state is None:
        return None
    return {"name": "Launch", "completedAt": None, "canceledAt": None, "status": {"type": issue.project_state}}


# ---- IssueFilter ------------------------------------------------------------------------

def compare(value: Any, comparator: dict[str, Any]) -> bool:
    ops: dict[str, Callable[[Any, Any], bool]] = {
        "in": lambda v, a: v in a, "nin": lambda v, a: v not in a, "eq": lambda v, a: v == a,
        "lt": lambda v, a: v < a, "lte": lambda v, a: v <= a, "gt": lambda v, a: v > a, "gte": lambda v, a: v >= a,
        "eqIgnoreCase": lambda v, a: str(v).casefold() == str(a).casefold(),
        "null": lambda v, a: (v is None) is a,
    }
    return all(ops[op](value, arg) for op, arg in comparator.items())


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _one(issue: FakeIssue, key: str, cond: Any) -> bool:
    if key == "and":
        return all(matches(issue, c) for c in cond)
    if key == "or":
        return any(matches(issue, c) for c in cond)
    if key == "team":
        return compare(issue.team, cond["key"])
    if key == "id":
        return compare(issue.id, cond)
    if key == "state":
        return node_matches(cond, {"type": STATE_TYPE[issue.category], "name": issue.status})
    if key in ("updatedAt", "createdAt"):
        at = issue.updated if key == "updatedAt" else issue.created
        return compare(at, {op: _when(arg) for op, arg in cond.items()})
    if key == "labels" and "some" in cond:
        return any(node_matches(cond["some"], {"name": n}) for n in issue.labels)
    if key == "labels" and "every" in cond:
        return all(node_matches(cond["every"], {"name": n}) for n in issue.labels)
    if key in ("projectMilestone", "parent", "cycle", "project"):
        return _nullable(cond, _related(issue, key))
    raise AssertionError(f"the fake does not understand filter {key}: {cond}")


def _related(issue: FakeIssue, key: str) -> dict[str, Any] | None:
    """The related object's fields a filter may read, or None when the issue has none."""
    if key == "projectMilestone":
        return {"name": issue.milestones[0]} if issue.milestones else None
    if key == "parent":
        team, number = issue.parent.rsplit("-", 1) if issue.parent else ("", "0")
        return {"team": {"key": team}, "number": int(number)} if issue.parent else None
    if key == "cycle":
        cycle = _cycle(issue)
        return cycle and {**cycle, "completedAt": _when(cycle["completedAt"]) if cycle["completedAt"] else None}
    project = _project(issue)
    return project and {"status": project["status"]}


def _nullable(cond: dict[str, Any], fields: dict[str, Any] | None) -> bool:
    """A Nullable…Filter over a related object: `null`, and/or, nested filters, comparators."""
    for key, c in cond.items():
        if key == "null":
            ok = (fields is None) is c
        elif key in ("and", "or"):
            results = [_nullable(part, fields) for part in c]
            ok = all(results) if key == "and" else any(results)
        elif fields is None or fields.get(key) is None:
            ok = False  # a comparison with nothing holds for no value
        elif isinstance(fields[key], dict):
            ok = _nullable(c, fields[key])
        else:
            ok = compare(fields[key], {op: _when(a) if isinstance(fields[key], datetime) else a
                                       for op, a in c.items()})
        if not ok:
            return False
    return True


def node_matches(cond: dict[str, Any], fields: dict[str, Any]) -> bool:
    """A WorkflowStateFilter / IssueLabelFilter over one node's fields, with and / or."""
    for key, c in cond.items():
        if key in ("and", "or"):
            results = (node_matches(part, fields) for part in c)
            if not (all(results) if key == "and" else any(results)):
                return False
        elif not compare(fields[key], c):
            return False
    return True


def matches(issue: FakeIssue, f: dict[str, Any]) -> bool:
    return all(_one(issue, key, cond) for key, cond in f.items())


# ---- webhook bodies ------------------------------------------------------------------------

def _envelope(kind: str, action: str, data: dict[str, Any], actor: Account, site: Site) -> dict[str, Any]:
    body: dict[str, Any] = {"action": action, "type": kind, "createdAt": iso(site.now), "data": data,
                            "url": data.get("url", ""), "organizationId": ORG["id"],
                            "webhookTimestamp": int(site.now.timestamp() * 1000), "webhookId": "hook-1"}
    if actor.bot:
        data["botActor"] = {"id": actor.id, "name": actor.name, "type": "integration"}
        body["actor"] = {"id": actor.id, "name": actor.name, "type": "integration"}
    else:
        body["actor"] = {"id": actor.id, "name": actor.name, "type": "user"}
    return body


def _issue_data(fake: FakeLinear, issue: FakeIssue) -> dict[str, Any]:
    node = fake.node(issue)
    node.pop("stateHistory")
    node.update(number=issue.number(), teamId=node["team"]["id"], stateId=node["state"]["id"],
                labelIds=[n["id"] for n in node["labels"]["nodes"]], labels=node["labels"]["nodes"])
    return node


def status_changed(fake: FakeLinear, key: str, status: str, category: str, actor: Account) -> dict[str, Any]:
    old = fake.site.issues[key]
    old_state = f"state-{old.status}"
    issue = fake.site.move(key, status, category, actor)
    body = _envelope("Issue", "update", _issue_data(fake, issue), actor, fake.site)
    body["updatedFrom"] = {"updatedAt": iso(issue.updated), "stateId": old_state}
    return body


def labels_changed(fake: FakeLinear, key: str, old: list[str], actor: Account) -> dict[str, Any]:
    issue = fake.site.issues[key]
    body = _envelope("Issue", "update", _issue_data(fake, issue), actor, fake.site)
    body["updatedFrom"] = {"updatedAt": iso(issue.updated), "labelIds": [fake.label_id(n) for n in old]}
    return body


def commented(fake: FakeLinear, key: str, author: Account, text: str) -> dict[str, Any]:
    made = fake.site.comment(key, author, text)
    issue = fake.site.issues[key]
    data: dict[str, Any] = {"id": made.id, "createdAt": iso(made.created), "updatedAt": iso(made.created),
                            "body": text, "issueId": issue.id, "issue": {"id": issue.id, "title": issue.title}}
    if not author.bot:  # an integration's comment names no user, only the bot actor
        data.update(userId=author.id, user={"id": author.id, "name": author.name})
    return _envelope("Comment", "create", data, author, fake.site)


def edited(fake: FakeLinear, key: str, author: Account, comment_id: str, text: str) -> dict[str, Any]:
    """Edit a comment in the fake, and the Comment `update` delivery (Linear sets `editedAt`)."""
    issue = fake.site.issues[key]
    made = next(c for c in issue.comments if c.id == comment_id)
    made.body = text
    data: dict[str, Any] = {"id": made.id, "createdAt": iso(made.created), "updatedAt": iso(fake.site.now),
                            "editedAt": iso(fake.site.now), "body": text, "issueId": issue.id,
                            "issue": {"id": issue.id, "title": issue.title},
                            "userId": author.id, "user": {"id": author.id, "name": author.name}}
    return _envelope("Comment", "update", data, author, fake.site)
