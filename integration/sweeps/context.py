"""The mirror's facts for a page of sweep candidates, read in a handful of queries.

The webhook path builds one item's EvalContext with a query per fact; a sweep page of a
hundred items would make that hundreds of queries, so this module reads the same facts
for the whole page at once — last human activity by kind, rule states per mode, snoozes,
exemptions, WIP and overrides — and hands out the same EvalContext the pipeline would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import func, select

from integration.codec import from_jsonable
from integration.store.states import choose_states
from integration.store.store import Store
from integration.store.tables import item_history, items, rule_states
from integration.sweeps.snooze import ItemPause, Snoozes
from rules.model import ActorKind, EvalContext, Item, RuleState

# activity kind → the history fields it counts (None: every field), as the pipeline reads them
ACTIVITY_FIELDS: Mapping[str, tuple[str, ...] | None] = {
    "any": None, "comment": ("comment",), "status": ("status",), "assignee": ("assignee",),
}


@dataclass
class PageFacts:
    mirrored: dict[str, Item] = field(default_factory=dict)
    activity: dict[str, dict[str, datetime]] = field(default_factory=dict)
    states: dict[str, dict[str, dict[str, RuleState]]] = field(default_factory=dict)  # item → mode → rule
    pauses: dict[str, ItemPause] = field(default_factory=dict)
    wip: Mapping[str, int] = field(default_factory=dict)
    overrides: Mapping[str, Mapping[str, bool]] = field(default_factory=dict)


def mirrored_items(store: Store, tracker: str, ids: list[str]) -> dict[str, Item]:
    if not ids:
        return {}
    query = select(items.c.item_id, items.c.data).where(items.c.tracker == tracker, items.c.item_id.in_(ids))
    with store.engine.connect() as conn:
        return {row.item_id: from_jsonable(Item, row.data) for row in conn.execute(query)}


def human_activity(store: Store, tracker: str, ids: list[str]) -> dict[str, dict[str, datetime]]:
    """item → {"any"|"comment"|"status"|"assignee": last human change}, like Mirror.last_activity."""
    if not ids:
        return {}
    query = (
        select(item_history.c.item_id, item_history.c.field, func.max(item_history.c.at))
        .where(item_history.c.tracker == tracker, item_history.c.item_id.in_(ids),
               item_history.c.actor_kind == ActorKind.HUMAN.value)
        .group_by(item_history.c.item_id, item_history.c.field)
    )
    found: dict[str, dict[str, datetime]] = {}
    with store.engine.connect() as conn:
        for item_id, name, at in conn.execute(query):
            kinds = found.setdefault(item_id, {})
            for kind, fields in ACTIVITY_FIELDS.items():
                if (fields is None or name in fields) and (kinds.get(kind) is None or at > kinds[kind]):
                    kinds[kind] = at
    return found


def states_for(store: Store, tracker: str, ids: list[str]) -> dict[str, dict[str, dict[str, RuleState]]]:
    if not ids:
        return {}
    query = select(rule_states).where(rule_states.c.tracker == tracker, rule_states.c.item_id.in_(ids))
    found: dict[str, dict[str, dict[str, RuleState]]] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(query):
            state = RuleState(rule=row.rule, episode=row.episode, active=row.active, opened_at=row.opened_at,
                              steps_done=frozenset(row.steps_done or ()), last_action_at=row.last_action_at)
            found.setdefault(row.item_id, {}).setdefault(row.mode, {})[row.rule] = state
    return found


@dataclass(frozen=True)
class SharedFacts:
    """Facts about the whole tracker, read once per page or chunk rather than per item."""

    wip: Mapping[str, int]
    overrides: Mapping[str, Mapping[str, bool]]

    @classmethod
    def load(cls, store: Store, tracker: str) -> SharedFacts:
        return cls(store.mirror.wip_by_assignee(tracker), store.overrides.all())


def load_facts(store: Store, tracker: str, item_ids: Iterable[str], now: datetime,
               shared: SharedFacts | None = None) -> PageFacts:
    ids = list(dict.fromkeys(item_ids))
    shared = shared or SharedFacts.load(store, tracker)
    return PageFacts(
        mirrored=mirrored_items(store, tracker, ids),
        activity=human_activity(store, tracker, ids),
        states=states_for(store, tracker, ids),
        pauses=Snoozes(store.engine).for_items(tracker, ids, now),
        wip=shared.wip,
        overrides=shared.overrides,
    )


def context_for(facts: PageFacts, item: Item, global_dry: bool,
                rule_dry_run: Callable[[str], bool]) -> tuple[Item, EvalContext]:
    """The item with its mirror clock, and the EvalContext the pipeline would build for it."""
    activity = facts.activity.get(item.id, {})
    pause = facts.pauses.get(item.id, ItemPause())
    context = EvalContext(
        rule_states=choose_states(facts.states.get(item.id, {}), global_dry, rule_dry_run),
        wip_by_assignee=facts.wip,
        snoozed_until=pause.snoozed_until,
        exempt_rules=pause.exempt_rules,
        overrides=facts.overrides,
        last_activity_by=activity,
    )
    return replace(item, last_activity_at=activity.get("any") or item.last_activity_at), context
