"""Jira field values → model values: status, people, links, dates, ADF text.

Small pure parsers shared by the webhook normalizer and the REST client, each tolerant of
a missing or oddly shaped value (it becomes None, never an exception).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any

from rules.model import ActorKind, Link, Person, Priority, Status, StatusCategory

CATEGORY_BY_KEY: Mapping[str, StatusCategory] = MappingProxyType(
    {
        "new": StatusCategory.TODO,
        "indeterminate": StatusCategory.IN_PROGRESS,
        "done": StatusCategory.DONE,
        "undefined": StatusCategory.UNKNOWN,
    }
)

# Resolutions that mean "will not be done": a done-category issue with one is canceled.
CANCELED_RESOLUTIONS = frozenset(
    {"won't do", "won't fix", "duplicate", "cancelled", "canceled", "declined", "rejected", "obsolete"}
)

# Jira Cloud's default priorities by id (Highest … Lowest), for a site whose own ordered
# list has not been read; names are never used: sites rename and translate them.
DEFAULT_PRIORITY_RANKS: Mapping[str, int] = MappingProxyType({"1": 1, "2": 2, "3": 3, "4": 4, "5": 5})


# Jira Cloud's standard Bug issue type shows this avatar on every site, whatever its name
# in the site's language; other bug types are named in JIRA_BUG_TYPES.
STANDARD_BUG_AVATAR = 10303
BUG = "Bug"


def issue_type(raw: Any, bug_types: tuple[str, ...] = ()) -> str | None:
    """The issue type's name, or "Bug" for a type that is a bug on this site.

    A bug is known by the type's id (or name) in `bug_types` (JIRA_BUG_TYPES), else by
    Jira's standard Bug type (its avatar, or the English name): a site that translates
    "Bug" to "Ошибка" still has bugs.
    """
    name = name_of(raw)
    if not isinstance(raw, Mapping):
        return name
    if bug_types:
        return BUG if str(raw.get("id")) in bug_types or name in bug_types else name
    if raw.get("avatarId") == STANDARD_BUG_AVATAR or (name or "").casefold() == "bug":
        return BUG
    return name


def mapping_at(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """`parent[key]` when it is an object, else an empty one (a missing or oddly shaped value)."""
    value = parent.get(key)
    return value if isinstance(value, Mapping) else {}


def status(raw: Any) -> Status:
    if not isinstance(raw, Mapping):
        return Status("", StatusCategory.UNKNOWN)
    category = mapping_at(raw, "statusCategory")
    return Status(
        name=str(raw.get("name") or ""),
        category=CATEGORY_BY_KEY.get(str(category.get("key")), StatusCategory.UNKNOWN),
        id=str(raw["id"]) if raw.get("id") is not None else None,
    )


def canceled_if_resolved_so(current: Status, resolution: Any) -> Status:
    name = name_of(resolution)
    if current.category is StatusCategory.DONE and name and name.lower() in CANCELED_RESOLUTIONS:
        return Status(current.name, StatusCategory.CANCELED, current.id)
    return current


def person(raw: Any) -> Person | None:
    """A Jira user object; app accounts (integrations, automation) are bots."""
    if not isinstance(raw, Mapping) or not raw.get("accountId"):
        return None
    kind = ActorKind.BOT if raw.get("accountType") == "app" else ActorKind.HUMAN
    return Person(
        id=str(raw["accountId"]),
        name=raw.get("displayName"),
        email=raw.get("emailAddress") or None,
        kind=kind,
    )


def priority_of(raw: Any, ranks: Mapping[str, int] | None = None) -> Priority | None:
    """The priority, ranked by its place in the site's ordered list (1 = most urgent).

    `ranks` maps priority id → place, from `GET /rest/api/3/priority/search`; without it
    Jira's default ids rank. A priority the list does not know keeps rank None.
    """
    name = name_of(raw)
    if not name:
        return None
    priority_id = str(raw.get("id")) if isinstance(raw, Mapping) and raw.get("id") is not None else None
    table = ranks or DEFAULT_PRIORITY_RANKS
    return Priority(name=name, rank=table.get(priority_id) if priority_id else None)


def ranks_from(priorities: Any) -> dict[str, int]:
    """The site's priorities, in the order Jira lists them (most urgent first) → id → rank."""
    ids = [str(p["id"]) for p in priorities or () if isinstance(p, Mapping) and p.get("id") is not None]
    return {priority_id: place for place, priority_id in enumerate(dict.fromkeys(ids), start=1)}


