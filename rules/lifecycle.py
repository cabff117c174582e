"""Conditions about who acted and where the item stands in its life: `actor.kind`,
`closed_by_flowkeeper`, `sprint.active`, `project.active`.

`actor.kind` makes the event's actor a first-class value beside assignee and reporter
(templates read `actor.mention`); `closed_by_flowkeeper` is the store's memory of
Flowkeeper's own close, which "reopen when a person answers" needs; the two `active`
flags let an auto-close spare items whose cycle or project is still running.
"""

from __future__ import annotations

from typing import Any

from rules.compilectx import CLOSURE, CompileCtx
from rules.fieldkinds import DURATION, Kind, make_test
from rules.model import ActorKind, Event, Item
from rules.registry import Frame, Node, Trace, conditions

_KINDS = [k.value for k in ActorKind]
_ACTOR_KIND = {"anyOf": [{"enum": _KINDS}, {"type": "array", "items": {"enum": _KINDS}, "minItems": 1}]}
_CLOSED = {"anyOf": [{"type": "boolean"}, {
    "type": "object", "additionalProperties": False, "minProperties": 1,
    "properties": {"older_than": DURATION, "newer_than": DURATION}}]}


@conditions.register("actor.kind", _ACTOR_KIND, group="event")
def actor_kind(arg: Any, path: str, cctx: CompileCtx) -> Node:
    """The kind of account that made this event's change: `human`, `bot` (integrations,
    automation) or `flowkeeper`. A sweep has no actor, so it never holds there.

    Example::

        actor.kind: human
    """
    kinds = frozenset(ActorKind(k) for k in (arg if isinstance(arg, list) else [arg]))

    def pred(i: Item, e: Event | None, f: Frame) -> bool:
        return e is not None and e.actor is not None and e.actor.kind in kinds

    def explain(i: Item, e: Event | None, f: Frame) -> Trace:
        who = e.actor if e is not None else None
        actual = "no actor" if who is None else f"{who.name or who.id} ({who.kind.value})"
        return Trace(path, "actor.kind", actual, " or ".join(sorted(k.value for k in kinds)), pred(i, e, f))
    return Node(pred, explain)


@conditions.register("closed_by_flowkeeper", _CLOSED, group="mirror")
def closed_by_flowkeeper(arg: Any, path: str, cctx: CompileCtx) -> Node:
    """Flowkeeper itself closed the item and it is still in the status Flowkeeper left it
    in; with `newer_than` / `older_than`, how long ago that close was.

    Example::

        closed_by_flowkeeper: { newer_than: 30 days }
    """
    cctx.fields.update(("status", CLOSURE))
    want = arg if isinstance(arg, bool) else True
    tests = [make_test(Kind.TIME, op, a, cctx) for op, a in arg.items()] if isinstance(arg, dict) else []

    def closed_at(i: Item, f: Frame) -> Any:
        closure = f.ctx.closure
        if closure is None or i.status.name.casefold() != closure.to.name.casefold():
            return None
        return closure.at

    def pred(i: Item, e: Event | None, f: Frame) -> bool:
        at = closed_at(i, f)
        return (at is not None and all(t(at, f) for t in tests)) if want else at is None

    def explain(i: Item, e: Event | None, f: Frame) -> Trace:
        at = closed_at(i, f)
        actual = "not closed by Flowkeeper" if at is None else f"closed by Flowkeeper at {at:%Y-%m-%d %H:%M UTC}"
        expected = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in arg.items()) if isinstance(arg, dict) else (
            "closed by Flowkeeper" if arg else "not closed by Flowkeeper")
        return Trace(path, "closed_by_flowkeeper", actual, expected, pred(i, e, f))
    return Node(pred, explain)


def _active_flag(name: str, attr: str, what: str) -> None:
    def compile_flag(arg: bool, path: str, cctx: CompileCtx) -> Node:
        cctx.fields.add(attr)

        def pred(i: Item, e: Event | None, f: Frame) -> bool:
            return getattr(i, attr) is arg

        def explain(i: Item, e: Event | None, f: Frame) -> Trace:
            value = getattr(i, attr)
            actual = "not known" if value is None else ("running" if value else "not running")
            return Trace(path, name, actual, "running" if arg else "not running", pred(i, e, f))
        return Node(pred, explain)

    compile_flag.__doc__ = f"""Whether the item's {what} is still running (an item with none, or whose
    tracker does not say, is neither running nor not running).

    Example::

        {name}: true
    """
    conditions.register(name, {"type": "boolean"}, group="mirror")(compile_flag)


_active_flag("sprint.active", "sprint_active", "sprint (Jira) or cycle (Linear)")
_active_flag("project.active", "project_active", "project (Linear: not completed or canceled)")
