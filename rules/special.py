"""Conditions about the event and the mirror: changed, actor, assignee.wip, blocked_by_open."""

from __future__ import annotations

from typing import Any

from rules.compilectx import WIP, CompileCtx
from rules.fieldkinds import KIND_SCHEMAS, Kind, make_test, normalize_ops, person_keys
from rules.model import ActorKind, Event, Item, Link, Status, StatusCategory
from rules.registry import Frame, Node, Trace, conditions

CHANGE_FIELDS = ["status", "status.category", "assignee", "labels", "priority", "title", "description",
                 "estimate", "type", "sprint", "parent", "due_date", "team", "project"]
_VALUE = {"anyOf": [{"type": ["string", "number", "null"]}, {"type": "array", "items": {"type": ["string", "number"]}}]}
_CHANGED = {"anyOf": [{"enum": CHANGE_FIELDS}, {
    "type": "object", "additionalProperties": False, "required": ["field"],
    "properties": {"field": {"enum": CHANGE_FIELDS}, "from": _VALUE, "to": _VALUE,
                   "added": {"type": "string"}, "removed": {"type": "string"}}}]}
_KINDS = [k.value for k in ActorKind]
_ACTOR = {"type": "object", "additionalProperties": False, "minProperties": 1, "properties": {
    "kind": {"anyOf": [{"enum": _KINDS}, {"type": "array", "items": {"enum": _KINDS}, "minItems": 1}]},
    "in": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    "not_in": {"type": "array", "items": {"type": "string"}, "minItems": 1}}}


def _fold_value(v: Any, category: bool) -> set[str]:
    """The names a changed value answers to: a Status by name or category, a person by id/email/name."""
    if v is None:
        return {""}
    if isinstance(v, Status):
        return {v.category.value} if category else {v.name.casefold(), v.category.value}
    if isinstance(v, StatusCategory):
        return {v.value}
    if hasattr(v, "kind") and hasattr(v, "email"):
        return person_keys(v)
    if hasattr(v, "rank"):
        return {str(v.name).casefold()}
    return {str(v).casefold()}


def _new_values(new: Any, item: Item, category: bool) -> set[str]:
    """Trackers report a status change by name; the item after the event has the category."""
    if category and not isinstance(new, (Status, StatusCategory)):
        return {item.status.category.value}
    return _fold_value(new, category)


def _wanted(arg: Any) -> frozenset[str]:
    items = arg if isinstance(arg, list) else [arg]
    return frozenset("" if a is None else str(a).casefold() for a in items)


@conditions.register("changed", _CHANGED, group="event")
def changed(arg: Any, path: str, cctx: CompileCtx) -> Node:
    """This event changed a field, optionally from / to given values (or added / removed a label).
    Status changes arrive by name: `to` a category reads the item's category after the
    event; `from` a category holds only where the tracker reported the old category.

    Example::

        changed: { field: status.category, from: todo, to: in_progress }
    """
    spec = arg if isinstance(arg, dict) else {"field": arg}
    name = spec["field"]
    category = name == "status.category"
    field = "status" if category else name
    src = _wanted(spec["from"]) if "from" in spec else None
    dst = _wanted(spec["to"]) if "to" in spec else None
    added, removed = spec.get("added"), spec.get("removed")

    def pred(i: Item, e: Event | None, f: Frame) -> bool:
        ch = e.change_of(field) if e is not None else None
        if ch is None:
            return False
        if src is not None and not (_fold_value(ch.old, category) & src):
            return False
        if dst is not None and not (_new_values(ch.new, i, category) & dst):
            return False
        if added is not None and added.casefold() not in {a.casefold() for a in ch.added}:
            return False
        return removed is None or removed.casefold() in {r.casefold() for r in ch.removed}

    def explain(i: Item, e: Event | None, f: Frame) -> Trace:
        ch = e.change_of(field) if e is not None else None
        actual = "no event" if e is None else ("not changed" if ch is None else _shown_change(ch))
        return Trace(path, "changed", actual, _describe_change(spec), pred(i, e, f))
    return Node(pred, explain)


def _shown_change(ch: Any) -> str:
    """'To Do → In Progress', '+api −ux': a change as a person writes it."""
    from rules.conditions import show

    if ch.added or ch.removed:
        return " ".join([*(f"+{x}" for x in ch.added), *(f"−{x}" for x in ch.removed)])
    return f"{show(ch.old)} → {show(ch.new)}"


