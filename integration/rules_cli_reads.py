"""The tracker and mirror reads behind `flowkeeper rules check --online` and `rules simulate`.

`rules/` decides what to look up (`names_to_check`) and how to count a simulation
(`summarize`); this module does the reading. Status names, labels and team keys are
checked on each tracker the rules using them apply to, because a renamed status or a
misspelt team silently stops a rule. Simulation walks the mirror a page at a time and
hands each item the EvalContext the one judge builds (`integration.judge`), as the
pipeline and sweeps do, in a handful of queries per page.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import datetime
from typing import Protocol, runtime_checkable

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from integration.codec import from_jsonable
from integration.judge import Judge
from integration.people_online import people_problems
from integration.services import utcnow
from integration.settings import Settings
from integration.store.store import Store
from integration.store.tables import items
from integration.trackers.base import TrackerClient, TrackerError
from rules.model import EvalContext, Item
from rules.referenced_names import NamesToCheck, names_to_check
from rules.ruleset import RuleSet

NAMES = {"jira": "Jira", "linear": "Linear"}
CREDENTIALS = {"jira": "JIRA_URL, JIRA_USER and JIRA_API_TOKEN", "linear": "LINEAR_API_KEY"}
TEAM_NOUN = {"jira": "a Jira project", "linear": "a Linear team"}
LABEL_MISSING = {"jira": "is on no Jira issue", "linear": "does not exist in Linear"}
MIRROR_PAGE = 500

Scopes = Mapping[str, frozenset[str]]  # rule name → the trackers it applies to


@runtime_checkable
class NameLookup(Protocol):
    """The reads `rules check --online` needs from a tracker client."""

    def status_names(self) -> set[str]: ...
    def existing_labels(self, names: Collection[str]) -> set[str]: ...
    def team_keys(self, keys: Collection[str]) -> set[str]: ...


@runtime_checkable
class FieldLookup(Protocol):
    """A tracker with custom fields rules read by a mapped name (Jira)."""

    def mapped_fields(self) -> Mapping[str, str]: ...
    def field_names(self) -> dict[str, str]: ...


class Connected(Protocol):
    @property
    def clients(self) -> Mapping[str, TrackerClient]: ...


class Mirrored(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def store(self) -> Store: ...


# ---- rules check --online ---------------------------------------------------------------


def online_problems(services: Connected) -> Callable[[RuleSet], list[str]]:
    """The `online=` checker for `rules.cli.register`: problems found on the connected trackers."""
    return lambda ruleset: find_problems(ruleset, services.clients)


def find_problems(ruleset: RuleSet, clients: Mapping[str, object]) -> list[str]:
    """One line per name a rule uses that its tracker does not know, and per tracker not checked."""
    names = names_to_check(ruleset)
    scopes: Scopes = {rule.name: frozenset(t.value for t in rule.trackers) for rule in ruleset.rules}
    problems: list[str] = []
    lookups: dict[str, NameLookup] = {}
    for tracker in sorted(t.value for t in names.trackers):
        client = clients.get(tracker)
        if isinstance(client, NameLookup):
            lookups[tracker] = client
        elif client is None:
            users = [r for r in _naming_rules(names) if tracker in scopes.get(r, ())]
            if not users:
                continue  # no rule for this tracker names anything: nothing went unchecked
            problems.append(f"{NAMES[tracker]} is not connected (set {CREDENTIALS[tracker]}): the names "
                            f"{_rules(users, most=3)} use{'s' if len(users) == 1 else ''} were not checked there")
        else:
            problems.append(f"{NAMES[tracker]}: this client cannot look up names; nothing was checked there")
    for tracker, lookup in lookups.items():
        problems += _status_problems(tracker, lookup, names, scopes)
        problems += _label_problems(tracker, lookup, names, scopes)
    problems += _team_problems(lookups, names, scopes)
    problems += people_problems(ruleset, clients)
    jira = clients.get("jira")
    if names.custom_fields and isinstance(jira, FieldLookup):
        problems += custom_field_problems(jira, names)
    return problems


def custom_field_problems(lookup: FieldLookup, names: NamesToCheck) -> list[str]:
    """Each `custom.<name>` must be in JIRA_FIELD_MAP, and the field it maps to must exist on the
    site, by id (customfield_10050) or by name ("Severity")."""
    mapped = lookup.mapped_fields()
    problems = []
    for name, users in sorted(names.custom_fields.items()):
        if name not in mapped:
            known = ", ".join(sorted(mapped)) or "nothing"
            problems.append(f"custom.{name} used by {_rules(users)} is not in JIRA_FIELD_MAP (it maps {known})"
                            + _closest(name, list(mapped)))
    wanted = {name: mapped[name] for name in names.custom_fields if name in mapped}
    if not wanted:
        return problems
    try:
        fields = lookup.field_names()
    except TrackerError as error:
        return [*problems, f"Jira: could not read the fields ({error}); custom fields were not checked"]
    by_name = {field_name.casefold() for field_name in fields.values()}
    for name, field in sorted(wanted.items()):
        if field not in fields and field.casefold() not in by_name:
            problems.append(f"JIRA_FIELD_MAP maps {name} to {field!r}, which this Jira site does not have "
                            f"(used by {_rules(names.custom_fields[name])})" + _closest(field, list(fields.values())))
    return problems


def _status_problems(tracker: str, lookup: NameLookup, names: NamesToCheck, scopes: Scopes) -> list[str]:
    wanted = _used_on(tracker, names.status_names, scopes)
    if not wanted:
        return []
    try:
        existing = lookup.status_names()
    except TrackerError as error:
        return [f"{NAMES[tracker]}: could not read the statuses ({error}); status names were not checked"]
    known = {name.casefold() for name in existing}
    return [
        f"status {name!r} used by {_rules(users)} does not exist in {NAMES[tracker]} — renamed?"
        + _closest(name, existing)
        for name, users in wanted.items()
        if name.casefold() not in known
    ]


def _label_problems(tracker: str, lookup: NameLookup, names: NamesToCheck, scopes: Scopes) -> list[str]:
    wanted = _used_on(tracker, names.labels, scopes)
    if not wanted:
        return []
    try:
        found = lookup.existing_labels(list(wanted))
    except TrackerError as error:
        return [f"{NAMES[tracker]}: could not read the labels ({error}); label names were not checked"]
    return [
        f"label {name!r} used by {_rules(users)} {LABEL_MISSING[tracker]} — misspelt?"
        for name, users in wanted.items()
        if name not in found
    ]


def _team_problems(lookups: Mapping[str, NameLookup], names: NamesToCheck, scopes: Scopes) -> list[str]:
    """A key is fine when it is a project or team on any connected tracker its rules apply to."""
    found: set[str] = set()
    failed: set[str] = set()
    problems = []
    for tracker, lookup in lookups.items():
        keys = _used_on(tracker, names.teams, scopes)
        if not keys:
            continue
        try:
            found |= lookup.team_keys(list(keys))
        except TrackerError as error:
            failed.add(tracker)
            problems.append(f"{NAMES[tracker]}: could not read the teams ({error}); team keys were not checked")
    for key, users in sorted(names.teams.items()):
        trackers = sorted({t for rule in users for t in scopes.get(rule, ())} & lookups.keys())
        if key in found or not trackers or failed & set(trackers):
            continue
        nouns = " or ".join(TEAM_NOUN[t] for t in trackers)
        problems.append(f"team {key!r} used by {_rules(users)} is not {nouns} the service account can see"
                        " — misspelt?")
    return problems


def _naming_rules(names: NamesToCheck) -> set[str]:
    """Rules that name a status, a label or a team."""
    used = (*names.status_names.values(), *names.labels.values(), *names.teams.values())
    return set().union(*used)


def _used_on(tracker: str, used: Mapping[str, set[str]], scopes: Scopes) -> dict[str, list[str]]:
    """name → the rules using it that apply to `tracker` (sorted, for stable output)."""
    out = {}
    for name, rules in sorted(used.items()):
        users = sorted(r for r in rules if tracker in scopes.get(r, ()))
        if users:
            out[name] = users
    return out


def _rules(names: Collection[str], most: int | None = None) -> str:
    """"rule 'a'", "rules 'a', 'b'", or "12 rules" past `most` names."""
    if most is not None and len(names) > most:
        return f"{len(names)} rules"
    listed = ", ".join(f"'{n}'" for n in sorted(names))
    return f"rule {listed}" if len(names) == 1 else f"rules {listed}"


def _closest(name: str, existing: Collection[str]) -> str:
    close = difflib.get_close_matches(name, sorted(existing), n=2, cutoff=0.6)
    return f" (closest: {', '.join(repr(c) for c in close)})" if close else ""


# ---- rules simulate ---------------------------------------------------------------------


class MirrorUnavailable(Exception):
    """The mirror cannot be simulated over (unreadable or empty); the message says what to do."""


def mirror_items(
    services: Mirrored, clock: Callable[[], datetime] = utcnow
) -> Callable[[RuleSet], Iterator[tuple[Item, EvalContext]]]:
    """The `mirror=` source for `rules.cli.register`: every mirrored, non-deleted item with its context.

    Calling it raises MirrorUnavailable at once (before any item is read) when the mirror cannot be
    read or holds nothing, so a reviewer never mistakes an empty simulation for a harmless change.
    """

    def source(ruleset: RuleSet) -> Iterator[tuple[Item, EvalContext]]:
        check_mirror(services.store)
        return iter_mirror(services.store, services.settings, ruleset, clock())

    return source


def check_mirror(store: Store) -> int:
    """How many items a simulation would read; MirrorUnavailable when that is none or unknowable."""
    try:
        with store.engine.connect() as conn:
            count = int(conn.execute(select(func.count()).where(items.c.deleted.is_(False))).scalar() or 0)
    except SQLAlchemyError as error:
        raise MirrorUnavailable(f"the item mirror cannot be read ({type(error).__name__}): check DATABASE_URL "
                                "and run `flowkeeper db upgrade`") from None
    if not count:
        raise MirrorUnavailable("the item mirror is empty: run `flowkeeper sync` first (or simulate over "
                                "--items FILE.jsonl)")
    return count


def iter_mirror(store: Store, settings: Settings, ruleset: RuleSet, now: datetime,
                page_size: int = MIRROR_PAGE) -> Iterator[tuple[Item, EvalContext]]:
    """Items page by page, each with the context the one judge builds for `ruleset` at `now`.

    Rule states are chosen by the mode each rule of `ruleset` would run in (its dry run after
    admin overrides), so a changed rule set is judged as it would run once merged; WIP and
    overrides are read once per tracker (the mirror holds still meanwhile).
    """
    judges: dict[str, Judge] = {}
    for page in _mirror_pages(store, page_size):
        for tracker in sorted({item.tracker.value for item in page}):
            if tracker not in judges:  # judged as the deployment would run: writable when configured
                judges[tracker] = Judge.for_job(store, settings, tracker, None, ruleset, writable=True)
            yield from judges[tracker].contexts([item for item in page if item.tracker.value == tracker], now)


def _mirror_pages(store: Store, size: int) -> Iterator[list[Item]]:
    """Non-deleted mirrored items in insertion order, `size` at a time (keyset paging)."""
    after = 0
    while True:
        query = (
            select(items.c.id, items.c.data)
            .where(items.c.deleted.is_(False), items.c.id > after)
            .order_by(items.c.id)
            .limit(size)
        )
        with store.engine.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            return
        after = rows[-1].id
        yield [from_jsonable(Item, row.data) for row in rows]
