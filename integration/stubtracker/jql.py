"""JQL over the stub's stored issues: the language Flowkeeper's sweeps write, read as Jira reads it.

Understood: AND / OR / NOT and parentheses; `in`, `not in`, `=`, `!=`, `is [not] EMPTY`
on project, status, statusCategory, labels, key, issuetype, priority, resolution,
assignee, reporter, fixVersion, parent and custom fields (`cf[10050]`, `customfield_10050`); `<`, `<=`, `>`,
`>=` on created, updated, duedate and resolutiondate; `ORDER BY` any of those. Names
compare ignoring case, as Jira compares them, and dates are read in UTC (the account's
time zone here); a relative date (`"-20m"`, `"-1d 2h"`, `"4w"`: weeks, days, hours,
minutes) counts from the stub's clock. Anything else raises `JqlError`, which the search answers with a 400, so
a sweep that passes against the stub selected its candidates with JQL Jira would accept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

Issue = dict[str, Any]  # an issue as GET /issue/{key} returns it
Predicate = Callable[[Issue], bool]

TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<op><=|>=|!=|<|>|=|\(|\)|,)'
                   r"|(?P<word>cf\[\d+\]|[A-Za-z_][A-Za-z0-9_.]*|-?\d[\d\-/: ]*\d|\d))")
CATEGORY_NAMES = {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}
DATES = {"created", "updated", "duedate", "resolutiondate", "statuscategorychangedate"}
NAMED = {"status": "name", "issuetype": "name", "priority": "name", "resolution": "name"}
PEOPLE = ("assignee", "reporter")
RELATIVE = re.compile(r"^\s*([-+]?)\s*((?:\d+\s*[wdhm]\s*)+)$")
_RELATIVE_PART = re.compile(r"(\d+)\s*([wdhm])")
_UNITS = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
_QUOTED_RELATIVE = re.compile(r'"\s*[-+]?\s*(?:\d+\s*[wdhm]\s*)+"')


class JqlError(ValueError):
    """JQL the stub (and so, for what Flowkeeper writes, Jira) would refuse."""


def search(issues: Iterable[Issue], jql: str, now: datetime | None = None) -> list[Issue]:
    """The issues `jql` selects, in its ORDER BY order (key order when it names none);
    relative dates count from `now` (the wall clock when None)."""
    where, order = _split(jql)
    matches = Parser(where, now).parse() if where.strip() else (lambda _i: True)
    found = [i for i in issues if matches(i)]
    found.sort(key=_key_order)
    for name, descending in reversed(order):  # stable sorts: the first key decides
        found.sort(key=_sort_key(name), reverse=descending)
    return found


def compile_jql(jql: str, now: datetime | None = None) -> Predicate:
    """The WHERE part of `jql` as a predicate over one issue."""
    where, _order = _split(jql)
    return Parser(where, now).parse()


def is_relative(jql: str) -> bool:
    """Whether `jql` holds a relative date, whose answer moves with the clock."""
    return bool(_QUOTED_RELATIVE.search(jql))


def _split(jql: str) -> tuple[str, list[tuple[str, bool]]]:
    parts = re.split(r"\s+ORDER\s+BY\s+", jql.strip(), maxsplit=1, flags=re.IGNORECASE)
    if jql.strip().upper().startswith("ORDER BY"):
        parts = ["", jql.strip()[len("ORDER BY"):]]
    order = []
    for clause in (parts[1].split(",") if len(parts) > 1 else []):
        words = clause.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].upper() not in ("ASC", "DESC")):
            raise JqlError(f"cannot order by {clause.strip()!r}")
        order.append((words[0], len(words) == 2 and words[1].upper() == "DESC"))
    return parts[0], order


class Parser:
    def __init__(self, text: str, now: datetime | None = None) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0
        self.now = now

    def parse(self) -> Predicate:
        predicate = self._or()
        if self.pos != len(self.tokens):
            raise JqlError(f"trailing JQL {self.tokens[self.pos:]}")
        return predicate

    def _take(self, expected: str | None = None) -> str:
        if self.pos >= len(self.tokens):
            raise JqlError(f"JQL ends where {expected or 'more'} was expected")
        token = self.tokens[self.pos]
        if expected is not None and token.upper() != expected.upper():
            raise JqlError(f"expected {expected}, got {token}")
        self.pos += 1
        return token

    def _peek(self) -> str:
        return self.tokens[self.pos].upper() if self.pos < len(self.tokens) else ""

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._peek() == "OR":
            self._take()
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda i: any(p(i) for p in parts))

    def _and(self) -> Predicate:
        parts = [self._not()]
        while self._peek() == "AND":
            self._take()
            parts.append(self._not())
        return parts[0] if len(parts) == 1 else (lambda i: all(p(i) for p in parts))

    def _not(self) -> Predicate:
        if self._peek() == "NOT":
            self._take()
            inner = self._not()
            return lambda i: not inner(i)
        if self._peek() == "(":
            self._take("(")
            inner = self._or()
            self._take(")")
            return inner
        return self._clause()

    def _clause(self) -> Predicate:
        field, op = self._field(self._take()), self._take().upper()
        if op == "IS":
            negate = self._peek() == "NOT"
            if negate:
                self._take()
            self._take("EMPTY")
            return (lambda i: bool(values(i, field))) if negate else (lambda i: not values(i, field))
        if op in ("IN", "NOT"):
            if op == "NOT":
                self._take("in")
            wanted = {v.casefold() for v in self._list()}
            if op == "IN":
                return lambda i: any(v.casefold() in wanted for v in values(i, field))
            # `not in` leaves out the issues with no value at all, as Jira does
            return lambda i: bool(found := values(i, field)) and not any(v.casefold() in wanted for v in found)
        if op in ("=", "!="):
            wanted_one = _unquote(self._take()).casefold()
            if field in DATES:
                return self._compare(field, op, wanted_one)
            if op == "=":
                return lambda i: any(v.casefold() == wanted_one for v in values(i, field))
            return lambda i: bool(found := values(i, field)) and all(v.casefold() != wanted_one for v in found)
        if op in ("<", "<=", ">", ">="):
            if field not in DATES:
                raise JqlError(f"the stub compares only dates with {op}, not {field}")
            return self._compare(field, op, _unquote(self._take()))
        raise JqlError(f"unsupported JQL operator {field} {op}")

    def _compare(self, field: str, op: str, literal: str) -> Predicate:
        offset = relative_date(literal)
        bound = _jql_date(literal) if offset is None else (self.now or datetime.now(UTC)) + offset
        tests: dict[str, Callable[[datetime, datetime], bool]] = {
            "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b, "=": lambda a, b: a == b, "!=": lambda a, b: a != b}
        test = tests[op]

        def compare(issue: Issue) -> bool:
            at = moment(issue, field)
            return at is not None and test(at, bound)
        return compare

    @staticmethod
    def _field(token: str) -> str:
        match = re.fullmatch(r"cf\[(\d+)\]", token)
        if match:
            return f"customfield_{match.group(1)}"
        if token.startswith('"'):
            return _unquote(token)
        return token

    def _list(self) -> list[str]:
        self._take("(")
        listed = [_unquote(self._take())]
        while self._peek() == ",":
            self._take(",")
            listed.append(_unquote(self._take()))
        self._take(")")
        return listed


def _tokenize(text: str) -> list[str]:
    tokens, pos, text = [], 0, text.rstrip()
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if not match:
            raise JqlError(f"unexpected JQL at {text[pos:]!r}")
        tokens.append(match.group(match.lastgroup or ""))
        pos = match.end()
    return tokens


def _unquote(token: str) -> str:
    if token.startswith('"'):
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    if token in ("(", ")", ","):
        raise JqlError(f"expected a value, got {token}")
    return token


def values(issue: Issue, field: str) -> list[str]:
    """A field's values as JQL compares them (keys, names and ids alike); [] when empty."""
    fields = issue.get("fields") or {}
    if field == "key":
        return [issue["key"]]
    if field == "project":
        project = fields.get("project") or {}
        return [str(project[k]) for k in ("key", "name", "id") if project.get(k)]
    if field == "statusCategory":
        category = ((fields.get("status") or {}).get("statusCategory") or {}).get("key")
        return [CATEGORY_NAMES[category], category] if category in CATEGORY_NAMES else []
    if field == "labels":
        return [str(label) for label in fields.get("labels") or ()]
    if field in NAMED:
        named = fields.get(field) or {}
        return [str(named[k]) for k in (NAMED[field], "id") if named.get(k)]
    if field in PEOPLE:
        person = fields.get(field) or {}
        return [str(person[k]) for k in ("accountId", "displayName", "emailAddress") if person.get(k)]
    if field == "fixVersion":
        return [str(v["name"]) for v in fields.get("fixVersions") or () if v.get("name")]
    if field == "parent":
        parent = fields.get("parent") or {}
        return [str(parent[k]) for k in ("key", "id") if parent.get(k)]
    if field.startswith("customfield_"):
        return _custom(fields.get(field))
    raise JqlError(f"the stub does not know field {field}")


