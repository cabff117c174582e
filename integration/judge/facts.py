"""The mirror's facts for a batch of items, read in a handful of queries whatever its size.

A webhook is a batch of one; a sweep page, a held batch being approved and a simulation
page are batches of many. Each fact — last human activity by kind, rule states per mode,
snoozes and exemptions — is one query for the whole batch; WIP and admin overrides are
facts about the whole tracker (`SharedFacts`), read once per job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, or_, select

from integration.codec import from_jsonable
from integration.judge.clocks import history_clocks, own_labels
from integration.store.batch import ForIds
from integration.store.completions import first_starts, team_cycle_days
from integration.store.db import read_connection, reading
from integration.store.snoozes import ItemPause
from integration.store.states import state_from_row
from integration.store.store import Store
from integration.store.tables import item_history, items, rule_states
from rules.clocks import TIME_FIELDS, subtask_key
from rules.conditions import clock_value
from rules.model import ActorKind, Closure, EvalContext, Item, RuleState

# activity kind → the history fields it counts (None: every field); "created" and "seen" say
# where `any` came from when it is the item's creation or a first sight's estimate (explain)
ACTIVITY_FIELDS: Mapping[str, tuple[str, ...] | None] = {
    "any": None, "comment": ("comment",), "status": ("status",), "assignee": ("assignee",),
    "created": ("created",), "seen": ("seen",),
}


@dataclass(frozen=True)
class SharedFacts:
    """Facts about the whole tracker, read once per job rather than per item."""

    wip: Mapping[str, int]
    overrides: Mapping[str, Mapping[str, bool]]
    wip_groups: Mapping[str, int] = field(default_factory=dict)  # limits across items (rules.limits)
    wip_latest: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, store: Store, tracker: str, limits: bool = False, wip: bool = True,
             overrides: Mapping[str, Mapping[str, bool]] | None = None) -> SharedFacts:
        """`limits`: a rule counts work in progress per group, so the group counts are read too.
        `wip`: a rule reads the counts per assignee (an aggregate over the whole mirror, so a job
        whose rules never read it does not pay for it). `overrides`: the admin's overrides, when
        the caller read them already. One read transaction for all of them, none when nothing is left."""
        if overrides is not None and not limits and not wip:
            return cls({}, overrides)
        with read_connection(store.engine) as conn:
            groups, latest = store.mirror.wip_groups(tracker, conn) if limits else ({}, {})
            per_person = store.mirror.wip_by_assignee(tracker, conn) if wip else {}
            return cls(per_person, store.overrides.all(conn) if overrides is None else overrides, groups, latest)


@dataclass(frozen=True)
class FlowFacts:
    """Each team's cycle times over the recent history, for `age_percentile`: read once per job,
    and only when a rule uses it (the same completions the Reports count)."""

    cycle_days_by_team: Mapping[str, tuple[float, ...]]

    @classmethod
    def load(cls, store: Store, tracker: str, now: datetime) -> FlowFacts:
        with store.engine.connect() as conn:
            return cls(team_cycle_days(conn, tracker, now))


@dataclass
class BatchFacts:
    activity: dict[str, dict[str, datetime]] = field(default_factory=dict)  # item → kind → last human change
    states: dict[str, dict[str, dict[str, RuleState]]] = field(default_factory=dict)  # item → mode → rule
    pauses: dict[str, ItemPause] = field(default_factory=dict)
    started: dict[str, datetime] = field(default_factory=dict)  # item → first start, when a rule needs it
    clocks: dict[str, dict[str, datetime]] = field(default_factory=dict)  # item → rules.clocks key → instant
    closures: dict[str, Closure] = field(default_factory=dict)  # Flowkeeper's own closes, for reopen
    own_labels: dict[str, frozenset[str]] | None = None  # item → Flowkeeper's labels, when a rule flags
    ids: tuple[str, ...] = ()  # the items these facts are about

    @classmethod
    def load(cls, store: Store, tracker: str, item_ids: Iterable[str], now: datetime, *,
             starts: bool = False, with_clocks: bool = False, with_flags: bool = False,
             parents: Mapping[str, str] | None = None, with_closures: bool = True,
             conn: Connection | None = None) -> BatchFacts:
        """`parents` (key → id of the batch's items): roll their sub-tasks' clocks up to them.
        `with_closures`: Flowkeeper's own closes, which only some rules read (`RuleSet.reads_closures`).

        Every fact is read in one read transaction (`conn`'s, when given): one snapshot, and one
        BEGIN for the batch."""
        ids = list(dict.fromkeys(item_ids))
        with reading(store.engine, conn) as conn:
            clocks = history_clocks(store.engine, tracker, ids, conn) if with_clocks else {}
            for item_id, rolled in (subtask_clocks(store, tracker, parents, conn) if parents else {}).items():
                clocks.setdefault(item_id, {}).update(rolled)
            return cls(
                activity=human_activity(store, tracker, ids, conn),
                states=states_for(store, tracker, ids, conn),
                pauses=store.snoozes.for_items(tracker, ids, now, conn),
                started=first_starts(conn, tracker, ids) if starts else {},
                clocks=clocks,
                closures=store.closures.for_items(tracker, ids, conn) if with_closures else {},
                own_labels=own_labels(store.engine, tracker, ids, conn) if with_flags else None,
                ids=tuple(ids),
            )

    def with_history(self, item_id: str, rows: Iterable[Mapping[str, Any]]) -> BatchFacts:
        """These facts after `rows` (`item_history` rows just written for `item_id`): the human
        activity as `human_activity` would read it now, so a webhook's facts can be read with its
        item, before its history is written."""
        kinds = self.activity.setdefault(item_id, {})
        for row in rows:
            if row["actor_kind"] == ActorKind.HUMAN.value or row["field"] == "created":
                _add_activity(kinds, row["field"], row["at"].astimezone(UTC))
        return self


def mirrored_items(store: Store, tracker: str, ids: list[str]) -> dict[str, Item]:
    if not ids:
        return {}
    query = select(items.c.item_id, items.c.data).where(items.c.tracker == tracker, items.c.item_id.in_(ids))
    with store.engine.connect() as conn:
        return {row.item_id: from_jsonable(Item, row.data) for row in conn.execute(query)}


def subtask_clocks(store: Store, tracker: str, parents: Mapping[str, str],
                   conn: Connection | None = None) -> dict[str, dict[str, datetime]]:
    """parent id → `sub:<time field>` → the latest value over its mirrored sub-tasks (deleted ones
    left out), each sub-task's clocks read as the rules read its own: one query for the batch's
    sub-tasks, one for their activity."""
    with reading(store.engine, conn) as reader:
        children = [from_jsonable(Item, row.data) for row in reader.execute(subtasks_query(tracker, parents))]
        activity = human_activity(store, tracker, [c.id for c in children], reader)
    found: dict[str, dict[str, datetime]] = {}
    for child in children:
        parent = parents.get(child.parent or "")
        if parent is None:
            continue
        context = EvalContext(last_activity_by=activity.get(child.id, {}))
        for name in TIME_FIELDS:
            at = clock_value(name, child, context)
            rolled = found.setdefault(parent, {})
            if at is not None and (subtask_key(name) not in rolled or at > rolled[subtask_key(name)]):
                rolled[subtask_key(name)] = at
    return found


def subtasks_query(tracker: str, parents: Iterable[str]) -> Select[tuple[Any]]:
    """The mirrored, not deleted sub-tasks of the `parents` (keys), found through the (tracker, parent) index."""
    return select(items.c.data).where(items.c.tracker == tracker, items.c.parent.in_(list(parents)),
                                      items.c.deleted.is_(False))


# Read for every item judged (each webhook, each sweep page): built once (`ForIds`), so no job pays
# for building them and their cache keys again.
_ACTIVITY = ForIds(lambda one_of: (
    select(item_history.c.item_id, item_history.c.field, func.max(item_history.c.at))
    .where(item_history.c.tracker == bindparam("tracker"), one_of(item_history.c.item_id),
           or_(item_history.c.actor_kind == ActorKind.HUMAN.value, item_history.c.field == "created"))
    .group_by(item_history.c.item_id, item_history.c.field)
))
_STATES = ForIds(lambda one_of: select(rule_states).where(rule_states.c.tracker == bindparam("tracker"),
                                                          one_of(rule_states.c.item_id)))


def human_activity(store: Store, tracker: str, ids: list[str],
                   conn: Connection | None = None) -> dict[str, dict[str, datetime]]:
    """item → {"any"|"comment"|"status"|"assignee": last human change}: the staleness clocks.

    The item's creation counts for "any" whoever created it: an item only bots touched is
    measured from its creation, never from a bot's (or Flowkeeper's) change."""
    if not ids:
        return {}
    found: dict[str, dict[str, datetime]] = {}
    with reading(store.engine, conn) as conn:
        for item_id, name, at in _ACTIVITY.execute(conn, ids, {"tracker": tracker}):
            _add_activity(found.setdefault(item_id, {}), name, at)
    return found


def _add_activity(kinds: dict[str, datetime], name: str, at: datetime) -> None:
    """Count a human change of field `name` at `at` in the item's last activity by kind."""
    for kind, fields in ACTIVITY_FIELDS.items():
        if (fields is None or name in fields) and (kinds.get(kind) is None or at > kinds[kind]):
            kinds[kind] = at


def states_for(store: Store, tracker: str, ids: list[str],
               conn: Connection | None = None) -> dict[str, dict[str, dict[str, RuleState]]]:
    if not ids:
        return {}
    found: dict[str, dict[str, dict[str, RuleState]]] = {}
    with reading(store.engine, conn) as conn:
        for row in _STATES.execute(conn, ids, {"tracker": tracker}):
            state = state_from_row(row)
            found.setdefault(row.item_id, {}).setdefault(row.mode, {})[row.rule] = state
    return found
