"""Linear's `IssueFilter` over the stub's stored issue nodes, and its `IssueSortInput`.

Understood: `and` / `or` at any depth; `id`, `number`, `title`, `priority`, `estimate`,
`createdAt`, `updatedAt`, `dueDate`; `team` (key, id, name), `state` (type, name, id),
`assignee` / `creator` (id, name, email, or `null`); `projectMilestone`, `parent`, `cycle`
and `project` (their fields, nested, or `null`); `labels` with
`some` / `every` (name, id); comparators `eq`, `neq`, `in`, `nin`, `lt`, `lte`, `gt`, `gte`,
`eqIgnoreCase`, `neqIgnoreCase`, `containsIgnoreCase`, `startsWith`, `null`. Anything else
raises `FilterError`, answered as a GraphQL error, so a sweep that passes against the stub
sent a filter Linear's schema has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

Node = dict[str, Any]  # an Issue node with the client's IssueFields
DATES = ("createdAt", "updatedAt", "dueDate", "completedAt", "canceledAt")
SCALARS = ("id", "number", "title", "priority", "estimate", *DATES)
NESTED = {"team": ("key", "id", "name"), "state": ("type", "name", "id"),
          "assignee": ("id", "name", "email", "displayName"), "creator": ("id", "name", "email", "displayName")}
RELATED = ("projectMilestone", "parent", "cycle", "project")  # Nullable…Filters over a related object
LABEL_FIELDS = ("name", "id")
EARLIEST = datetime.min.replace(tzinfo=UTC)


class FilterError(ValueError):
    """A filter field or comparator the stub does not know."""


def _fold(value: Any) -> str:
    return str(value).casefold()


COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda v, a: v == a, "neq": lambda v, a: v != a,
    "in": lambda v, a: v in a, "nin": lambda v, a: v not in a,
    "lt": lambda v, a: v is not None and v < a, "lte": lambda v, a: v is not None and v <= a,
    "gt": lambda v, a: v is not None and v > a, "gte": lambda v, a: v is not None and v >= a,
    "eqIgnoreCase": lambda v, a: v is not None and _fold(v) == _fold(a),
    "neqIgnoreCase": lambda v, a: v is None or _fold(v) != _fold(a),
    "containsIgnoreCase": lambda v, a: v is not None and _fold(a) in _fold(v),
    "startsWith": lambda v, a: v is not None and str(v).startswith(str(a)),
    "null": lambda v, a: (v is None) == bool(a),
}


def compare(value: Any, comparator: dict[str, Any]) -> bool:
    """One comparator object (`{"in": [...], "lte": ...}`): every operator in it must hold."""
    for op, arg in comparator.items():
        if op not in COMPARATORS:
            raise FilterError(f"the stub does not know comparator {op}")
        if not COMPARATORS[op](value, arg):
            return False
    return True


def _when(value: Any) -> Any:
    return _moment(value) if isinstance(value, str) else value


@lru_cache(maxsize=1 << 18)
def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _compare_date(value: Any, comparator: dict[str, Any]) -> bool:
    return compare(_when(value) if value else None,
                   {op: ([_when(a) for a in arg] if isinstance(arg, list) else _when(arg) if op != "null" else arg)
                    for op, arg in comparator.items()})


def node_matches(cond: dict[str, Any], fields: dict[str, Any], known: Iterable[str]) -> bool:
    """A filter over one nested node's fields (a WorkflowStateFilter, an IssueLabelFilter…)."""
    allowed = set(known)
    for key, c in cond.items():
        if key in ("and", "or"):
            results = (node_matches(part, fields, allowed) for part in c)
            if not (all(results) if key == "and" else any(results)):
                return False
        elif key == "null":
            if (not fields) != bool(c):
                return False
        elif key not in allowed:
            raise FilterError(f"the stub does not know filter field {key}")
        elif not compare(fields.get(key), c):
            return False
    return True


def _number(node: Node) -> int:
    tail = str(node.get("identifier", "")).rpartition("-")[2]
    return int(tail) if tail.isdigit() else 0


def _one(node: Node, key: str, cond: Any) -> bool:
    if key == "and":
        return all(matches(node, c) for c in cond)
    if key == "or":
        return any(matches(node, c) for c in cond)
    if key in DATES:
        return _compare_date(node.get(key), cond)
    if key == "number":
        return compare(node.get("number", _number(node)), cond)
    if key in SCALARS:
        return compare(node.get(key), cond)
    if key in NESTED:
        nested = node.get(key) or {}
        if set(cond) == {"null"}:
            return (not nested) == bool(cond["null"])
        return bool(nested) and node_matches(cond, nested, NESTED[key])
    if key in RELATED:
        return _nullable(cond, _related(node, key))
    if key == "labels":
        labels = (node.get("labels") or {}).get("nodes") or []
        if "some" in cond:
            return any(node_matches(cond["some"], label, LABEL_FIELDS) for label in labels)
        if "every" in cond:
            return all(node_matches(cond["every"], label, LABEL_FIELDS) for label in labels)
        raise FilterError(f"the stub does not know labels filter {cond}")
    raise FilterError(f"the stub does not know filter {key}: {cond}")


def _related(node: Node, key: str) -> dict[str, Any] | None:
    """The related object's fields a filter may read (dates parsed), or None when the issue has none."""
    found = node.get(key)
    if not found:
        return None
    if key == "parent":
        team, _, number = str(found.get("identifier", "")).rpartition("-")
        return {"team": {"key": team}, "number": int(number) if number.isdigit() else 0}
    return {k: (_moment(v) if k.endswith("At") and isinstance(v, str) else v) for k, v in found.items()}


def _nullable(cond: dict[str, Any], fields: dict[str, Any] | None) -> bool:
    """A Nullable…Filter: `null`, and / or, nested filters and comparators over a related object."""
    for key, c in cond.items():
        if key == "null":
            ok = (fields is None) == bool(c)
        elif key in ("and", "or"):
            results = [_nullable(part, fields) for part in c]
            ok = all(results) if key == "and" else any(results)
        elif fields is None or fields.get(key) is None:
            ok = False  # a comparison with nothing holds for no value
        elif isinstance(fields[key], dict):
            ok = _nullable(c, fields[key])
        else:
            value = fields[key]
            ok = compare(value, {op: _when(a) if isinstance(value, datetime) else a for op, a in c.items()})
        if not ok:
            return False
    return True


def matches(node: Node, issue_filter: dict[str, Any]) -> bool:
    """Whether an issue node passes an IssueFilter (every key of it, as Linear ANDs them)."""
    return all(_one(node, key, cond) for key, cond in issue_filter.items())


def search(nodes: Iterable[Node], issue_filter: dict[str, Any], sort: list[dict[str, Any]] | None = None) -> list[Node]:
    """The nodes the filter selects: by number, then by each `IssueSortInput` (the first decides)."""
    found = sorted((n for n in nodes if matches(n, issue_filter)), key=_number)
    for entry in reversed(sort or []):
        ((name, how),) = entry.items()
        if name not in DATES:
            raise FilterError(f"the stub does not sort by {name}")
        found.sort(key=_by(name), reverse=how.get("order") == "Descending")
    return found


def _by(name: str) -> Callable[[Node], datetime]:
    def when(node: Node) -> datetime:
        value = node.get(name)
        return _moment(value) if isinstance(value, str) and value else EARLIEST
    return when