def epic_name(raw: Any) -> str | None:
    """The parent's summary when the parent is an epic (hierarchy level 1)."""
    if not isinstance(raw, Mapping):
        return None
    parent_fields = mapping_at(raw, "fields")
    issuetype = mapping_at(parent_fields, "issuetype")
    if issuetype.get("hierarchyLevel") == 1 or issuetype.get("name") == "Epic":
        return parent_fields.get("summary")
    return None


def sprint_name(raw: Any) -> str | None:
    """The active sprint's name, else the latest one listed."""
    chosen = _chosen_sprint(raw)
    return str(chosen.get("name")) if chosen else None


SPRINT_STATES = {"active": "active", "future": "upcoming", "closed": "completed"}


def _chosen_sprint(raw: Any) -> Mapping[str, Any] | None:
    """The active sprint, else the latest one listed."""
    sprints = [s for s in raw or () if isinstance(s, Mapping)] if isinstance(raw, list) else []
    active = [s for s in sprints if s.get("state") == "active"]
    return (active or sprints)[-1] if sprints else None


def sprint_state(raw: Any) -> str | None:
    """The chosen sprint's state in rules' words (active, upcoming, completed); None without one."""
    chosen = _chosen_sprint(raw)
    return SPRINT_STATES.get(str(chosen.get("state"))) if chosen else None


def version_names(raw: Any) -> tuple[str, ...]:
    """`fixVersions`: the versions' names, in Jira's order."""
    return tuple(str(v["name"]) for v in raw or () if isinstance(v, Mapping) and v.get("name"))


def sprint_running(raw: Any) -> bool:
    """Whether one of the issue's sprints is active or still to come (a closed sprint is over)."""
    sprints = [s for s in raw or () if isinstance(s, Mapping)] if isinstance(raw, list) else []
    return any(s.get("state") in ("active", "future") for s in sprints)


def links_of(raw: Any) -> tuple[Link, ...]:
    links = []
    for link in raw or ():
        if not isinstance(link, Mapping):
            continue
        link_type = mapping_at(link, "type")
        for side, phrase_key in (("inwardIssue", "inward"), ("outwardIssue", "outward")):
            other = link.get(side)
            if isinstance(other, Mapping) and other.get("key"):
                kind = link_kind(str(link_type.get(phrase_key) or link_type.get("name") or "relates to"))
                category = status((other.get("fields") or {}).get("status")).category
                known = category if category is not StatusCategory.UNKNOWN else None
                links.append(Link(kind=kind, key=str(other["key"]), status_category=known))
    return tuple(links)


def link_kind(phrase: str) -> str:
    """'is blocked by' → 'blocked_by'; 'relates to' → 'relates_to'."""
    words = phrase.lower().split()
    if words and words[0] == "is":
        words = words[1:]
    return "_".join(words)


# ---- small value parsers --------------------------------------------------------------


def parse_datetime(value: Any) -> datetime | None:
    """Jira's '2024-08-09T22:36:31.818+0300' (or ISO with a colon) → aware datetime."""
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    if len(text) >= 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def number_of(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def name_of(raw: Any) -> str | None:
    return str(raw["name"]) if isinstance(raw, Mapping) and raw.get("name") else None


def custom_value(raw: Any) -> Any:
    """A custom field's value as rules compare it: option → its value, user → accountId."""
    if isinstance(raw, list):
        return tuple(custom_value(v) for v in raw)
    if isinstance(raw, Mapping):
        for key in ("value", "name", "accountId", "key"):
            if raw.get(key) is not None:
                return raw[key]
        return adf_to_text(raw) if raw.get("type") == "doc" else None
    return raw


def adf_to_text(node: Any) -> str:
    """Plain text of an Atlassian Document Format tree (REST v3 descriptions, comments)."""
    if not isinstance(node, Mapping):
        return "" if node is None else str(node)
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "mention":
        attrs = node.get("attrs") or {}
        return str(attrs.get("text") or f"@{attrs.get('id', '')}")
    if kind == "hardBreak":
        return "\n"
    inner = "".join(adf_to_text(child) for child in node.get("content") or ())
    return f"{inner}\n" if kind in {"paragraph", "heading", "listItem", "codeBlock"} else inner
