"""Facts about one Jira site that its payloads do not carry, read from its REST API.

Which custom field holds story points differs per site; Jira names it "Story point
estimate" (team-managed and newer sites) or "Story Points" (company-managed), in the
site's own field list (`GET /rest/api/3/field`). Pure choice here, I/O in the client.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Jira's own names for the estimate field, preferred first.
STORY_POINT_NAMES = ("story point estimate", "story points")


@dataclass(frozen=True, slots=True)
class ChosenField:
    """The field read as the Item's estimate, and why that one."""

    field_id: str
    name: str
    source: str


def choose_story_points(configured: str | None, fields: Iterable[Mapping[str, Any]]) -> ChosenField | None:
    """JIRA_STORY_POINTS_FIELD when set, else the site's field named like Jira's estimate field."""
    known = [f for f in fields if isinstance(f, Mapping) and f.get("id")]
    if configured:
        name = next((str(f.get("name")) for f in known if f["id"] == configured), None)
        if name is None:
            return ChosenField(configured, "not on this site", "from JIRA_STORY_POINTS_FIELD")
        return ChosenField(configured, name, "from JIRA_STORY_POINTS_FIELD")
    for wanted in STORY_POINT_NAMES:
        for f in known:
            if str(f.get("name") or "").strip().casefold() == wanted and str(f["id"]).startswith("customfield_"):
                return ChosenField(
                    str(f["id"]), str(f["name"]), "found by name in the site's fields (JIRA_STORY_POINTS_FIELD is unset)"
                )
    return None
