"""`rules check --online` for the `people:` section: every named person exists on each tracker.

A person is named once for both trackers; a typo in an account id or an email that
nobody has would make `assign: lead` fail and `{{ people.lead.mention }}` mention nobody,
so each entry is looked up on every connected tracker it names an account for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from integration.trackers.base import TrackerError
from rules.model import Person, Tracker
from rules.people import PersonEntry
from rules.ruleset import RuleSet

NAMES = {"jira": "Jira", "linear": "Linear"}


@runtime_checkable
class PersonLookup(Protocol):
    def find_person(self, account_id: str | None, email: str | None) -> Person | None: ...


def people_of(ruleset: RuleSet) -> dict[str, PersonEntry]:
    people: dict[str, PersonEntry] = {}
    for rule in ruleset.rules:
        people.update(rule.people)
    return people


def people_problems(ruleset: RuleSet, clients: Mapping[str, object]) -> list[str]:
    """One line per person a connected tracker does not know (or could not be asked about)."""
    problems = []
    for handle, entry in sorted(people_of(ruleset).items()):
        for tracker, client in sorted(clients.items()):
            account = entry.jira if tracker == Tracker.JIRA.value else entry.linear
            if not (account or entry.email) or not isinstance(client, PersonLookup):
                continue
            what = f"account id {account}" if account else f"email {entry.email}"
            try:
                found = client.find_person(account, None if account else entry.email)
            except TrackerError as error:
                problems.append(f"people.{handle}: {NAMES.get(tracker, tracker)} could not be asked ({error})")
                continue
            if found is None:
                problems.append(f"people.{handle}: {NAMES.get(tracker, tracker)} has no user with {what}")
    return problems