def _custom(value: Any) -> list[str]:
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, list):
        return [v for item in value for v in _custom(item)]
    if isinstance(value, dict):
        return [str(value[k]) for k in ("value", "name", "id") if value.get(k) is not None][:1]
    return [str(value)]


def moment(issue: Issue, field: str) -> datetime | None:
    text = (issue.get("fields") or {}).get(field)
    return _stamp(text) if text else None


@lru_cache(maxsize=1 << 18)
def _stamp(text: str) -> datetime:
    """Jira's `2026-03-02T09:00:00.000+0000`, or a bare `2026-03-02` (due dates)."""
    if len(text) == 10:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


def relative_date(text: str) -> timedelta | None:
    """A JQL relative date (`-20m`, `-1d 2h`, `4w`) as an offset from now; None for anything else."""
    match = RELATIVE.match(text)
    if match is None:
        return None
    span = sum((int(n) * _UNITS[unit] for n, unit in _RELATIVE_PART.findall(match.group(2))), timedelta())
    return -span if match.group(1) == "-" else span


@lru_cache(maxsize=4096)
def _jql_date(text: str) -> datetime:
    for shape in ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(text, shape).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise JqlError(f"{text!r} is not a JQL date")


def _key_order(issue: Issue) -> tuple[str, int]:
    project, _, number = str(issue["key"]).rpartition("-")
    return project, int(number) if number.isdigit() else 0


def _sort_key(name: str) -> Callable[[Issue], Any]:
    if name.lower() == "key":
        return _key_order
    if name in DATES:
        floor = datetime.min.replace(tzinfo=UTC)
        return lambda i: moment(i, name) or floor
    if name in NAMED or name in ("project", "statusCategory") or name.startswith("customfield_"):
        return lambda i: [v.casefold() for v in values(i, name)]
    raise JqlError(f"cannot order by {name}")
