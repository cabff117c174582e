"""Items, events and contexts from plain JSON: for `rules test`, `rules explain` and fixtures.

The shape follows rules.model field names; datetimes are ISO 8601 (naive means UTC).
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any, TypeVar

from rules.errors import did_you_mean
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

E = TypeVar("E", bound=enum.Enum)
_TIMES = ("created_at", "updated_at", "status_changed_at", "last_activity_at", "last_comment_at")


class ItemJsonError(ValueError):
    pass


# a test's item may name a field as conditions do (`last_activity`) or as the model does
ALIASES = {"created": "created_at", "updated": "updated_at", "last_activity": "last_activity_at",
           "last_comment": "last_comment_at", "status_entered": "status_changed_at", "due": "due_date"}
ITEM_KEYS = frozenset({"tracker", "id", "key", "url", "title", "description", "type", "status", "assignee",
                       "reporter", "labels", "priority", "estimate", "team", "project", "parent", "sprint", "links",
                       "due_date", "deleted", "sprint_active", "project_active", "unknown", "custom", "milestones",
                       "sprint_state", "project_state", "subtasks", *_TIMES,
                       *ALIASES})
EVENT_KEYS = frozenset({"kind", "changes", "comment", "actor", "occurred_at"})


def _unknown_keys(data: dict[str, Any], allowed: frozenset[str], what: str, advice: list[str]) -> None:
    extra = sorted(k for k in data if k not in allowed)
    if extra:
        raise ItemJsonError(f"{what}: unknown field '{extra[0]}'{did_you_mean(extra[0], advice)} "
                            f"(fields: {', '.join(advice)})")


def enum_value(cls: type[E], value: Any, what: str) -> E:
    """`cls(value)`, or an error naming the accepted values instead of Python's enum message."""
    try:
        return cls(value)
    except ValueError:
        names = [str(m.value) for m in cls]
        hint = did_you_mean(str(value), names) if isinstance(value, str) else ""
        raise ItemJsonError(f"{what} must be one of {', '.join(names)} (got {value!r}){hint}") from None


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
    return Person(str(value["id"]), value.get("name"), value.get("email"),
                  enum_value(ActorKind, value.get("kind", "human"), "person: kind"))


def _status(value: Any) -> Status:
    if value is None:
        return Status("", StatusCategory.UNKNOWN)
    if isinstance(value, str):
        return Status(value, StatusCategory.UNKNOWN)
    category = enum_value(StatusCategory, value.get("category", "unknown"), "status: category")
    return Status(value.get("name", ""), category, value.get("id"))


def _priority(value: Any) -> Priority | None:
    if value is None or isinstance(value, Priority):
        return value
    if isinstance(value, str):
        return Priority(value)
    return Priority(value["name"], value.get("rank"))


def item_from_dict(data: dict[str, Any]) -> Item:
    """Build an Item; raise ItemJsonError naming the field that is wrong."""
    if not isinstance(data, dict):
        raise ItemJsonError("item: must be a mapping of fields")
    _unknown_keys(data, ITEM_KEYS, "item", sorted(ITEM_KEYS - set(_TIMES) - {"due_date"}))
    data = {ALIASES.get(k, k): v for k, v in data.items()}
    try:
        key = str(data.get("key", "TEST-1"))
        fields: dict[str, Any] = {k: parse_time(data.get(k)) for k in _TIMES}
        due = data.get("due_date")
        return Item(
            tracker=enum_value(Tracker, data.get("tracker", "jira"), "item: tracker"), id=str(data.get("id", key)), key=key,
            url=data.get("url"), title=data.get("title", ""), description=data.get("description"),
            type=data.get("type"), status=_status(data.get("status")), assignee=person(data.get("assignee")),
            reporter=person(data.get("reporter")), labels=tuple(data.get("labels", ())),
            priority=_priority(data.get("priority")), estimate=data.get("estimate"), team=data.get("team"),
            project=data.get("project"), parent=data.get("parent"), sprint=data.get("sprint"),
            links=tuple(Link(ln["kind"], ln["key"], StatusCategory(ln["status_category"])
                             if ln.get("status_category") else None) for ln in data.get("links", ())),
            due_date=date.fromisoformat(str(due)) if due else None, deleted=bool(data.get("deleted", False)),
            sprint_active=data.get("sprint_active"), project_active=data.get("project_active"),
            milestones=tuple(str(m) for m in data.get("milestones") or ()), sprint_state=data.get("sprint_state"),
            project_state=data.get("project_state"), subtasks=data.get("subtasks"),
            unknown=frozenset(data.get("unknown", ())), custom=MappingProxyType(_custom(data.get("custom"))),
            **fields,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ItemJsonError(f"item: {exc}") from exc


def _custom(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ItemJsonError("item: custom must map field names to values")
    return {str(k): tuple(v) if isinstance(v, list) else v for k, v in value.items()}


def _value(value: Any) -> Any:
    """A changed value: {name, category} is a Status, {id, …} a person, else as given."""
    if isinstance(value, dict) and "category" in value:
        return _status(value)
    if isinstance(value, dict) and "id" in value:
        return person(value)
    return value


def event_from_dict(data: dict[str, Any], item: Item, default_time: datetime) -> Event:
    if not isinstance(data, dict):
        raise ItemJsonError("event: must be a mapping with a kind")
    _unknown_keys(data, EVENT_KEYS, "event", sorted(EVENT_KEYS))
    kind = enum_value(EventKind, data.get("kind", "updated"), "event: kind")
    try:
        changes = tuple(Change(c["field"], _value(c.get("old")), _value(c.get("new")), tuple(c.get("added", ())),
                               tuple(c.get("removed", ()))) for c in data.get("changes", ()))
        raw_comment = data.get("comment")
        comment = Comment(str(raw_comment.get("id", "c1")), raw_comment.get("body", ""),
                          person(raw_comment.get("author"))) if raw_comment else None
        return Event(item.tracker, kind, item,
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


def _rule_state(name: str, s: dict[str, Any]) -> RuleState:
    """`steps_done` is a list of step ids, or a mapping of step id → when it was done."""
    raw = s.get("steps_done") or ()
    times = {str(k): parse_time(v) for k, v in raw.items()} if isinstance(raw, dict) else dict.fromkeys(map(str, raw))
    return RuleState(name, int(s.get("episode", 1)), bool(s.get("active", True)), parse_time(s.get("opened_at")),
                     frozenset(times), parse_time(s.get("last_action_at")),
                     tuple((k, at) for k, at in times.items() if at is not None))


def context_from_dict(data: dict[str, Any] | None) -> EvalContext:
    data = data or {}
    try:
        states = {name: _rule_state(name, s) for name, s in (data.get("rule_states") or {}).items()}
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
            clocks={str(k): t for k, v in (data.get("clocks") or {}).items() if (t := parse_time(v)) is not None},
            wip_latest={str(k): str(v) for k, v in (data.get("wip_latest") or {}).items()},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ItemJsonError(f"context: {exc}") from exc
