"""A sweep's SearchQuery as bounded JQL, and the fields a search must ask for.

Pure: `to_jql` only narrows towards candidates that could match, never past them, so a
sweep asks Jira for the few pages its candidates fill instead of scanning the site.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from integration.trackers.jira.normalize import JiraConfig
from rules.model import SearchQuery, StatusCategory

# JQL's status category names (it also accepts keys/ids; names read best in logs).
CATEGORY_NAMES = {
    StatusCategory.TODO: "To Do",
    StatusCategory.IN_PROGRESS: "In Progress",
    StatusCategory.DONE: "Done",
    StatusCategory.CANCELED: "Done",  # canceled is a done category with a cancel resolution
}

# JQL reads dates in the searching account's time zone, which we do not know: widening
# an upper bound by the largest UTC offset keeps every candidate in, whatever the zone.
MAX_UTC_OFFSET = timedelta(hours=14)
# A follow-up's "changed since" goes to Jira as a bound relative to Jira's own clock ("-20m"), which
# no time zone shifts. It is widened by what Jira's clock may be ahead of ours, and by how long the
# sweep may take to read its pages: every page repeats the first page's JQL (so Jira's page token
# holds) while Jira's "now" moves on.
CLOCK_SKEW = timedelta(minutes=5)
SWEEP_PAGES_WITHIN = timedelta(minutes=10)

BASE_FIELDS = (
    "summary",
    "description",
    "issuetype",
    "status",
    "resolution",
    "assignee",
    "reporter",
    "labels",
    "priority",
    "project",
    "parent",
    "issuelinks",
    "created",
    "updated",
    "duedate",
    "fixVersions",
    "subtasks",
)

MAX_LABEL_LENGTH = 255
ORDER_BY = {"oldest_updated": "updated ASC", "newest_updated": "updated DESC", "oldest_created": "created ASC",
            "newest_created": "created DESC"}


# Item fields (as rules name them) JQL can bound by value or emptiness (SearchQuery.field_in /
# field_empty); the others narrow nothing, which keeps the search a superset.
JQL_FIELDS = {"milestones": "fixVersion", "parent": "parent"}


class UnboundedQuery(ValueError):
    """Jira refuses unbounded JQL, and a sweep over a whole site is never what we want."""


def search_fields(config: JiraConfig) -> tuple[str, ...]:
    """Exactly the fields `normalize_issue` reads: search answers carry nothing else."""
    extra = [config.story_points_field, config.sprint_field, *config.field_map.values()]
    return BASE_FIELDS + tuple(dict.fromkeys(f for f in extra if f and f not in BASE_FIELDS))


def quote(value: str) -> str:
    """A JQL string literal: double quotes, with quotes and backslashes escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _in(field: str, values: Iterable[str], negate: bool = False) -> str:
    listed = ", ".join(quote(v) for v in dict.fromkeys(values))
    return f"{field} {'not in' if negate else 'in'} ({listed})"


def jql_datetime(moment: datetime) -> str:
    """An upper bound as JQL's 'yyyy-MM-dd HH:mm', widened so no time zone can cut it."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    widened = aware.astimezone(UTC) + MAX_UTC_OFFSET + timedelta(minutes=1)
    return widened.strftime("%Y-%m-%d %H:%M")


def jql_datetime_from(moment: datetime) -> str:
    """A lower bound as JQL's 'yyyy-MM-dd HH:mm', widened down past every time zone."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    widened = aware.astimezone(UTC) - MAX_UTC_OFFSET - timedelta(minutes=1)
    return widened.strftime("%Y-%m-%d %H:%M")


def minutes_since(moment: datetime, now: datetime) -> int:
    """How far back (whole minutes) a relative bound reaches so that, read by Jira up to
    SWEEP_PAGES_WITHIN later on a clock up to CLOCK_SKEW ahead of `now`, it still covers `moment`."""
    reach = now - moment + CLOCK_SKEW + SWEEP_PAGES_WITHIN
    return max(1, math.ceil(reach.total_seconds() / 60))


