"""Items, events and contexts from plain JSON: for `rules test`, `rules explain` and fixtures.

The shape follows rules.model field names; datetimes are ISO 8601 (naive means UTC).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from rules.model import (
    ActorKind,
    Change,
    Closure,
    Comment,
    EvalContext,
    Event,
    EventKind,
    Item,
    Link,
    Person,
    Priority,
    RuleState,
    Status,
    StatusCategory,
    Tracker,
)

_TIMES = ("created_at", "updated_at", "status_changed_at", "last_activity_at", "last_comment_at")


class ItemJsonError(ValueError):
    pass


def parse_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise ItemJsonError(f"not an ISO 8601 time: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def person(value: Any) -> Person | None:
    if value is None:
        return None
    if isinstance(value, str):
        return Person(value, value)
    return Person(str(value["id"]), value.get("name"), value.get("email"), ActorKind(value.get("kind", "human")))


def _status(value: Any) -> Status:
    if value is None:
        return Status("", StatusCategory.UNKNOWN)
    if isinstance(value, str):
        return Status(value, StatusCategory.UNKNOWN)
    return Status(value.get("name", ""), StatusCategory(value.get("category", "unknown")), value.get("id"))


def _priority(value: Any) -> Priority | None:
    if value is None or isinstance(value, Priority):
        return value
    if isinstance(value, str):
        return Priority(value)
    return Priority(value["name"], value.get("rank"))


def item_from_dict(data: dict[str, Any]) -> Item:
    """Build an Item; raise ItemJsonError naming the field that is wrong."""
    try:
        key = str(data.get("key", "TEST-1"))
        fields: dict[str, Any] = {k: parse_time(data.get(k)) for k in _TIMES}
        due = data.get("due_date")
        return Item(
            tracker=Tracker(data.get("tracker", "jira")), id=str(data.get("id", key)), key=key,
            url=data.get("url"), title=data.get("title", ""), description=data.get("description"),
            type=data.get("type"), status=_status(data.get("status")), assignee=person(data.get("assignee")),
            reporter=person(data.get("reporter")), labels=tuple(data.get("labels", ())),
            priority=_priority(data.get("priority")), estimate=data.get("estimate"), team=data.get("team"),
            project=data.get("project"), parent=data.get("parent"), sprint=data.get("sprint"),
            links=tuple(Link(ln["kind"], ln["key"], StatusCategory(ln["status_category"])
                             if ln.get("status_category") else None) for ln in data.get("links", ())),
            due_date=date.fromisoformat(str(due)) if due else None, deleted=bool(data.get("deleted", False)),
            sprint_active=data.get("sprint_active"), project_active=data.get("project_active"),
            unknown=frozenset(data.get("unknown", ())), **fields,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ItemJsonError(f"item: {exc}") from exc


def _value(value: Any) -> Any:
    """A changed value: {name, category} is a Status, {id, …} a person, else as given."""
    if isinstance(value, dict) and "category" in value:
        return _status(value)
    if isinstance(value, dict) and "id" in value:
        return person(value)
    return value


def event_from_dict(data: dict[str, Any], item: Item, default_time: datetime) -> Event:
    try:
        changes = tuple(Change(c["field"], _value(c.get("old")), _value(c.get("new")), tuple(c.get("added", ())),
                               tuple(c.get("removed", ()))) for c in data.get("changes", ()))
        raw_comment = data.get("comment")
        comment = Comment(str(raw_comment.get("id", "c1")), raw_comment.get("body", ""),
                          person(raw_comment.get("author"))) if raw_comment else None
        return Event(item.tracker, EventKind(data.get("kind", "updated")), item,
                     parse_time(data.get("occurred_at")) or default_time, actor=person(data.get("actor")),
                     changes=changes, comment=comment)
    except (KeyError, TypeError, ValueError) as exc:
        raise ItemJsonError(f"event: {exc}") from exc


def _closure(data: dict[str, Any] | None) -> Closure | None:
    """`closure: { at, previous, to, rule }`: Flowkeeper's own close, as the store remembers it."""
    if not data:
        return None
    at = parse_time(data.get("at"))
    if at is None:
        raise ItemJsonError("closure: 'at' is required")
    return Closure(str(data.get("rule", "")), at, _status(data.get("previous")), _status(data.get("to")))


def context_from_dict(data: dict[str, Any] | None) -> EvalContext:
    data = data or {}
    try:
        states = {name: RuleState(name, int(s.get("episode", 1)), bool(s.get("active", True)),
                                  parse_time(s.get("opened_at")), frozenset(map(str, s.get("steps_done", ()))),
                                  parse_time(s.get("last_action_at")))
                  for name, s in (data.get("rule_states") or {}).items()}
        return EvalContext(
            rule_states=states, wip_by_assignee=dict(data.get("wip_by_assignee") or {}),
            snoozed_until=parse_time(data.get("snoozed_until")),
            exempt_rules=frozenset(data.get("exempt_rules") or ()), overrides=dict(data.get("overrides") or {}),
            last_activity_by={k: t for k, v in (data.get("last_activity_by") or {}).items()
                              if (t := parse_time(v)) is not None},
            closure=_closure(data.get("closure")),
            started_at=parse_time(data.get("started_at")),
            cycle_days_by_team={str(team): tuple(sorted(float(d) for d in values))
                                for team, values in (data.get("cycle_days_by_team") or {}).items()},
            wip_groups={str(k): int(v) for k, v in (data.get("wip_groups") or {}).items()},
            wip_latest={str(k): str(v) for k, v in (data.get("wip_latest") or {}).items()},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ItemJsonError(f"context: {exc}") from exc
