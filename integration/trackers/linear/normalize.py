"""Linear webhook deliveries and GraphQL issue nodes → tracker-neutral Events and Items.

Pure: no I/O, no clock. A field the payload did not carry is listed in `Item.unknown`
(not guessed as empty), so a `Comment` delivery, which carries only the issue's id and
title, yields a partial item the job refetches. Old envelopes (2021: no `actor`,
`organizationId` or `webhookTimestamp`) normalize the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from integration.trackers.errors import PayloadError, shape_errors_are_payload_errors
from rules.model import (
    EMPTY_MAPPING,
    ActorKind,
    Change,
    Comment,
    Event,
    EventKind,
    Item,
    Link,
    Person,
    Priority,
    Status,
    StatusCategory,
    Tracker,
)

STATE_CATEGORIES: Mapping[str, StatusCategory] = {
    "triage": StatusCategory.TODO,
    "backlog": StatusCategory.TODO,
    "unstarted": StatusCategory.TODO,
    "started": StatusCategory.IN_PROGRESS,
    "completed": StatusCategory.DONE,
    "canceled": StatusCategory.CANCELED,
    "duplicate": StatusCategory.CANCELED,
}
PRIORITY_NAMES: Mapping[int, str] = {0: "No priority", 1: "Urgent", 2: "High", 3: "Medium", 4: "Low"}
BOT_ACTOR_TYPES = frozenset({"oauthclient", "integration", "app", "bot"})
# Every Item field a Linear payload may or may not carry; absent → listed in Item.unknown.
PAYLOAD_FIELDS = frozenset(
    {
        "url",
        "title",
        "description",
        "status",
        "assignee",
        "reporter",
        "labels",
        "priority",
        "estimate",
        "team",
        "project",
        "parent",
        "sprint",
        "links",
        "created_at",
        "updated_at",
        "status_changed_at",
        "due_date",
    }
)
_KEY_IN_URL = re.compile(r"/issue/([A-Za-z0-9]+-\d+)")


@dataclass(frozen=True, slots=True)
class LinearConfig:
    """What the normalizer needs beyond the payload: caches kept fresh by the receiver.

    `label_names` maps label id → name (IssueLabel events keep it fresh); `state_names`
    maps workflow state id → name (old status names in `updatedFrom` are ids only);
    `viewer_id` is Flowkeeper's own Linear user, whose activity is marked FLOWKEEPER.
    """

    label_names: Mapping[str, str] = field(default_factory=lambda: EMPTY_MAPPING)
    state_names: Mapping[str, str] = field(default_factory=lambda: EMPTY_MAPPING)
    workspace_url_key: str | None = None
    viewer_id: str | None = None


# ---- small parsers ------------------------------------------------------------------


def parse_datetime(value: Any, what: str) -> datetime | None:
    """ISO-8601 from Linear (with `Z`) → aware datetime; None stays None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{what} is not a timestamp: {value!r}")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise PayloadError(f"{what} is not a timestamp: {value!r}") from error


def _parse_date(value: Any) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as error:
        raise PayloadError(f"dueDate is not a date: {value!r}") from error


def status_of(state: Mapping[str, Any]) -> Status:
    category = STATE_CATEGORIES.get(str(state.get("type", "")), StatusCategory.UNKNOWN)
    return Status(name=str(state.get("name") or ""), category=category, id=state.get("id"))


def person_of(
    user: Mapping[str, Any] | None, config: LinearConfig, kind: ActorKind = ActorKind.HUMAN
) -> Person | None:
    """A user object (`{id, name, …}`) → Person; Flowkeeper's own user is marked as such."""
    if not user or not user.get("id"):
        return None
    if config.viewer_id is not None and user["id"] == config.viewer_id:
        kind = ActorKind.FLOWKEEPER
    elif user.get("app") is True:
        kind = ActorKind.BOT
    name = user.get("displayName") or user.get("name")
    return Person(id=str(user["id"]), name=name, email=user.get("email"), kind=kind)


