"""Derive a sweep's candidate query from a rule's conditions, never dropping a candidate.

Only conjuncts of the top-level `all` (or a lone condition) push down, and only shapes
whose tracker query is a superset of the items the condition accepts. `last_activity`,
`status_entered` and `last_comment` do not bound the tracker's `updated`: a bot or
Flowkeeper's own write bumps `updated` without being activity, so bounding it would hide
items that still match.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rules.compilectx import CompileCtx
from rules.fieldkinds import TimeBound, time_bound
from rules.model import StatusCategory


@dataclass
class Bounds:
    cut: list[datetime]
    categories: set[StatusCategory] | None = None
    status_names: set[str] | None = None
    labels_none_of: set[str] = field(default_factory=set)
    labels_any_of: set[str] | None = None
    updated_before: datetime | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    custom_empty: set[str] = field(default_factory=set)
    custom_not_empty: set[str] = field(default_factory=set)
    field_in: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    field_empty: list[tuple[str, bool]] = field(default_factory=list)

    def narrow_categories(self, cats: set[StatusCategory]) -> None:
        self.categories = cats if self.categories is None else self.categories & cats

    def narrow_names(self, names: set[str]) -> None:
        self.status_names = names if self.status_names is None else self.status_names & names


def _listed(arg: Any) -> set[Any]:
    return set(arg) if isinstance(arg, list) else {arg}


# Item fields the trackers' query languages can bound by value (SearchQuery.field_in), with the
# operators whose every match holds one of the listed values; and those they can ask to be empty.
# `none_of` is never pushed: JQL's `not in` drops items with no value at all.
VALUE_FIELDS = {"milestones": ("contains", "any_of", "all_of"), "parent": ("equals", "in"),
                "sprint.state": ("equals", "in"), "project.state": ("equals", "in")}
EMPTY_FIELDS = frozenset({"milestones", "parent"})


def field_pushdown(name: str, ops: dict[str, Any], cctx: CompileCtx) -> Callable[[Bounds], None] | None:
    """A function adding this field condition's bounds, or None if nothing is provable."""
    steps: list[Callable[[Bounds], None]] = []
    for op, arg in ops.items():
        step = _one(name, op, arg, cctx)
        if step is not None:
            steps.append(step)
    if not steps:
        return None

    def apply(bounds: Bounds) -> None:
        for step in steps:
            step(bounds)
    return apply


def _one(name: str, op: str, arg: Any, cctx: CompileCtx) -> Callable[[Bounds], None] | None:
    if name == "status.category" and op in ("equals", "in"):
        cats = {StatusCategory(a) for a in _listed(arg)}
        return lambda b: b.narrow_categories(set(cats))
    if name == "status.name" and op in ("equals", "in"):
        names = {str(a) for a in _listed(arg)}
        return lambda b: b.narrow_names(set(names))
    if name == "labels" and op == "none_of":
        return lambda b: b.labels_none_of.update(_listed(arg))
    if name == "labels" and op in ("contains", "any_of", "all_of"):
        wanted = {str(a) for a in _listed(arg)}
        return lambda b: setattr(b, "labels_any_of", wanted if b.labels_any_of is None else b.labels_any_of)
    if op in VALUE_FIELDS.get(name, ()):
        values = tuple(sorted(str(a) for a in _listed(arg)))
        return lambda b: b.field_in.append((name, values))
    if name in EMPTY_FIELDS and op in ("missing", "present") and isinstance(arg, bool):
        empty = (op == "missing") is arg
        return lambda b: b.field_empty.append((name, empty))
    if name.startswith("custom.") and op in ("missing", "present") and isinstance(arg, bool):
        empty = (op == "missing") is arg
        key = name[len("custom."):]
        return lambda b: (b.custom_empty if empty else b.custom_not_empty).add(key)
    if name == "updated" and op in ("older_than", "at_least", "before"):
        return _time_bound("updated_before", time_bound(op, arg, cctx), min)
    if name == "created" and op in ("older_than", "at_least", "before"):
        return _time_bound("created_before", time_bound(op, arg, cctx), min)
    if name == "created" and op in ("newer_than", "after"):
        return _time_bound("created_after", time_bound(op, arg, cctx), max)
    return None


def _time_bound(attr: str, bound: TimeBound, tighter: Callable[[datetime, datetime], datetime]) -> Any:
    """Bound `attr` inclusively by the condition's limit: the tracker's query keeps the boundary."""
    def apply(b: Bounds) -> None:
        limit = b.cut[bound.slot] if bound.slot is not None else bound.instant
        assert limit is not None
        old = getattr(b, attr)
        setattr(b, attr, limit if old is None else tighter(old, limit))
    return apply
