"""A Linear webhook delivery → a tracker-neutral Event.

Pure: no I/O, no clock. The envelope (action, type, actor, `updatedFrom`) says what
happened; the issue data inside it becomes the Event's Item through `item.build_item`.
Old envelopes (2021: no `actor`, `organizationId` or `webhookTimestamp`) normalize the
same way. Ids the payload cannot name (an old workflow state, a removed label) stay ids
here; the worker names them from the workspace catalog (`catalog.py`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from integration.trackers.errors import PayloadError, shape_errors_are_payload_errors
from integration.trackers.linear.item import (
    PAYLOAD_FIELDS,
    LinearConfig,
    build_item,
    key_of,
    parse_datetime,
    person_of,
)
from integration.trackers.sanitise import clean_text
from rules.model import ActorKind, Change, Comment, Event, EventKind, Item, Person, Tracker

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
    "projectMilestoneId": "milestones",
}
_ISSUE_KINDS = {"create": EventKind.CREATED, "update": EventKind.UPDATED, "remove": EventKind.DELETED}
_COMMENT_KINDS = {"create": EventKind.COMMENT_CREATED, "update": EventKind.COMMENT_UPDATED}


def _actor_of(payload: Mapping[str, Any], config: LinearConfig) -> Person | None:
    """The envelope's actor; users are HUMAN, OAuth apps and integrations BOT.

    Older envelopes have no `actor`; their `data.botActor` names an app or integration,
    as an object in some deliveries and as a JSON string (the schema's type) in others.
    """
    actor = payload.get("actor")
    if isinstance(actor, Mapping) and actor.get("id"):
        kind = ActorKind.HUMAN if str(actor.get("type", "user")).lower() == "user" else ActorKind.BOT
        return person_of(actor, config, kind)
    bot = bot_actor((payload.get("data") or {}).get("botActor"))
    if bot is not None and (bot.get("id") or bot.get("name")):
        name = bot.get("name") or bot.get("userDisplayName")
        return Person(id=str(bot.get("id") or bot.get("name")), name=name, kind=ActorKind.BOT)
    return None


def bot_actor(raw: Any) -> Mapping[str, Any] | None:
    """`botActor` as an object, whether it came as one or as its JSON text; None otherwise."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    return raw if isinstance(raw, Mapping) else None


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
            # an id the config cannot name stays an id: the worker names it (catalog.py)
            changes.append(
                Change(field="status", old=config.state_names.get(str(old), old), new=item.status.name)
            )
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


_ACTIONS: Mapping[str, Mapping[str, EventKind]] = {
    "Issue": _ISSUE_KINDS, "Comment": _COMMENT_KINDS, "IssueLabel": _ISSUE_KINDS,
}


def triage(payload: Mapping[str, Any]) -> str | None:
    """The receiver's quick look at a delivery: the item it names when `normalize` would make
    an Event of it, None for types and actions Flowkeeper ignores, `PayloadError` when its
    outline (type, action, data) is missing. Reads a few keys; cleans and copies nothing."""
    kind, action, data = payload.get("type"), payload.get("action"), payload.get("data")
    if not isinstance(kind, str) or not isinstance(action, str):
        raise PayloadError("delivery has no type or action")
    if action not in _ACTIONS.get(kind, {}):
        return None
    if not isinstance(data, Mapping):
        raise PayloadError(f"{kind} delivery has no data object")
    if kind == "IssueLabel":
        named = data.get("name")
    elif kind == "Comment":
        issue = data.get("issue")
        issue = issue if isinstance(issue, Mapping) else {}
        named = issue.get("identifier") or issue.get("id") or data.get("issueId")
    else:
        named = _issue_key(payload, data) or data.get("id")
    return clean_text(str(named)) if named else kind


def _issue_key(payload: Mapping[str, Any], data: Mapping[str, Any]) -> str | None:
    url = data.get("url") or payload.get("url")
    try:
        return key_of(data, url if isinstance(url, str) else None)
    except (TypeError, ValueError, AttributeError, OverflowError):
        return None  # the normalizer answers for a field of the wrong shape


@shape_errors_are_payload_errors
def normalize(payload: Mapping[str, Any], config: LinearConfig) -> Event | None:
    """One Linear delivery → an Event, or None for types and actions Flowkeeper ignores."""
    if not isinstance(payload, Mapping):
        raise PayloadError("body is not a JSON object")
    if triage(payload) is None:
        return None
    handler = {"Issue": _issue_event, "Comment": _comment_event, "IssueLabel": _label_event}[payload["type"]]
    return handler(payload, payload["data"], config)
