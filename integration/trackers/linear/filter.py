"""A sweep's tracker-neutral SearchQuery → Linear's `IssueFilter` (pure).

Pushing the rule's bounds into the filter is what keeps a sweep over a large workspace
to the few requests its candidates need. Items carrying one of our own flags are OR-ed
back in whatever the other bounds say, so a flag can clear itself.
"""

from __future__ import annotations

import json
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


def _state(query: SearchQuery) -> dict[str, Any]:
    state: dict[str, Any] = {}
    if query.status_categories and StatusCategory.UNKNOWN not in query.status_categories:
        types = [t for c in query.status_categories for t in STATE_TYPES[c]]
        state["type"] = {"in": types}
    if query.status_names:
        state["name"] = {"in": list(query.status_names)}
    return state


def _conditions(query: SearchQuery) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if query.teams:
        parts.append({"team": {"key": {"in": list(query.teams)}}})
    state = _state(query)
    if state:
        parts.append({"state": state})
    if query.updated_before is not None:
        parts.append({"updatedAt": {"lt": _iso(query.updated_before)}})
    if query.labels_any_of:
        parts.append({"labels": {"some": {"name": {"in": list(query.labels_any_of)}}}})
    if query.labels_none_of:
        parts.append({"labels": {"every": {"name": {"nin": list(query.labels_none_of)}}}})
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


def to_filter(query: SearchQuery) -> dict[str, Any]:
    """The `IssueFilter` for `query`; `{}` when nothing narrows (every issue is a candidate)."""
    parts = _conditions(query)
    narrowed: dict[str, Any] = parts[0] if len(parts) == 1 else ({"and": parts} if parts else {})
    if not query.always_include_labels or not narrowed:
        return narrowed
    flagged = {"labels": {"some": {"name": {"in": list(query.always_include_labels)}}}}
    return {"or": [narrowed, flagged]}
