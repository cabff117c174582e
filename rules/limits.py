"""Limits across items: `wip_limit` holds for every in-progress item of a group over its limit.

A group is the item's assignee, team or status; its count comes from the mirror (in the
EvalContext), so every item of the group gets the same verdict — whichever item's event
changed the count, and in sweeps too. `tipped_by_this_item` narrows it to the group's
most recently started item, the one a comment should go to. The pipeline re-judges the
rest of a group when an event changes its count (integration.regroup).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rules.compilectx import CompileCtx
from rules.model import Event, Item, StatusCategory
from rules.registry import Frame, Node, Trace, conditions

GROUPS = ("assignee", "team", "status")
_LIMIT = {"type": "object", "additionalProperties": False, "required": ["per", "max"], "properties": {
    "per": {"enum": list(GROUPS)}, "max": {"type": "integer", "minimum": 0},
    "tipped_by_this_item": {"type": "boolean"}}}


def group_key(per: str, item: Item) -> str | None:
    """The item's group for a limit per `per`; None when it has none (e.g. unassigned)."""
    if per == "assignee":
        return f"assignee:{item.assignee.id}" if item.assignee is not None else None
    if per == "team":
        return f"team:{item.team}" if item.team else None
    return f"status:{item.status.name.casefold()}" if item.status.name else None


def item_groups(item: Item) -> set[str]:
    """Every group an in-progress item counts in (none when it is not in progress)."""
    if item.status.category is not StatusCategory.IN_PROGRESS:
        return set()
    return {key for per in GROUPS if (key := group_key(per, item)) is not None}


def limits_in(when: Any) -> set[str]:
    """The `per` of every wip_limit a condition uses: the groups its rule depends on."""
    found: set[str] = set()
    if isinstance(when, dict):
        for key, value in when.items():
            if key == "wip_limit" and isinstance(value, dict):
                found.add(str(value.get("per")))
            else:
                found |= limits_in(value)
    elif isinstance(when, list):
        for value in when:
            found |= limits_in(value)
    return found


def uses_limits(rules: Iterable[Any]) -> bool:
    return any(limits_in(rule.raw_when) for rule in rules)


@conditions.register("wip_limit", _LIMIT, group="mirror")
def wip_limit(arg: dict[str, Any], path: str, cctx: CompileCtx) -> Node:
    """The item is in progress and its group — everyone's items with the same assignee,
    team or status — has more than `max` items in progress (counted over the mirror).
    Every item of the group gets the same verdict, so a flag goes on all of them and comes
    off all of them when the count is back under; `tipped_by_this_item: true` holds only
    for the group's most recently started item (where a comment belongs). The rest of
    the group is re-judged in the same job when one item's event changes the count.

    Example::

        wip_limit: { per: assignee, max: 3 }
    """
    per, limit, tipping = arg["per"], int(arg["max"]), bool(arg.get("tipped_by_this_item", False))
    cctx.fields.update({"status", per})

    def count(i: Item, f: Frame) -> tuple[str | None, int]:
        key = group_key(per, i)
        return key, (f.ctx.wip_groups.get(key, 0) if key is not None else 0)

    def pred(i: Item, e: Event | None, f: Frame) -> bool:
        if i.status.category is not StatusCategory.IN_PROGRESS:
            return False
        key, n = count(i, f)
        if key is None or n <= limit:
            return False
        return not tipping or f.ctx.wip_latest.get(key) == i.id

    def explain(i: Item, e: Event | None, f: Frame) -> Trace:
        key, n = count(i, f)
        actual = f"no {per}" if key is None else f"{n} in progress for {key.split(':', 1)[1]}"
        if tipping and key is not None:
            latest = f.ctx.wip_latest.get(key)
            actual += ", started last" if latest == i.id else f", not started last ({latest or '—'} was)"
        want = f"more than {limit} per {per}" + (", this item started last" if tipping else "")
        return Trace(path, "wip_limit", actual, want, pred(i, e, f))
    return Node(pred, explain, lambda bounds: bounds.narrow_categories({StatusCategory.IN_PROGRESS}))


def check_limits(raw: dict[str, Any]) -> list[tuple[tuple[Any, ...], str, bool]]:
    """A limit rule must answer `schedule`: the rest of a group is re-judged as a sweep judges it."""
    triggers = raw["on"] if isinstance(raw["on"], list) else [raw["on"]]
    if limits_in(raw.get("when")) and "schedule" not in triggers:
        return [(("on",), "a rule with wip_limit is re-judged on the whole group as sweeps judge items: "
                          "add 'schedule' to 'on'", False)]
    return []