def custom_field_clause(field_id: str) -> str:
    """A custom field as JQL names it: customfield_10050 → cf[10050]."""
    number = field_id.removeprefix("customfield_")
    return f"cf[{number}]" if number.isdigit() else quote(field_id)


def _narrowing(query: SearchQuery, field_map: Mapping[str, str]) -> list[str]:
    clauses = []
    categories = set(query.status_categories)
    if categories and StatusCategory.UNKNOWN not in categories:
        names = sorted({CATEGORY_NAMES[c] for c in categories})
        clauses.append(_in("statusCategory", names))
    if query.status_names:
        clauses.append(_in("status", query.status_names))
    if query.updated_before is not None:
        clauses.append(f'updated <= "{jql_datetime(query.updated_before)}"')
    if query.created_before is not None:
        clauses.append(f'created <= "{jql_datetime(query.created_before)}"')
    if query.created_after is not None:
        clauses.append(f'created >= "{jql_datetime_from(query.created_after)}"')
    if query.labels_any_of:
        clauses.append(_in("labels", query.labels_any_of))
    if query.labels_none_of:
        # `labels not in (…)` alone drops issues with no labels at all: keep those.
        clauses.append(f"(labels is EMPTY OR {_in('labels', query.labels_none_of, negate=True)})")
    for name in query.custom_empty:  # a name missing from the map narrows nothing: still a superset
        if field_map.get(name):
            clauses.append(f"{custom_field_clause(field_map[name])} is EMPTY")
    for name in query.custom_not_empty:
        if field_map.get(name):
            clauses.append(f"{custom_field_clause(field_map[name])} is not EMPTY")
    clauses += [_in(JQL_FIELDS[name], values) for name, values in query.field_in if name in JQL_FIELDS]
    clauses += [f"{JQL_FIELDS[name]} is {'EMPTY' if empty else 'not EMPTY'}"
                for name, empty in query.field_empty if name in JQL_FIELDS]
    if query.extra:
        clauses.append(f"({query.extra})")
    return clauses


def to_jql(query: SearchQuery, field_map: Mapping[str, str] = MappingProxyType({}),
           since_minutes: int | None = None) -> str:
    """Bounded JQL for `query`; flagged items (always_include_labels) stay candidates.

    The flags only widen a narrowed search: with nothing to narrow, every item in scope is
    a candidate already, and searching only the flagged ones would miss the rest.
    `since_minutes` (see `minutes_since`) bounds `changed_since` relative to Jira's clock;
    without it the bound is a date widened past every time zone (fourteen hours more).
    """
    scope = _in("project", query.teams) if query.teams else None
    narrowing = " AND ".join(_narrowing(query, field_map))
    if scope is None and not narrowing:
        raise UnboundedQuery("this rule gives a Jira sweep nothing to search on (no teams, no condition JQL "
                             "can express): scope it with `teams` or a `sweep_filter`")
    where = narrowing
    if query.always_include_labels and narrowing:
        where = f"(({narrowing}) OR {_in('labels', query.always_include_labels)})"
    since = None
    if query.changed_since is not None:
        since = (f'updated >= "-{since_minutes}m"' if since_minutes is not None
                 else f'updated >= "{jql_datetime_from(query.changed_since)}"')
    clauses = [c for c in (scope, where, since) if c]
    return " AND ".join(clauses) + f" ORDER BY {ORDER_BY[query.order]}, key ASC"


def label_problem(label: str) -> str | None:
    """Why `label` cannot be a Jira label (rule validation uses this), or None if it can."""
    if not label:
        return "a Jira label cannot be empty"
    if any(ch.isspace() for ch in label):
        return f"Jira labels cannot contain spaces (got {label!r})"
    if len(label) > MAX_LABEL_LENGTH:
        return f"Jira labels are at most {MAX_LABEL_LENGTH} characters (got {len(label)})"
    return None