def _describe_change(spec: dict[str, Any]) -> str:
    parts = [f"{spec['field']} changed"]
    parts += [f"{k} {spec[k]}" for k in ("from", "to", "added", "removed") if k in spec]
    return " ".join(parts)


@conditions.register("actor", _ACTOR, group="event")
def actor(arg: dict[str, Any], path: str, cctx: CompileCtx) -> Node:
    """Who made the change this event reports; a sweep has no actor, so it never holds there.

    Example::

        actor: { kind: human, not_in: [release-bot@example.com] }
    """
    kinds = arg.get("kind")
    kinds = frozenset(ActorKind(k) for k in (kinds if isinstance(kinds, list) else [kinds])) if kinds else None
    allow = frozenset(a.casefold() for a in arg.get("in", ())) or None
    deny = frozenset(a.casefold() for a in arg.get("not_in", ()))

    def pred(i: Item, e: Event | None, f: Frame) -> bool:
        who = e.actor if e is not None else None
        if who is None or (kinds is not None and who.kind not in kinds):
            return False
        keys = person_keys(who)
        return (allow is None or bool(keys & allow)) and not (keys & deny)

    def explain(i: Item, e: Event | None, f: Frame) -> Trace:
        who = e.actor if e is not None else None
        actual = "no actor" if who is None else f"{who.name or who.id} ({who.kind.value})"
        return Trace(path, "actor", actual, _describe_actor(arg), pred(i, e, f))
    return Node(pred, explain)


def _describe_actor(arg: dict[str, Any]) -> str:
    """'kind human, not in release-bot@example.com'."""
    def listed(v: Any) -> str:
        return ", ".join(map(str, v)) if isinstance(v, list) else str(v)
    return ", ".join(f"{k.replace('_', ' ')} {listed(v)}" for k, v in arg.items())


@conditions.register("assignee.wip", KIND_SCHEMAS[Kind.NUMBER], group="mirror")
def assignee_wip(arg: Any, path: str, cctx: CompileCtx) -> Node:
    """How many items the assignee has in progress, counted over the item mirror (WIP limits).

    Example::

        assignee.wip: { gt: 3 }
    """
    cctx.fields.update(("assignee", WIP))
    ops = normalize_ops(Kind.NUMBER, arg)
    tests = [make_test(Kind.NUMBER, op, a, cctx) for op, a in ops.items()]

    def wip(i: Item, f: Frame) -> int | None:
        return None if i.assignee is None else f.ctx.wip_by_assignee.get(i.assignee.id, 0)

    def pred(i: Item, e: Event | None, f: Frame) -> bool:
        v = wip(i, f)
        return all(t(v, f) for t in tests)

    def explain(i: Item, e: Event | None, f: Frame) -> Trace:
        v = wip(i, f)
        expected = ", ".join(f"{op} {a}" for op, a in ops.items())
        return Trace(path, "assignee.wip", "unassigned" if v is None else v, expected, pred(i, e, f))
    return Node(pred, explain)


_OPEN = frozenset({StatusCategory.TODO, StatusCategory.IN_PROGRESS})


@conditions.register("blocked_by_open", {"type": "boolean"}, group="mirror")
def blocked_by_open(arg: bool, path: str, cctx: CompileCtx) -> Node:
    """The item is blocked by an item that is still open, where the tracker says so
    (a link whose status is not carried counts as unknown, not open).

    Example::

        blocked_by_open: true
    """
    cctx.fields.add("links")

    def blockers(i: Item) -> list[str]:
        return [ln.key for ln in i.links if ln.kind == "blocked_by" and ln.status_category in _OPEN]

    def pred(i: Item, e: Event | None, f: Frame) -> bool:
        return bool(blockers(i)) is arg

    def explain(i: Item, e: Event | None, f: Frame) -> Trace:
        found = blockers(i)
        return Trace(path, "blocked_by_open", f"blocked by {', '.join(found)}" if found else "no open blocker",
                     "blocked" if arg else "not blocked", pred(i, e, f))

    def code(gen: Any) -> str:  # most items have no links: no call for them
        return f"((bool(i.links) and {gen.const(_open_blocker)}(i.links)) is {gen.const(arg)})"
    return Node(pred, explain, None, code)


def _open_blocker(links: tuple[Link, ...]) -> bool:
    return any(ln.kind == "blocked_by" and ln.status_category in _OPEN for ln in links)
