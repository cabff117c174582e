"""The fake site as Jira Cloud REST v3 (shapes from the reference examples), via `responses`.

Search evaluates the JQL subset Flowkeeper writes (AND/OR, parentheses, `in`, `not in`,
`is EMPTY`, `<=`/`>=` on `updated`) and answers 400 to anything else, so a sweep that
passes here selected its candidates with real JQL. Webhook bodies are built in the shape
of the captured deliveries.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses

from tests.sweeps.fakesite import SERVICE, Account, FakeComment, FakeIssue, Site, stamp

BASE = "https://acme.atlassian.net"
API = f"{BASE}/rest/api/3"
CATEGORY_KEY = {"todo": "new", "in_progress": "indeterminate", "done": "done", "canceled": "done"}
CATEGORY_NAME = {"todo": "To Do", "in_progress": "In Progress", "done": "Done", "canceled": "Done"}
TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<op><=|>=|\(|\)|,|=)|(?P<word>[A-Za-z_]+))')

Predicate = Callable[[FakeIssue], bool]


def user(account: Account) -> dict[str, Any]:
    return {"accountId": account.id, "displayName": account.name, "emailAddress": account.email,
            "accountType": "app" if account.bot else "atlassian", "active": True}


def issue_json(issue: FakeIssue, changelog: bool = False) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "summary": issue.title, "description": None, "issuetype": {"id": "10001", "name": "Story"},
        "status": {"name": issue.status, "id": str(abs(hash(issue.status)) % 1000),
                   "statusCategory": {"key": CATEGORY_KEY[issue.category], "name": CATEGORY_NAME[issue.category]}},
        "resolution": {"name": "Won't Do"} if issue.category == "canceled" else None,
        "assignee": user(issue.assignee) if issue.assignee else None,
        "reporter": user(issue.reporter) if issue.reporter else None,
        "labels": list(issue.labels), "priority": {"name": "Medium", "id": "3"},
        "project": {"id": "10000", "key": issue.team, "name": issue.team}, "issuelinks": [],
        "created": stamp(issue.created), "updated": stamp(issue.updated), "duedate": None,
        "fixVersions": [{"id": str(10000 + n), "name": name, "archived": False, "released": False}
                        for n, name in enumerate(issue.milestones)],
        "subtasks": [{"id": str(20000 + n), "key": f"{issue.team}-{900 + n}"} for n in range(issue.subtasks)],
        "parent": {"id": "10999", "key": issue.parent} if issue.parent else None,
    }
    body: dict[str, Any] = {"id": issue.id, "key": issue.key, "self": f"{API}/issue/{issue.id}", "fields": fields}
    if changelog:
        histories = _histories(issue)
        body["changelog"] = {"startAt": 0, "maxResults": 100, "total": len(histories), "histories": histories}
    return body


def _histories(issue: FakeIssue) -> list[dict[str, Any]]:
    return [
        {"id": str(n), "author": user(actor), "created": stamp(at),
         "items": [{"field": "status", "fieldtype": "jira", "fieldId": "status", "fromString": old, "toString": new}]}
        for n, (at, old, new, actor) in enumerate(issue.history, start=1)
    ]


# ---- JQL ------------------------------------------------------------------------------

class Jql:
    def __init__(self, text: str) -> None:
        where = re.split(r"\s+ORDER BY\s+", text, maxsplit=1)[0]
        self.tokens = self._tokenize(where)
        self.pos = 0

    @staticmethod
    def _tokenize(text: str) -> list[str]:
        tokens, pos, text = [], 0, text.rstrip()
        while pos < len(text):
            match = TOKEN.match(text, pos)
            if not match:
                raise ValueError(f"unexpected JQL at {text[pos:]!r}")
            tokens.append(match.group(match.lastgroup or ""))
            pos = match.end()
        return tokens

    def parse(self) -> Predicate:
        predicate = self._or()
        if self.pos != len(self.tokens):
            raise ValueError(f"trailing JQL {self.tokens[self.pos:]}")
        return predicate

    def _take(self, expected: str | None = None) -> str:
        token = self.tokens[self.pos]
        if expected is not None and token.upper() != expected.upper():
            raise ValueError(f"expected {expected}, got {token}")
        self.pos += 1
        return token

    def _peek(self) -> str:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ""

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._peek().upper() == "OR":
            self._take()
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda i: any(p(i) for p in parts))

    def _and(self) -> Predicate:
        parts = [self._term()]
        while self._peek().upper() == "AND":
            self._take()
            parts.append(self._term())
        return parts[0] if len(parts) == 1 else (lambda i: all(p(i) for p in parts))

    def _term(self) -> Predicate:
        if self._peek() == "(":
            self._take("(")
            inner = self._or()
            self._take(")")
            return inner
        name, op = self._take(), self._take()
        if op.upper() == "IS":
            negated = self._peek().upper() == "NOT"
            if negated:
                self._take("NOT")
            self._take("EMPTY")
            return lambda i: bool(_values(i, name)) is negated
        if op.upper() in ("NOT", "IN"):
            if op.upper() == "NOT":
                self._take("in")
            # JQL compares project keys, statuses and labels ignoring case (labels since Jira 7.10)
            wanted, negate = {w.casefold() for w in self._list()}, op.upper() == "NOT"

            def folded(i: FakeIssue) -> set[str]:
                return {v.casefold() for v in _values(i, name)}
            return lambda i: bool(folded(i)) and (not (folded(i) & wanted) if negate else bool(folded(i) & wanted))
        if name in ("updated", "created") and op in ("<=", ">="):
            bound = datetime.strptime(_unquote(self._take()), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
            at: Callable[[FakeIssue], datetime] = (lambda i: i.updated) if name == "updated" else (lambda i: i.created)
            return (lambda i: at(i) <= bound) if op == "<=" else (lambda i: at(i) >= bound)
        raise ValueError(f"unsupported JQL {name} {op}")

    def _list(self) -> set[str]:
        self._take("(")
        values = {_unquote(self._take())}
        while self._peek() == ",":
            self._take(",")
            values.add(_unquote(self._take()))
        self._take(")")
        return values


def _unquote(token: str) -> str:
    if not token.startswith('"'):
        raise ValueError(f"expected a quoted string, got {token}")
    return re.sub(r"\\(.)", r"\1", token[1:-1])


def _values(issue: FakeIssue, name: str) -> list[str]:
    table = {"project": [issue.team], "statusCategory": [CATEGORY_NAME[issue.category]], "status": [issue.status],
             "labels": issue.labels, "key": [issue.key], "fixVersion": issue.milestones,
             "parent": [issue.parent] if issue.parent else []}
    if name not in table:
        raise ValueError(f"the fake does not know field {name}")
    return table[name]


# ---- the REST routes ---------------------------------------------------------------------

class FakeJira:
    def __init__(self, site: Site) -> None:
        self.site = site
        self._cache: dict[str, tuple[int, list[FakeIssue]]] = {}
        self.queries: list[str] = []
        self.refuse: list[tuple[int, dict[str, str]]] = []  # answers for the next searches (e.g. 429)

    def install(self, mock: responses.RequestsMock) -> FakeJira:
        route = re.compile
        mock.add_callback(responses.GET, f"{API}/myself", callback=self._myself)
        mock.add_callback(responses.GET, f"{API}/search/jql", callback=self._search)
        mock.add_callback(responses.GET, route(rf"{API}/issue/[^/?]+/changelog"), callback=self._changelog)
        mock.add_callback(responses.GET, route(rf"{API}/issue/[^/?]+/comment"), callback=self._comments)
        mock.add_callback(responses.POST, route(rf"{API}/issue/[^/?]+/comment"), callback=self._add_comment)
        mock.add_callback(responses.POST, f"{API}/comment/list", callback=self._comment_list)
        mock.add_callback(responses.GET, route(rf"{API}/issue/[^/?]+(\?.*)?$"), callback=self._get)
        mock.add_callback(responses.PUT, route(rf"{API}/issue/[^/?]+(\?.*)?$"), callback=self._edit)
        return self

    def _myself(self, request: Any) -> Any:
        self.site.read("myself")
        return 200, {}, json.dumps(user(SERVICE))

    def _search(self, request: Any) -> Any:
        self.site.read("search")
        if self.refuse:
            status, headers = self.refuse.pop(0)
            return status, headers, json.dumps({"errorMessages": ["Rate limit exceeded."]})
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        self.queries.append(query["jql"])
        try:
            found = self._matching(query["jql"])
        except (ValueError, IndexError, KeyError) as error:
            return 400, {}, json.dumps({"errorMessages": [f"Error in the JQL Query: {error}"]})
        start, size = int(query.get("nextPageToken", "0")), min(int(query.get("maxResults", "50")), 100)
        page = found[start:start + size]
        last = start + size >= len(found)
        answer: dict[str, Any] = {"issues": [issue_json(i) for i in page], "isLast": last}
        if not last:
            answer["nextPageToken"] = str(start + size)
        return 200, {}, json.dumps(answer)

    def _matching(self, jql: str) -> list[FakeIssue]:
        cached = self._cache.get(jql)
        if cached is not None and cached[0] == self.site.version:
            return cached[1]
        matches = Jql(jql).parse()
        order = re.search(r"ORDER BY (\w+) (ASC|DESC)", jql)
        field, direction = order.groups() if order else ("updated", "ASC")
        found = sorted((i for i in self.site.issues.values() if matches(i)),
                       key=lambda i: (i.created if field == "created" else i.updated, i.number()),
                       reverse=direction == "DESC")
        self._cache[jql] = (self.site.version, found)
        return found

    def _issue(self, request: Any) -> FakeIssue | None:
        ref = urlsplit(request.url).path.split("/issue/", 1)[1].split("/")[0]
        return self.site.find(ref)

    def _get(self, request: Any) -> Any:
        self.site.read("get")
        issue = self._issue(request)
        if issue is None:
            return 404, {}, json.dumps({"errorMessages": ["Issue does not exist or you do not have permission to see it."]})
        return 200, {}, json.dumps(issue_json(issue, changelog="changelog" in (request.url or "")))

    def _changelog(self, request: Any) -> Any:
        self.site.read("changelog")
        issue = self._issue(request)
        values = _histories(issue) if issue else []
        return 200, {}, json.dumps({"startAt": 0, "maxResults": 100, "total": len(values), "isLast": True,
                                    "values": values})

    def _comments(self, request: Any) -> Any:
        self.site.read("comments")
        issue = self._issue(request)
        comments = [_comment_json(c) for c in (issue.comments if issue else [])]
        return 200, {}, json.dumps({"startAt": 0, "maxResults": 100, "total": len(comments), "comments": comments})

    def _comment_list(self, request: Any) -> Any:
        self.site.read("comment/list")
        wanted = {str(i) for i in json.loads(request.body).get("ids", [])}
        found = [_comment_json(c, properties=True) for i in self.site.issues.values() for c in i.comments
                 if c.id in wanted]
        return 200, {}, json.dumps({"startAt": 0, "maxResults": len(found), "total": len(found), "isLast": True,
                                    "values": found})

    def _add_comment(self, request: Any) -> Any:
        issue = self._issue(request)
        assert issue is not None
        body = json.loads(request.body)
        marker = next((p["value"]["token"] for p in body.get("properties", []) if p.get("key") == "flowkeeper"), None)
        comment = FakeComment(self.site.next_id(), SERVICE, _adf_text(body["body"]), self.site.now, marker)
        issue.comments.append(comment)
        self.site.wrote(f"comment {issue.key}", issue)
        return 201, {}, json.dumps(_comment_json(comment))

    def _edit(self, request: Any) -> Any:
        issue = self._issue(request)
        assert issue is not None
        for operation in json.loads(request.body).get("update", {}).get("labels", []):
            if "add" in operation and operation["add"] not in issue.labels:
                issue.labels.append(operation["add"])
            if "remove" in operation and operation["remove"] in issue.labels:
                issue.labels.remove(operation["remove"])
        self.site.wrote(f"labels {issue.key}", issue)
        return 204, {}, ""


def _comment_json(comment: FakeComment, properties: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": comment.id, "author": user(comment.author), "created": stamp(comment.created),
        "updated": stamp(comment.created),
        "body": {"type": "doc", "version": 1,
                 "content": [{"type": "paragraph", "content": [{"type": "text", "text": comment.body}]}]},
    }
    if properties:
        body["properties"] = ([{"key": "flowkeeper", "value": {"token": comment.marker}}] if comment.marker else [])
    return body


def _adf_text(node: Any) -> str:
    if isinstance(node, dict):
        if node.get("type") == "text":
            return str(node.get("text", ""))
        if node.get("type") == "mention":
            return str((node.get("attrs") or {}).get("text", ""))
        return "".join(_adf_text(c) for c in node.get("content", []))
    return ""


# ---- webhook bodies, shaped like the captured deliveries ---------------------------------

def _envelope(event: str, issue: FakeIssue, actor: Account, at: datetime) -> dict[str, Any]:
    return {"timestamp": int(at.timestamp() * 1000), "webhookEvent": event, "user": user(actor),
            "issue": issue_json(issue)}


def status_changed(site: Site, key: str, status: str, category: str, actor: Account) -> dict[str, Any]:
    """Move the issue in the fake, and the `jira:issue_updated` delivery that reports it."""
    old = site.issues[key].status
    issue = site.move(key, status, category, actor)
    body = _envelope("jira:issue_updated", issue, actor, site.now)
    body["issue_event_type_name"] = "issue_generic"
    body["changelog"] = {"id": site.next_id(), "items": [
        {"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "1", "fromString": old,
         "to": "2", "toString": status}]}
    return body


def labels_changed(site: Site, key: str, old: list[str], actor: Account) -> dict[str, Any]:
    """The delivery Jira sends after a label edit (Flowkeeper's own, or a person's)."""
    issue = site.issues[key]
    body = _envelope("jira:issue_updated", issue, actor, site.now)
    body["changelog"] = {"id": site.next_id(), "items": [
        {"field": "labels", "fieldtype": "jira", "fieldId": "labels", "from": None, "fromString": " ".join(old),
         "to": None, "toString": " ".join(issue.labels)}]}
    return body


def commented(site: Site, key: str, author: Account, text: str) -> dict[str, Any]:
    """Add a comment in the fake, and the `comment_created` delivery (plain-string body)."""
    made = site.comment(key, author, text)
    issue = site.issues[key]
    slim = {"id": issue.id, "key": issue.key, "self": f"{API}/issue/{issue.id}",
            "fields": {"summary": issue.title, "status": issue_json(issue)["fields"]["status"]}}
    return {"timestamp": int(site.now.timestamp() * 1000), "webhookEvent": "comment_created",
            "comment": {"id": made.id, "author": user(author), "body": text, "created": stamp(made.created),
                        "updated": stamp(made.created)},
            "issue": slim}


def edited(site: Site, key: str, author: Account, comment_id: str, text: str) -> dict[str, Any]:
    """Edit a comment in the fake, and the `comment_updated` delivery (the editor is `updateAuthor`)."""
    issue = site.issues[key]
    made = next(c for c in issue.comments if c.id == comment_id)
    made.body = text
    slim = {"id": issue.id, "key": issue.key, "self": f"{API}/issue/{issue.id}",
            "fields": {"summary": issue.title, "status": issue_json(issue)["fields"]["status"]}}
    return {"timestamp": int(site.now.timestamp() * 1000), "webhookEvent": "comment_updated",
            "comment": {"id": made.id, "author": user(made.author), "updateAuthor": user(author), "body": text,
                        "created": stamp(made.created), "updated": stamp(site.now)},
            "issue": slim}