def _priority_of(value: Any, label: Any) -> Priority:
    try:
        rank = int(value)
    except (TypeError, ValueError) as error:
        raise PayloadError(f"priority is not a number: {value!r}") from error
    name = str(label) if label else PRIORITY_NAMES.get(rank, str(rank))
    return Priority(name=name, rank=rank or None)


def key_of(data: Mapping[str, Any], url: str | None) -> str | None:
    """`identifier`, else team key + number, else the key in the issue URL."""
    if data.get("identifier"):
        return str(data["identifier"])
    team = data.get("team") or {}
    if team.get("key") and data.get("number") is not None:
        return f"{team['key']}-{int(data['number'])}"
    match = _KEY_IN_URL.search(url or "")
    return match.group(1) if match else None


# ---- issue data (webhook `data` or GraphQL node) → Item --------------------------------


def _labels_of(
    data: Mapping[str, Any], config: LinearConfig
) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(names, ids), or None when the payload carries neither labels nor resolvable ids."""
    raw = data.get("labels")
    if isinstance(raw, Mapping):  # GraphQL connection
        raw = raw.get("nodes")
    if isinstance(raw, list) and (raw or not data.get("labelIds")):
        return tuple(str(n["name"]) for n in raw), tuple(str(n["id"]) for n in raw)
    ids = data.get("labelIds")
    if not isinstance(ids, list) or any(i not in config.label_names for i in ids):
        return None
    return tuple(config.label_names[i] for i in ids), tuple(ids)


def _links_of(data: Mapping[str, Any]) -> tuple[Link, ...] | None:
    """Blocked-by links from `inverseRelations` (A blocks B is stored on A)."""
    rel = data.get("inverseRelations")
    if not isinstance(rel, Mapping):
        return None
    links = []
    for node in rel.get("nodes") or ():
        if node.get("type") != "blocks" or not node.get("issue"):
            continue
        blocker = node["issue"]
        category = status_of(blocker["state"]).category if blocker.get("state") else None
        links.append(
            Link(
                kind="blocked_by",
                key=str(blocker.get("identifier") or blocker.get("id")),
                status_category=category,
            )
        )
    return tuple(links)


def _status_entered(data: Mapping[str, Any], state_changed_now: bool) -> datetime | None | str:
    """When the current state was entered, or the marker "unknown"."""
    spans = (
        (data.get("stateHistory") or {}).get("nodes")
        if isinstance(data.get("stateHistory"), Mapping)
        else None
    )
    if spans:
        current = [s for s in spans if s.get("endedAt") is None] or spans[-1:]
        return parse_datetime(current[-1].get("startedAt"), "stateHistory.startedAt")
    if state_changed_now:
        return parse_datetime(data.get("updatedAt"), "updatedAt")
    return "unknown"


def _optional_name(data: Mapping[str, Any], obj: str, id_key: str, attr: str) -> str | None | object:
    """Name from a nested object; None when its id is null; _UNKNOWN when not carried."""
    nested = data.get(obj)
    if isinstance(nested, Mapping) and nested.get(attr) is not None:
        return str(nested[attr])
    if obj in data and nested is None:
        return None
    if id_key in data and data[id_key] is None:
        return None
    return _UNKNOWN


_UNKNOWN = object()


def _cycle_name(data: Mapping[str, Any]) -> str | None | object:
    cycle = data.get("cycle")
    if isinstance(cycle, Mapping):
        return str(cycle.get("name") or f"Cycle {int(cycle.get('number') or 0)}")
    return _optional_name(data, "cycle", "cycleId", "name")


def _running(data: Mapping[str, Any]) -> dict[str, bool]:
    """Whether the issue's cycle (active or upcoming) and project (neither completed nor
    canceled) still run; only where the data carries the objects (webhooks carry only ids)."""
    out = {}
    cycle, project = data.get("cycle"), data.get("project")
    if "cycle" in data and (cycle is None or "isActive" in cycle):
        out["sprint_active"] = bool(cycle and (cycle.get("isActive") or cycle.get("isFuture")))
    if "project" in data and (project is None or "completedAt" in project):
        out["project_active"] = bool(project and not project.get("completedAt") and not project.get("canceledAt"))
    return out


def _people_and_labels(data: Mapping[str, Any], config: LinearConfig) -> dict[str, Any]:
    """Assignee, reporter, labels (names; ids and team id kept in `custom`)."""
    out: dict[str, Any] = {}
    for name, obj, id_key in (("assignee", "assignee", "assigneeId"), ("reporter", "creator", "creatorId")):
        if obj in data or id_key in data:
            user = data.get(obj) or ({"id": data[id_key]} if data.get(id_key) else None)
            out[name] = person_of(user, config)
    custom: dict[str, Any] = {}
    labels = _labels_of(data, config)
    if labels is not None:
        out["labels"], custom["label_ids"] = labels
    team_id = (data.get("team") or {}).get("id") or data.get("teamId")
    if team_id:
        custom["team_id"] = str(team_id)
    if custom:
        out["custom"] = MappingProxyType(custom)
    return out


def item_fields(
    data: Mapping[str, Any], config: LinearConfig, *, state_changed_now: bool = False
) -> dict[str, Any]:
    """The Item fields this payload carries; absent ones are simply not in the dict."""
    out: dict[str, Any] = _people_and_labels(data, config)
    if "title" in data:
        out["title"] = str(data["title"] or "")
    if "description" in data:
        out["description"] = data["description"]
    if isinstance(data.get("state"), Mapping):
        out["status"] = status_of(data["state"])
    if "priority" in data:
        out["priority"] = _priority_of(data["priority"], data.get("priorityLabel"))
    if "estimate" in data:
        out["estimate"] = None if data["estimate"] is None else float(data["estimate"])
    for name, value in (
        ("team", _optional_name(data, "team", "teamId", "key")),
        ("project", _optional_name(data, "project", "projectId", "name")),
        ("parent", _optional_name(data, "parent", "parentId", "identifier")),
        ("sprint", _cycle_name(data)),
        ("links", _links_of(data)),
    ):
        if value is not _UNKNOWN and not (name == "links" and value is None):
            out[name] = value
    out.update(_running(data))
    for name, key in (("created_at", "createdAt"), ("updated_at", "updatedAt")):
        if key in data:
            out[name] = parse_datetime(data[key], key)
    entered = _status_entered(data, state_changed_now)
    if entered != "unknown":
        out["status_changed_at"] = entered
    if "dueDate" in data:
        out["due_date"] = _parse_date(data["dueDate"])
    return out


def build_item(
    data: Mapping[str, Any],
    config: LinearConfig,
    url: str | None,
    *,
    state_changed_now: bool = False,
    deleted: bool = False,
) -> Item:
    """Issue data → Item, with every field the data did not carry listed as unknown."""
    if not data.get("id"):
        raise PayloadError("issue data has no id")
    fields = item_fields(data, config, state_changed_now=state_changed_now)
    url = data.get("url") or url
    if url:
        fields["url"] = str(url).split("#", 1)[0]
    key = key_of(data, url)
    unknown = set(PAYLOAD_FIELDS - fields.keys())
    if key is None:
        unknown.add("key")
    return Item(
        tracker=Tracker.LINEAR,
        id=str(data["id"]),
        key=key or str(data["id"]),
        deleted=deleted,
        unknown=frozenset(unknown),
        **fields,
    )


@shape_errors_are_payload_errors
def normalize_issue(node: Mapping[str, Any], config: LinearConfig) -> Item:
    """A GraphQL `Issue` node (as the client's operations select it) → Item."""
    return build_item(node, config, None)


# ---- the delivery envelope → Event -------------------------------------------------

# updatedFrom key → Item field; keys not listed (sortOrder, descriptionData, …) are noise.
_CHANGED_FIELDS: Mapping[str, str] = {
    "stateId": "status",
    "assigneeId": "assignee",
    "labelIds": "labels",
    "priority": "priority",
    "estimate": "estimate",
    "title": "title",
    "description": "description",
    "dueDate": "due_date",
    "cycleId": "sprint",
    "projectId": "project",
    "parentId": "parent",
    "teamId": "team",
}
_ISSUE_KINDS = {"create": EventKind.CREATED, "update": EventKind.UPDATED, "remove": EventKind.DELETED}
_COMMENT_KINDS = {"create": EventKind.COMMENT_CREATED, "update": EventKind.COMMENT_UPDATED}


def _actor_of(payload: Mapping[str, Any], config: LinearConfig) -> Person | None:
    """The envelope's actor; users are HUMAN, OAuth apps and integrations BOT."""
    actor = payload.get("actor")
    if isinstance(actor, Mapping) and actor.get("id"):
        kind = ActorKind.HUMAN if str(actor.get("type", "user")).lower() == "user" else ActorKind.BOT
        return person_of(actor, config, kind)
    bot = (payload.get("data") or {}).get("botActor")
    if isinstance(bot, Mapping) and (bot.get("id") or bot.get("name")):
        return Person(id=str(bot.get("id") or bot.get("name")), name=bot.get("name"), kind=ActorKind.BOT)
    return None


def _occurred_at(payload: Mapping[str, Any], data: Mapping[str, Any]) -> datetime:
    for value, what in ((payload.get("createdAt"), "createdAt"), (data.get("updatedAt"), "data.updatedAt")):
        if value is not None:
            parsed = parse_datetime(value, what)
            assert parsed is not None
            return parsed
    raise PayloadError("delivery has neither createdAt nor data.updatedAt")


def _label_names(ids: Sequence[str], data: Mapping[str, Any], config: LinearConfig) -> tuple[str, ...]:
    """Label ids → names, from the payload's labels, then the cache; unresolved ids stay ids."""
    known = {str(n["id"]): str(n["name"]) for n in data.get("labels") or () if isinstance(n, Mapping)}
    return tuple(known.get(i) or config.label_names.get(i) or i for i in ids)


def _changes(
    data: Mapping[str, Any], before: Mapping[str, Any], item: Item, config: LinearConfig
) -> tuple[Change, ...]:
    """Changes from `updatedFrom`, only where the old value differs from the new one."""
    changes = []
    for key, name in _CHANGED_FIELDS.items():
        if key not in before or key not in data or before[key] == data[key]:
            continue
        old, new = before[key], data[key]
        if key == "labelIds":
            old_ids, new_ids = list(old or ()), list(new or ())
            added = [i for i in new_ids if i not in old_ids]
            removed = [i for i in old_ids if i not in new_ids]
            changes.append(
                Change(
                    field="labels",
                    old=_label_names(old_ids, data, config),
                    new=item.labels,
                    added=_label_names(added, data, config),
                    removed=_label_names(removed, data, config),
                )
            )
        elif key == "stateId":
            changes.append(Change(field="status", old=config.state_names.get(str(old)), new=item.status.name))
        else:
            changes.append(
                Change(field=name, old=old, new=getattr(item, name) if name not in item.unknown else new)
            )
    return tuple(changes)


def _issue_event(payload: Mapping[str, Any], data: Mapping[str, Any], config: LinearConfig) -> Event:
    action = payload["action"]
    before = payload.get("updatedFrom") or {}
    if not isinstance(before, Mapping):
        raise PayloadError("updatedFrom is not an object")
    state_changed = action == "create" or ("stateId" in before and before["stateId"] != data.get("stateId"))
    if action == "create" and isinstance(data.get("state"), Mapping):
        data = {**data, "updatedAt": data.get("createdAt", data.get("updatedAt"))}
    item = build_item(
        data, config, payload.get("url"), state_changed_now=state_changed, deleted=action == "remove"
    )
    changes = _changes(data, before, item, config) if action == "update" else ()
    return _event(payload, data, config, _ISSUE_KINDS[action], item, changes=changes)


def _comment_event(payload: Mapping[str, Any], data: Mapping[str, Any], config: LinearConfig) -> Event:
    raw_issue = data.get("issue")
    issue: Mapping[str, Any] = raw_issue if isinstance(raw_issue, Mapping) else {}
    issue_id = issue.get("id") or data.get("issueId")
    if not issue_id:
        raise PayloadError("Comment delivery names no issue (data.issueId)")
    carried = {"id": issue_id, **({"title": issue["title"]} if "title" in issue else {})}
    item = build_item(carried, config, payload.get("url"))
    author = person_of(data.get("user") or ({"id": data["userId"]} if data.get("userId") else None), config)
    comment = Comment(
        id=str(data.get("id") or ""),
        body=str(data.get("body") or ""),
        author=author,
        created_at=parse_datetime(data.get("createdAt"), "data.createdAt"),
    )
    event = _event(payload, data, config, _COMMENT_KINDS[payload["action"]], item, comment=comment)
    if event.actor is None and author is not None:
        return _with_actor(event, author)
    return event


def _label_event(payload: Mapping[str, Any], data: Mapping[str, Any], config: LinearConfig) -> Event:
    """A label definition changed: the item is a stand-in naming the label (no issue)."""
    if not data.get("id") or "name" not in data:
        raise PayloadError("IssueLabel delivery has no label id or name")
    before = payload.get("updatedFrom") or {}
    removed = payload["action"] == "remove"
    change = Change(
        field="label",
        old=before.get("name", None if payload["action"] == "create" else data["name"]),
        new=None if removed else data["name"],
    )
    custom = {
        "label_id": str(data["id"]),
        "label_name": str(data["name"]),
        "team_id": data.get("teamId"),
        "action": payload["action"],
    }
    item = Item(
        tracker=Tracker.LINEAR,
        id=str(data["id"]),
        key=str(data["name"]),
        title=str(data["name"]),
        custom=custom,
        deleted=removed,
        unknown=PAYLOAD_FIELDS - {"title"},
    )
    return _event(payload, data, config, EventKind.LABEL_CHANGED, item, changes=(change,))


def _event(
    payload: Mapping[str, Any],
    data: Mapping[str, Any],
    config: LinearConfig,
    kind: EventKind,
    item: Item,
    *,
    changes: tuple[Change, ...] = (),
    comment: Comment | None = None,
) -> Event:
    org = payload.get("organizationId")
    return Event(
        tracker=Tracker.LINEAR,
        kind=kind,
        item=item,
        occurred_at=_occurred_at(payload, data),
        actor=_actor_of(payload, config),
        changes=changes,
        comment=comment,
        source_type=f"{payload['type']}:{payload['action']}",
        organization_id=str(org) if org else None,
    )


def _with_actor(event: Event, actor: Person) -> Event:
    return replace(event, actor=actor)


@shape_errors_are_payload_errors
def normalize(payload: Mapping[str, Any], config: LinearConfig) -> Event | None:
    """One Linear delivery → an Event, or None for types and actions Flowkeeper ignores."""
    if not isinstance(payload, Mapping):
        raise PayloadError("body is not a JSON object")
    kind, action, data = payload.get("type"), payload.get("action"), payload.get("data")
    if not isinstance(kind, str) or not isinstance(action, str):
        raise PayloadError("delivery has no type or action")
    handler = {"Issue": _issue_event, "Comment": _comment_event, "IssueLabel": _label_event}.get(kind)
    if (
        handler is None
        or (kind == "Issue" and action not in _ISSUE_KINDS)
        or (kind == "Comment" and action not in _COMMENT_KINDS)
        or (kind == "IssueLabel" and action not in _ISSUE_KINDS)
    ):
        return None
    if not isinstance(data, Mapping):
        raise PayloadError(f"{kind} delivery has no data object")
    return handler(payload, data, config)
