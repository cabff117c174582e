"""A sweep's tracker-neutral SearchQuery → Linear's `IssueFilter` (pure).

Pushing the rule's bounds into the filter is what keeps a sweep over a large workspace
to the few requests its candidates need. Items carrying one of our own flags are OR-ed
back in whatever the other bounds say, so a flag can clear itself. Names compare ignoring
case, as the rules compare them: a narrower filter would miss items a rule acts on.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rules.model import SearchQuery, StatusCategory

STATE_TYPES: dict[StatusCategory, tuple[str, ...]] = {
    StatusCategory.TODO: ("triage", "backlog", "unstarted"),
    StatusCategory.IN_PROGRESS: ("started",),
    StatusCategory.DONE: ("completed",),
    StatusCategory.CANCELED: ("canceled", "duplicate"),
}


def _iso(value: Any) -> str:
    text = value.isoformat()
    return text.replace("+00:00", "Z")


def named(names: tuple[str, ...]) -> dict[str, Any]:
    """A label or state filter matching any of `names` ignoring case, as rules compare them."""
    each = [{"name": {"eqIgnoreCase": name}} for name in dict.fromkeys(names)]
    return each[0] if len(each) == 1 else {"or": each}


def _state(query: SearchQuery) -> dict[str, Any]:
    state: dict[str, Any] = {}
    if query.status_categories and StatusCategory.UNKNOWN not in query.status_categories:
        types = [t for c in query.status_categories for t in STATE_TYPES[c]]
        state["type"] = {"in": types}
    if query.status_names:
        state.update(named(query.status_names))
    return state


# A cycle's state as the normalizer reads it (integration.trackers.linear.item.cycle_state), as a
# NullableCycleFilter that holds for every cycle read so.
CYCLE_STATES: dict[str, dict[str, Any]] = {
    "active": {"isActive": {"eq": True}},
    "upcoming": {"isFuture": {"eq": True}},
    # completedAt is a DateComparator here (no `null`): any completion time is after the epoch
    "completed": {"or": [{"completedAt": {"gt": "1970-01-01T00:00:00Z"}}, {"isPast": {"eq": True}}]},
}
_IDENTIFIER = re.compile(r"^([A-Za-z0-9]+)-(\d+)$")


def _one_of(parts: list[dict[str, Any]]) -> dict[str, Any]:
    return parts[0] if len(parts) == 1 else {"or": parts}


def _parent(values: tuple[str, ...]) -> dict[str, Any] | None:
    """Parents by identifier, as team key and number; None when one is no identifier (no narrowing)."""
    found = [_IDENTIFIER.match(v.strip()) for v in values]
    if not all(found):
        return None
    return _one_of([{"team": {"key": {"eqIgnoreCase": m.group(1)}}, "number": {"eq": int(m.group(2))}}
                    for m in found if m])


def _field_in(name: str, values: tuple[str, ...]) -> dict[str, Any] | None:
    """`name` holds one of `values` (ignoring case), as an IssueFilter; None when it cannot be said."""
    if name == "milestones":
        return {"projectMilestone": named(values)}
    if name == "parent":
        parent = _parent(values)
        return None if parent is None else {"parent": parent}
    if name == "sprint.state":
        states = [CYCLE_STATES[v.casefold()] for v in dict.fromkeys(values) if v.casefold() in CYCLE_STATES]
        return {"cycle": _one_of(states)} if states else None
    if name == "project.state":  # ProjectStatusType values are lower case
        return {"project": {"status": {"type": {"in": sorted({v.casefold() for v in values})}}}}
    return None


_EMPTY_FIELDS = {"milestones": "projectMilestone", "parent": "parent"}


def _planning(query: SearchQuery) -> list[dict[str, Any]]:
    parts = [f for name, values in query.field_in if (f := _field_in(name, values)) is not None]
    parts += [{_EMPTY_FIELDS[name]: {"null": empty}} for name, empty in query.field_empty if name in _EMPTY_FIELDS]
    return parts


def _conditions(query: SearchQuery) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if query.teams:
        parts.append({"team": {"key": {"in": list(query.teams)}}})
    state = _state(query)
    if state:
        parts.append({"state": state})
    if query.updated_before is not None:
        parts.append({"updatedAt": {"lte": _iso(query.updated_before)}})
    created = {op: _iso(at) for op, at in (("gte", query.created_after), ("lte", query.created_before)) if at}
    if created:
        parts.append({"createdAt": created})
    if query.labels_any_of:
        parts.append({"labels": {"some": named(query.labels_any_of)}})
    if query.labels_none_of:
        parts.append({"labels": {"every": {"name": {"nin": list(query.labels_none_of)}}}})
    parts += _planning(query)
    if query.extra:
        parts.append(_extra(query.extra))
    return parts


def _extra(text: str) -> dict[str, Any]:
    try:
        extra = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"the rule's Linear filter is not JSON: {error.msg} at column {error.colno}"
        ) from None
    if not isinstance(extra, dict):
        raise ValueError("the rule's Linear filter must be a JSON object (an IssueFilter)")
    return extra


def to_sort(query: SearchQuery) -> list[dict[str, Any]]:
    """The `IssueSortInput` list for the rule's sweep order."""
    field = "createdAt" if query.order.endswith("created") else "updatedAt"
    return [{field: {"order": "Descending" if query.order.startswith("newest") else "Ascending"}}]


def to_filter(query: SearchQuery) -> dict[str, Any]:
    """The `IssueFilter` for `query`; `{}` when nothing narrows (every issue is a candidate)."""
    parts = _conditions(query)
    narrowed: dict[str, Any] = parts[0] if len(parts) == 1 else ({"and": parts} if parts else {})
    if query.always_include_labels and narrowed:
        narrowed = {"or": [narrowed, {"labels": {"some": named(query.always_include_labels)}}]}
    if query.changed_since is None:
        return narrowed
    since = {"updatedAt": {"gte": _iso(query.changed_since)}}
    return {"and": [narrowed, since]} if narrowed else since


def by_ids(ids: list[str]) -> dict[str, Any]:
    """The `IssueFilter` for these issues and no others (reading many again at once)."""
    return {"id": {"in": list(ids)}}
