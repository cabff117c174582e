"""Jira Cloud JSON → tracker-neutral Item and Event.

Pure functions only: the receiver hands a parsed webhook body to `normalize`, the client
hands REST answers (get issue, search) to `normalize_issue`. A field the JSON does not
carry is listed in `Item.unknown`, never guessed: comment events carry only part of the
issue, and the job refetches it before rules see it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from integration.trackers.errors import PayloadError, shape_errors_are_payload_errors
from integration.trackers.jira.fields import (
    adf_to_text,
    canceled_if_resolved_so,
    custom_value,
    epic_name,
    issue_type,
    links_of,
    mapping_at,
    number_of,
    parse_date,
    parse_datetime,
    person,
    priority_of,
    sprint_name,
    sprint_running,
    sprint_state,
    status,
    version_names,
)
from integration.trackers.sanitise import clean_text
from rules.model import (
    Change,
    Comment,
    Event,
    EventKind,
    Item,
    Person,
    Tracker,
)

__all__ = ["EVENT_KINDS", "JiraConfig", "change_field_name", "is_full_issue", "normalize", "normalize_issue", "triage"]

EVENT_KINDS: Mapping[str, EventKind] = MappingProxyType(
    {
        "jira:issue_created": EventKind.CREATED,
        "jira:issue_updated": EventKind.UPDATED,
        "jira:issue_deleted": EventKind.DELETED,
        "comment_created": EventKind.COMMENT_CREATED,
        "comment_updated": EventKind.COMMENT_UPDATED,
    }
)


DEFAULT_SPRINT_FIELD = "customfield_10020"  # Jira Cloud's Sprint field on every site

# Changelog field ids → the Item attribute rules know them by.
CHANGE_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "summary": "title",
        "issuetype": "type",
        "duedate": "due_date",
        "IssueParentAssociation": "parent",
        "issuelinks": "links",
        "Fix Version": "milestones",
        "fixVersions": "milestones",
    }
)
USER_FIELDS = frozenset({"assignee", "reporter"})
MULTI_VALUE_FIELDS = frozenset({"labels"})


@dataclass(frozen=True, slots=True)
class JiraConfig:
    """Site facts the payload cannot tell: where to link, which custom fields mean what."""

    site_url: str | None = None
    story_points_field: str | None = None
    field_map: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # The site's estimate field is not known yet (the worker finds it): estimate is unknown.
    estimate_pending: bool = False
    # priority id → place in the site's ordered list (1 = most urgent); empty: Jira's defaults
    priority_ranks: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    bug_types: tuple[str, ...] = ()  # JIRA_BUG_TYPES: issue type ids (or names) that are bugs

    @property
    def sprint_field(self) -> str:
        return self.field_map.get("sprint", DEFAULT_SPRINT_FIELD)


# ---- webhook events ------------------------------------------------------------------


def triage(payload: Mapping[str, Any]) -> str | None:
    """The receiver's quick look at a webhook body: the issue key when `normalize` would make an
    Event of it, None for event types Flowkeeper does not act on, `PayloadError` when its outline
    (event type, issue key, timestamp) is missing. Reads a few keys; cleans and copies nothing."""
    source_type = payload.get("webhookEvent")
    if not isinstance(source_type, str):
        raise PayloadError("payload has no webhookEvent")
    if source_type not in EVENT_KINDS:
        return None
    issue = payload.get("issue")
    key = issue.get("key") if isinstance(issue, Mapping) else None
    if not key:
        raise PayloadError(f"{source_type} without an issue key")
    _timestamp(payload.get("timestamp"))
    return clean_text(key) if isinstance(key, str) else str(key)


@shape_errors_are_payload_errors
def normalize(payload: Mapping[str, Any], config: JiraConfig) -> Event | None:
    """One webhook body → Event; None for event types Flowkeeper does not act on."""
    if not isinstance(payload, Mapping):
        raise PayloadError("payload is not a JSON object")
    if triage(payload) is None:
        return None
    source_type = payload["webhookEvent"]
    kind, issue = EVENT_KINDS[source_type], payload["issue"]
    occurred_at = _timestamp(payload.get("timestamp"))
    changes = _changes(payload.get("changelog"), config)
    item = _issue_item(issue, config)  # `normalize` already cleaned the body and turns shape errors into 400s
    item = _with_event_facts(item, kind, changes, occurred_at)
    comment = _comment(payload.get("comment")) if kind in _COMMENT_KINDS else None
    return Event(
        tracker=Tracker.JIRA,
        kind=kind,
        item=item,
        occurred_at=occurred_at,
        actor=_actor(payload, kind),
        changes=changes,
        comment=comment,
        source_type=source_type,
    )


_COMMENT_KINDS = frozenset({EventKind.COMMENT_CREATED, EventKind.COMMENT_UPDATED})


def _with_event_facts(item: Item, kind: EventKind, changes: Sequence[Change], at: datetime) -> Item:
    """What the event itself says: deletion, and when the current status was entered."""
    if kind is EventKind.DELETED:
        return item.with_fields(deleted=True)
    if "status_changed_at" not in item.unknown:
        return item
    entered = at if any(c.field == "status" for c in changes) else None
    if kind is EventKind.CREATED:
        entered = item.created_at or at
    if entered is None:
        return item
    return item.with_fields(status_changed_at=entered, unknown=item.unknown - {"status_changed_at"})


def _timestamp(value: Any) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError("payload has no numeric timestamp")
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def _actor(payload: Mapping[str, Any], kind: EventKind) -> Person | None:
    """Who did it: the webhook's `user`, or the comment's (update) author for comment events."""
    comment = mapping_at(payload, "comment")
    if kind is EventKind.COMMENT_UPDATED and comment.get("updateAuthor"):
        return person(comment["updateAuthor"])
    if kind is EventKind.COMMENT_CREATED and comment.get("author"):
        return person(comment["author"])
    return person(payload.get("user"))


def _comment(raw: Any) -> Comment | None:
    if not isinstance(raw, Mapping) or raw.get("id") is None:
        return None
    body = raw.get("body")
    return Comment(
        id=str(raw["id"]),
        body=body if isinstance(body, str) else adf_to_text(body),
        author=person(raw.get("author")),
        created_at=parse_datetime(raw.get("created")),
    )


def _changes(changelog: Any, config: JiraConfig) -> tuple[Change, ...]:
    if not isinstance(changelog, Mapping):
        return ()
    raw_items = changelog.get("items") or ()
    return tuple(_change(raw, config) for raw in raw_items if isinstance(raw, Mapping))


def _change(raw: Mapping[str, Any], config: JiraConfig) -> Change:
    field_id = str(raw.get("fieldId") or raw.get("field") or "")
    name = change_field_name(field_id, config)
    if field_id in MULTI_VALUE_FIELDS or name in MULTI_VALUE_FIELDS:
        old, new = _words(raw.get("fromString")), _words(raw.get("toString"))
        added = tuple(w for w in new if w not in old)
        removed = tuple(w for w in old if w not in new)
        return Change(field=name, old=old, new=new, added=added, removed=removed)
    if field_id in USER_FIELDS:
        old_id = raw.get("tmpFromAccountId") or raw.get("from")
        new_id = raw.get("tmpToAccountId") or raw.get("to")
        return Change(field=name, old=old_id, new=new_id)
    return Change(field=name, old=raw.get("fromString"), new=raw.get("toString"))


def change_field_name(field_id: str, config: JiraConfig) -> str:
    """A changelog field id as the Item attribute (or custom name) rules know it by."""
    if config.story_points_field and field_id == config.story_points_field:
        return "estimate"
    if field_id == config.sprint_field or field_id.lower() == "sprint":
        return "sprint"
    for name, custom_id in config.field_map.items():
        if custom_id == field_id and name != "sprint":
            return name
    return CHANGE_NAMES.get(field_id, field_id.lower() if field_id == "Status" else field_id)


def _words(value: Any) -> tuple[str, ...]:
    """Jira writes multi-value changelog entries as one space-separated string."""
    return tuple(value.split()) if isinstance(value, str) else ()


# ---- issues (webhook `issue` and REST answers) --------------------------------------


@shape_errors_are_payload_errors
def normalize_issue(issue: Mapping[str, Any], config: JiraConfig) -> Item:
    """An issue object from a webhook, get-issue or search → Item, missing fields unknown."""
    return _issue_item(issue, config)


def _issue_item(issue: Mapping[str, Any], config: JiraConfig) -> Item:
    key = issue.get("key")
    if not key:
        raise PayloadError("issue without a key")
    fields = mapping_at(issue, "fields")
    values, unknown = _field_values(fields, config)
    if config.sprint_field in fields:
        values["sprint_active"] = sprint_running(fields[config.sprint_field])
    status_changed_at = _status_entered(issue, values.get("created_at"))
    if status_changed_at is None:
        unknown.add("status_changed_at")
    return Item(
        tracker=Tracker.JIRA,
        id=str(issue.get("id") or key),
        key=str(key),
        url=_browse_url(issue, str(key), config),
        status_changed_at=status_changed_at,
        unknown=frozenset(unknown),
        **values,
    )


# Item attribute → (Jira field id, parser). Order matters only for readability.
def _field_parsers(config: JiraConfig) -> dict[str, tuple[str | None, Any]]:
    return {
        "title": ("summary", lambda v: v or ""),
        "description": (
            "description",
            lambda v: v if v is None or isinstance(v, str) else adf_to_text(v).strip(),
        ),
        "type": ("issuetype", lambda v: issue_type(v, config.bug_types)),
        "status": ("status", status),
        "assignee": ("assignee", person),
        "reporter": ("reporter", person),
        "labels": ("labels", lambda v: tuple(str(x) for x in v or ())),
        "priority": ("priority", lambda v: priority_of(v, config.priority_ranks)),
        "estimate": (config.story_points_field, number_of),
        "team": ("project", lambda v: v.get("key") if isinstance(v, Mapping) else None),
        "parent": ("parent", lambda v: v.get("key") if isinstance(v, Mapping) else None),
        "project": ("parent", epic_name),
        "sprint": (config.sprint_field, sprint_name),
        "sprint_state": (config.sprint_field, sprint_state),
        "milestones": ("fixVersions", version_names),
        "subtasks": ("subtasks", lambda v: len(v) if isinstance(v, list) else 0),
        "links": ("issuelinks", links_of),
        "created_at": ("created", parse_datetime),
        "updated_at": ("updated", parse_datetime),
        "due_date": ("duedate", parse_date),
    }


# Fields Jira leaves out of a full issue when they are empty (no parent, an unset custom
# field): in a full issue their absence means None; in a partial one it means unknown.
# `fixVersions` and `subtasks` are read the same way, so an answer from an older field list is
# taken as having none rather than refused.
_OMITTED_WHEN_EMPTY = frozenset({"parent", "fixVersions", "subtasks"})


def _field_values(fields: Mapping[str, Any], config: JiraConfig) -> tuple[dict[str, Any], set[str]]:
    full = is_full_issue(fields)
    values: dict[str, Any] = {}
    unknown: set[str] = set()
    for attr, (field_id, parse) in _field_parsers(config).items():
        if field_id is None:
            if attr == "estimate" and config.estimate_pending:
                unknown.add(attr)
            continue  # not configured on this site (e.g. no story points field): not unknown
        if field_id in fields:
            values[attr] = parse(fields[field_id])
        elif not (full and (field_id in _OMITTED_WHEN_EMPTY or field_id.startswith("customfield_"))):
            unknown.add(attr)
    custom: dict[str, Any] = {}
    for name, field_id in config.field_map.items():
        if field_id in fields:
            custom[name] = custom_value(fields[field_id])
        elif not full:
            unknown.add(f"custom.{name}")
    values["custom"] = MappingProxyType(custom)
    if "status" in values and "resolution" in fields:
        values["status"] = canceled_if_resolved_so(values["status"], fields["resolution"])
    return values, unknown


def is_full_issue(fields: Mapping[str, Any]) -> bool:
    """A complete issue representation, as opposed to the slice a comment event carries."""
    return all(name in fields for name in ("summary", "status", "labels", "created", "updated"))


def _status_entered(issue: Mapping[str, Any], created: datetime | None) -> datetime | None:
    """When the current status was entered, from an expanded changelog if the JSON has one."""
    changelog = issue.get("changelog")
    if not isinstance(changelog, Mapping) or not isinstance(changelog.get("histories"), list):
        return None
    histories = changelog["histories"]
    entered = [
        parse_datetime(h.get("created"))
        for h in histories
        if any(str(i.get("fieldId") or i.get("field")).lower() == "status" for i in h.get("items") or ())
    ]
    entered_known = [e for e in entered if e is not None]
    if entered_known:
        return max(entered_known)
    complete = changelog.get("total") is None or changelog.get("total", 0) <= len(histories)
    return created if complete else None


def _browse_url(issue: Mapping[str, Any], key: str, config: JiraConfig) -> str | None:
    base = config.site_url
    if not base and isinstance(issue.get("self"), str):
        parts = urlsplit(issue["self"])
        base = f"{parts.scheme}://{parts.netloc}" if parts.netloc else None
    return f"{base.rstrip('/')}/browse/{key}" if base else None
