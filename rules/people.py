"""The `people:` section: persons named once, used in templates and as assign targets.

A team lead is known to Jira by an account id and to Linear by a user id; a rule file
names them once (`lead: { jira: 5b10…, linear: 2f3a…, email: dana@example.com }`) and
says `{{ people.lead.mention }}` or `assign: lead` on either tracker. An entry known only
by email is looked up by the tracker client when it must write (and by `rules check
--online`, which resolves every entry against the connected trackers).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rules.model import Person, Tracker

PERSON_NAME = r"^[a-z][a-z0-9_]{0,39}$"
ENTRY_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "minProperties": 1,
    "anyOf": [{"required": ["jira"]}, {"required": ["linear"]}, {"required": ["email"]}],
    "properties": {
        "jira": {"type": "string", "minLength": 1, "description": "the Jira account id"},
        "linear": {"type": "string", "minLength": 1, "description": "the Linear user id"},
        "email": {"type": "string", "pattern": r"^[^@\s]+@[^@\s]+$"},
        "name": {"type": "string", "minLength": 1, "description": "how comments name them"},
    },
}
SECTION_SCHEMA: dict[str, Any] = {
    "type": "object", "description": "Persons named once: `{{ people.lead.mention }}`, `assign: lead`.",
    "propertyNames": {"pattern": PERSON_NAME}, "additionalProperties": ENTRY_SCHEMA,
}


@dataclass(frozen=True, slots=True)
class PersonEntry:
    """One named person; `on(tracker)` is the account on that tracker (id '' when only the email is known)."""

    handle: str
    jira: str | None = None
    linear: str | None = None
    email: str | None = None
    name: str | None = None

    def on(self, tracker: Tracker) -> Person:
        account = self.jira if tracker is Tracker.JIRA else self.linear
        return Person(account or "", self.name or self.email or self.handle, self.email)

    def differs(self, other: PersonEntry) -> bool:
        return (self.jira, self.linear, self.email, self.name) != (other.jira, other.linear, other.email, other.name)


People = Mapping[str, PersonEntry]


def entry_from(handle: str, raw: Mapping[str, Any]) -> PersonEntry:
    return PersonEntry(handle, raw.get("jira"), raw.get("linear"), raw.get("email"), raw.get("name"))


def for_tracker(people: People, tracker: Tracker) -> dict[str, Person]:
    return {handle: entry.on(tracker) for handle, entry in people.items()}
