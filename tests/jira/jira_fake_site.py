"""A small, honest fake of Jira's `/search/jql`: synthetic issues filtered by real JQL.

It understands exactly the JQL subset `to_jql` writes (AND/OR, parentheses, `in`,
`not in`, `is EMPTY`, `<=` on `updated`) and answers 400 to anything else, so a test
passing against it means the pushed-down JQL selected the candidates, not the fake.
Dates are read in UTC (the fake account's time zone).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<op><=|\(|\)|,)|(?P<word>[A-Za-z_]+))')
CATEGORY_KEYS = {"To Do": "new", "In Progress": "indeterminate", "Done": "done"}


@dataclass
class FakeIssue:
    key: str
    project: str
    category: str  # "To Do" | "In Progress" | "Done"
    labels: list[str]
    updated: datetime

    def json(self) -> dict[str, Any]:
        key = CATEGORY_KEYS[self.category]
        return {
            "id": self.key.split("-")[1],
            "key": self.key,
            "fields": {
                "summary": f"Issue {self.key}",
                "status": {"name": self.category, "id": "1", "statusCategory": {"key": key}},
                "labels": list(self.labels),
                "project": {"key": self.project},
                "created": "2024-01-01T00:00:00.000+0000",
                "updated": self.updated.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            },
        }


Predicate = Callable[[FakeIssue], bool]


class JqlParser:
    def __init__(self, text: str) -> None:
        where = re.split(r"\s+ORDER BY\s+", text, maxsplit=1)[0]
        self.tokens = self._tokenize(where)
        self.pos = 0

    @staticmethod
    def _tokenize(text: str) -> list[str]:
        tokens, pos = [], 0
        while pos < len(text.rstrip()):
            match = TOKEN.match(text, pos)
            if not match:
                raise ValueError(f"unexpected JQL at {text[pos:]!r}")
            tokens.append(match.group(match.lastgroup or ""))
            pos = match.end()
        return tokens

    def parse(self) -> Predicate:
        predicate = self._or()
        if self.pos != len(self.tokens):
            raise ValueError(f"trailing JQL {self.tokens[self.pos :]}")
        return predicate

    def _take(self, expected: str | None = None) -> str:
        token = self.tokens[self.pos]
        if expected is not None and token.upper() != expected.upper():
            raise ValueError(f"expected {expected}, got {token}")
        self.pos += 1
        return token

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _or(self) -> Predicate:
        parts = [self._and()]
        while (self._peek() or "").upper() == "OR":
            self._take()
            parts.append(self._and())
        return lambda issue: any(p(issue) for p in parts)

    def _and(self) -> Predicate:
        parts = [self._term()]
        while (self._peek() or "").upper() == "AND":
            self._take()
            parts.append(self._term())
        return lambda issue: all(p(issue) for p in parts)

    def _term(self) -> Predicate:
        if self._peek() == "(":
            self._take("(")
            inner = self._or()
            self._take(")")
            return inner
        field = self._take()
        op = self._take()
        if op.upper() == "IS":
            self._take("EMPTY")
            return lambda issue: not _values(issue, field)
        if op.upper() == "NOT":
            self._take("in")
            values = self._list()
            return lambda issue: bool(_values(issue, field)) and not set(_values(issue, field)) & values
        if op.upper() == "IN":
            values = self._list()
            return lambda issue: bool(set(_values(issue, field)) & values)
        if op == "<=" and field == "updated":
            bound = datetime.strptime(_unquote(self._take()), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
            return lambda issue: issue.updated <= bound
        raise ValueError(f"unsupported JQL operator {field} {op}")

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


def _values(issue: FakeIssue, field: str) -> list[str]:
    table = {"project": [issue.project], "statusCategory": [issue.category], "labels": issue.labels}
    if field not in table:
        raise ValueError(f"the fake does not know field {field}")
    return table[field]


class FakeSearch:
    """The `/rest/api/3/search/jql` callback over `issues`; counts the calls it answered."""

    def __init__(self, issues: list[FakeIssue]) -> None:
        self.issues = issues
        self.calls = 0

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        self.calls += 1
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        try:
            matches = JqlParser(query["jql"]).parse()
        except (ValueError, IndexError, KeyError) as error:
            return 400, {}, json.dumps({"errorMessages": [str(error)]})
        found = sorted((i for i in self.issues if matches(i)), key=lambda i: (i.updated, i.key))
        start = int(query.get("nextPageToken", "0"))
        size = int(query.get("maxResults", "50"))
        page = found[start : start + size]
        last = start + size >= len(found)
        answer: dict[str, Any] = {"issues": [i.json() for i in page], "isLast": last}
        if not last:
            answer["nextPageToken"] = str(start + size)
        return 200, {}, json.dumps(answer)
