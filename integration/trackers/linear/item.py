"""Linear issue data (a webhook's `data` or a GraphQL `Issue` node) → a tracker-neutral Item.

Pure: no I/O, no clock. A field the data did not carry is listed in `Item.unknown`
(not guessed as empty), so a `Comment` delivery, which carries only the issue's id and
title, yields a partial item the job refetches.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from integration.trackers.errors import PayloadError, shape_errors_are_payload_errors
from rules.model import (
    EMPTY_MAPPING,
    ActorKind,
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
        "type",
        "created_at",
        "updated_at",
        "status_changed_at",
        "due_date",
        "milestones",
        "subtasks",
    }
)
# Fields a GraphQL node selected by an older release lacks: read as none, never refused.
SELECTED_SINCE = frozenset({"milestones", "subtasks"})
BUG = "Bug"  # the type rules match with `type: bug`, as on Jira
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
    bug_label: str = "Bug"  # LINEAR_BUG_LABEL: Linear has no issue types; this label marks a bug
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
    """A user object (`{id, name, url, …}`) → Person; Flowkeeper's own user is marked as such.

    `url` is the user's profile URL as Linear gives it: the only form Linear turns into a
    mention, so it is kept exactly and never rebuilt from a display name.
    """
    if not user or not user.get("id"):
        return None
    if config.viewer_id is not None and user["id"] == config.viewer_id:
        kind = ActorKind.FLOWKEEPER
    elif user.get("app") is True:
        kind = ActorKind.BOT
    name = user.get("displayName") or user.get("name")
    url = user.get("url")
    return Person(
        id=str(user["id"]),
        name=name,
        email=user.get("email"),
        kind=kind,
        url=str(url) if isinstance(url, str) and url.startswith("https://") else None,
    )


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


def _milestones(data: Mapping[str, Any]) -> tuple[str, ...] | object:
    """The project milestone's name as a one-name tuple; () for none; _UNKNOWN when a webhook
    names a milestone by id only."""
    name = _optional_name(data, "projectMilestone", "projectMilestoneId", "name")
    if name is _UNKNOWN:
        return _UNKNOWN
    return () if name is None else (str(name),)


def _subtasks(data: Mapping[str, Any]) -> int | object:
    """How many sub-issues (`children`, as far as the page selected reaches); webhooks do not say."""
    children = data.get("children")
    if isinstance(children, Mapping) and isinstance(children.get("nodes"), list):
        return len(children["nodes"])
    return _UNKNOWN


def cycle_state(cycle: Mapping[str, Any]) -> str | None:
    """A cycle's state in rules' words, as Linear computed it when the issue was read: completed
    (`completedAt` set or its end passed), active, or upcoming; None when the data does not say."""
    if cycle.get("completedAt") or cycle.get("isPast"):
        return "completed"
    if cycle.get("isActive"):
        return "active"
    if cycle.get("isFuture"):
        return "upcoming"
    return None


def _states(data: Mapping[str, Any]) -> dict[str, str | None]:
    """The cycle's and the project's state (ProjectStatusType: backlog, planned, started, paused,
    completed, canceled), where the data carries the objects; None for no cycle / no project."""
    out: dict[str, str | None] = {}
    cycle, project = data.get("cycle"), data.get("project")
    if "cycle" in data and (cycle is None or {"isActive", "completedAt"} & cycle.keys()):
        out["sprint_state"] = cycle_state(cycle) if cycle else None
    if "project" in data and (project is None or "status" in project):
        status = (project or {}).get("status") or {}
        out["project_state"] = str(status["type"]) if status.get("type") else None
    return out


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
        out["type"] = BUG if config.bug_label.casefold() in (n.casefold() for n in labels[0]) else None
    elif isinstance(data.get("labelIds"), list):  # names unknown here: the worker's catalog may know them
        custom["label_ids"] = tuple(str(i) for i in data["labelIds"])
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
        ("milestones", _milestones(data)),
        ("subtasks", _subtasks(data)),
    ):
        if value is not _UNKNOWN and not (name == "links" and value is None):
            out[name] = value
    out.update(_running(data))
    out.update(_states(data))
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
    tolerated: frozenset[str] = frozenset(),
) -> Item:
    """Issue data → Item, with every field the data did not carry listed as unknown (but for
    `tolerated` ones, which keep their empty defaults)."""
    if not data.get("id"):
        raise PayloadError("issue data has no id")
    fields = item_fields(data, config, state_changed_now=state_changed_now)
    url = data.get("url") or url
    if url:
        fields["url"] = str(url).split("#", 1)[0]
    key = key_of(data, url)
    unknown = set(PAYLOAD_FIELDS - fields.keys() - tolerated)
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
    return build_item(node, config, None, tolerated=SELECTED_SINCE)
