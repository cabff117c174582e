"""Expressions for field conditions, fused by rules.codegen into one function per rule.

Each operator here mirrors rules.fieldkinds.make_test exactly (tests check they agree);
only fixed text from this module enters the source, user values are bound constants.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rules.codegen import Codegen
from rules.compilectx import CompileCtx, compile_regex
from rules.fieldkinds import Kind, person_keys, time_bound
from rules.model import StatusCategory

_EXPR = {
    "title": "i.title", "description": "i.description", "key": "i.key", "type": "i.type", "team": "i.team",
    "project": "i.project", "parent": "i.parent", "sprint": "i.sprint", "status.name": "i.status.name",
    "status.category": "i.status.category", "estimate": "i.estimate", "labels": "i.labels",
    "assignee": "i.assignee", "reporter": "i.reporter", "created": "i.created_at", "updated": "i.updated_at",
    "status_entered": "i.status_changed_at",
    "priority": "(None if i.priority is None else i.priority.name)",
    "priority.rank": "(None if i.priority is None else i.priority.rank)",
    "last_activity": "(i.last_activity_at or f.ctx.last_activity_by.get('any'))",
    "last_comment": "(i.last_comment_at or f.ctx.last_activity_by.get('comment'))",
    "last_status_change": "f.ctx.last_activity_by.get('status')",
    "last_assignee_change": "f.ctx.last_activity_by.get('assignee')",
}
_CMP = {"eq": "==", "ne": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


def _listed(arg: Any) -> list[Any]:
    return arg if isinstance(arg, list) else [arg]


def _fold_set(arg: Any) -> frozenset[str]:
    return frozenset(str(a).casefold() for a in _listed(arg))


def field_code(name: str, kind: Kind, getter: Callable[[Any], Any], ops: dict[str, Any],
               cctx: CompileCtx) -> Callable[[Codegen], str] | None:
    """An expression builder for `name: ops`, or None to call the predicate instead."""
    def code(gen: Codegen) -> str:
        x = _EXPR.get(name) or f"{gen.const(getter)}(i)"
        return "(" + " and ".join(_op(kind, op, arg, x, gen, cctx) for op, arg in ops.items()) + ")"
    return code


def _presence(kind: Kind, x: str, want_missing: bool) -> str:
    missing = f"({x} is None)" if kind in (Kind.PERSON, Kind.NUMBER, Kind.TIME, Kind.CATEGORY) else f"(not {x})"
    return missing if want_missing else f"(not {missing})"


def _op(kind: Kind, op: str, arg: Any, x: str, gen: Codegen, cctx: CompileCtx) -> str:
    if op == "missing":
        return _presence(kind, x, bool(arg))
    if op == "present":
        return _presence(kind, x, not arg)
    v = gen.var()
    if kind is Kind.CATEGORY:
        cats = frozenset(StatusCategory(a) for a in _listed(arg))
        if len(cats) == 1 and op in ("equals", "in"):
            return f"({x} is {gen.const(next(iter(cats)))})"
        return f"({x} {'in' if op in ('equals', 'in') else 'not in'} {gen.const(cats)})"
    if kind is Kind.TIME:
        bound = time_bound(op, arg, cctx)
        limit = f"f.cut[{bound.slot}]" if bound.slot is not None else gen.const(bound.instant)
        return f"(({v} := {x}) is not None and {v} {bound.symbol} {limit})"
    if kind is Kind.NUMBER:
        if op == "in":
            return f"(({v} := {x}) is not None and {v} in {gen.const(frozenset(arg))})"
        return f"(({v} := {x}) is not None and {v} {_CMP[op]} {gen.const(arg)})"
    if kind is Kind.TEXT:
        return _text(op, arg, x, v, gen)
    if kind is Kind.SET:
        return _set(op, arg, x, gen)
    return _person(op, arg, x, v, gen)


def _text(op: str, arg: Any, x: str, v: str, gen: Codegen) -> str:
    if op in ("matches", "not_matches"):
        search = gen.const(compile_regex(arg).search)
        return f"(({v} := {x}) is not None and ({search}(str({v})) is {'not ' if op == 'matches' else ''}None))"
    if op == "contains":
        return f"(({v} := {x}) is not None and {gen.const(str(arg).casefold())} in str({v}).casefold())"
    values = gen.const(_fold_set(arg))
    if op in ("equals", "in"):
        return f"(({v} := {x}) is not None and str({v}).casefold() in {values})"
    return f"(({v} := {x}) is None or str({v}).casefold() not in {values})"


def _set(op: str, arg: Any, x: str, gen: Codegen) -> str:
    wanted = _fold_set(arg)
    helper: Callable[[Any], bool]
    if op == "matches":
        search = compile_regex(arg).search

        def helper(labels: Any) -> bool:
            return any(search(s) is not None for s in labels)
    elif op in ("none_of", "any_of"):

        def helper(labels: Any) -> bool:
            return any(s.casefold() in wanted for s in labels)
    else:

        def helper(labels: Any) -> bool:
            return wanted <= {s.casefold() for s in labels}
    h = gen.const(helper)
    if op == "none_of":
        return f"(not {x} or not {h}({x}))"
    return f"({x} != () and {h}({x}))"


def _person(op: str, arg: Any, x: str, v: str, gen: Codegen) -> str:
    wanted = _fold_set(arg)
    h = gen.const(lambda p: bool(person_keys(p) & wanted))
    if op in ("equals", "in"):
        return f"(({v} := {x}) is not None and {h}({v}))"
    return f"(({v} := {x}) is None or not {h}({v}))"
