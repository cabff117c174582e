"""Field conditions: one registered type per Item field, its operators set by its kind.

A field condition is `field: value` (shorthand for equals, or `in` for a list) or
`field: {operator: value, ...}` where every operator must hold. Fields are read through
fixed accessors chosen at compile time; a user string never picks an attribute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from operator import attrgetter
from typing import Any
from zoneinfo import ZoneInfo

from rules.compilectx import LABEL_PATTERN, CompileCtx, compile_regex, regex_problem
from rules.durations import DURATION_PATTERN, DurationError, parse_duration
from rules.fieldcode import field_code
from rules.fieldkinds import KIND_DOCS, KIND_SCHEMAS, TIME_COMPARE, Kind, time_bound
from rules.instants import InstantError, parse_instant
from rules.model import Item, StatusCategory
from rules.registry import Node, Problem, Trace, TypeSpec, conditions

Getter = Callable[[Item], Any]
Test = Callable[[Any], bool]


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: Kind
    getter: Getter
    attr: str  # the Item attribute, for the partial-payload check
    example: str


def _priority_name(i: Item) -> str | None:
    return i.priority.name if i.priority is not None else None


def _priority_rank(i: Item) -> int | None:
    return i.priority.rank if i.priority is not None else None


def _due(i: Item) -> datetime | None:
    d: date | None = i.due_date
    return None if d is None else datetime.combine(d, time(), tzinfo=UTC)


FIELDS = [
    FieldSpec("title", Kind.TEXT, attrgetter("title"), "title", "title: { matches: '^(Add|Fix|Remove|Update) ' }"),
    FieldSpec("description", Kind.TEXT, attrgetter("description"), "description", "description: { missing: true }"),
    FieldSpec("key", Kind.TEXT, attrgetter("key"), "key", "key: { matches: '^ENG-' }"),
    FieldSpec("type", Kind.TEXT, attrgetter("type"), "type", "type: Bug"),
    FieldSpec("team", Kind.TEXT, attrgetter("team"), "team", "team: [ENG, OPS]"),
    FieldSpec("project", Kind.TEXT, attrgetter("project"), "project", "project: { present: true }"),
    FieldSpec("parent", Kind.TEXT, attrgetter("parent"), "parent", "parent: { missing: true }"),
    FieldSpec("sprint", Kind.TEXT, attrgetter("sprint"), "sprint", "sprint: { present: true }"),
    FieldSpec("status.name", Kind.TEXT, attrgetter("status.name"), "status", "status.name: [In Review, Code Review]"),
    FieldSpec("status.category", Kind.CATEGORY, attrgetter("status.category"), "status",
              "status.category: in_progress"),
    FieldSpec("priority", Kind.TEXT, _priority_name, "priority", "priority: { in: [Highest, Urgent] }"),
    FieldSpec("priority.rank", Kind.NUMBER, _priority_rank, "priority", "priority.rank: { lte: 2 }"),
    FieldSpec("estimate", Kind.NUMBER, attrgetter("estimate"), "estimate", "estimate: { missing: true }"),
    FieldSpec("labels", Kind.SET, attrgetter("labels"), "labels", "labels: { none_of: [on-hold, blocked] }"),
    FieldSpec("assignee", Kind.PERSON, attrgetter("assignee"), "assignee", "assignee: { missing: true }"),
    FieldSpec("reporter", Kind.PERSON, attrgetter("reporter"), "reporter", "reporter: { in: [ada@example.com] }"),
    FieldSpec("created", Kind.TIME, attrgetter("created_at"), "created_at", "created: { older_than: 2 weeks }"),
    FieldSpec("updated", Kind.TIME, attrgetter("updated_at"), "updated_at", "updated: { older_than: 30 days }"),
    FieldSpec("last_activity", Kind.TIME, attrgetter("last_activity_at"), "last_activity_at",
              "last_activity: { older_than: 5 business days }"),
    FieldSpec("last_comment", Kind.TIME, attrgetter("last_comment_at"), "last_comment_at",
              "last_comment: { older_than: 3 business days }"),
    FieldSpec("status_entered", Kind.TIME, attrgetter("status_changed_at"), "status_changed_at",
              "status_entered: { older_than: 48 hours }"),
    FieldSpec("last_status_change", Kind.TIME, lambda i: None, "last_activity_at",
              "last_status_change: { older_than: 10 business days }"),
    FieldSpec("last_assignee_change", Kind.TIME, lambda i: None, "last_activity_at",
              "last_assignee_change: { newer_than: 1 days }"),
    FieldSpec("due", Kind.TIME, _due, "due_date", "due: { older_than: 0 days }"),
]
FIELD_BY_NAME = {f.name: f for f in FIELDS}
# clocks the mirror may hand over in EvalContext.last_activity_by when the Item lacks them
ACTIVITY_KINDS = {"last_activity": "any", "last_comment": "comment", "last_status_change": "status",
                  "last_assignee_change": "assignee"}


def clock_value(name: str, item: Item, ctx: Any) -> datetime | None:
    """A time field's value, falling back to the context's last human activity by kind."""
    value: datetime | None = FIELD_BY_NAME[name].getter(item)
    kind = ACTIVITY_KINDS.get(name)
    if value is None and kind is not None:
        value = ctx.last_activity_by.get(kind)
    return value
CATEGORIES = [c.value for c in StatusCategory]
DURATION_OPS = ("older_than", "at_least", "newer_than")
UTC_ZONE = ZoneInfo("UTC")  # validation only checks the form; compiling reads the rule's zone


def _validate_for(kind: Kind) -> Callable[[Any], list[Problem]]:
    def validate(value: Any) -> list[Problem]:
        ops = value if isinstance(value, dict) else {}
        problems: list[Problem] = []
        for op in ("matches", "not_matches"):
            if op in ops and (why := regex_problem(ops[op])):
                problems.append((op, why, ops[op]))
        for op in DURATION_OPS:
            if op in ops:
                try:
                    parse_duration(ops[op])
                except DurationError as exc:
                    problems.append((op, str(exc), ops[op]))
        for op in ("after", "before"):
            if op in ops:
                try:
                    parse_instant(ops[op], UTC_ZONE)
                except InstantError as exc:
                    problems.append((op, str(exc), ops[op]))
        return problems
    return validate


def _register_fields() -> None:
    for spec in FIELDS:
        doc = f"{KIND_DOCS[spec.kind]}\n\nExample::\n\n    {spec.example}\n"
        conditions.add(TypeSpec(spec.name, KIND_SCHEMAS[spec.kind], *_split(doc),
                                _field_compiler(spec), _validate_for(spec.kind), "field"))


def _split(doc: str) -> tuple[str, str]:
    from rules.registry import split_doc

    return split_doc(doc)


def _field_compiler(spec: FieldSpec) -> Callable[..., Node]:
    def compile_field(value: Any, path: str, cctx: CompileCtx) -> Node:
        cctx.fields.add(spec.attr)
        ops = _normalize_ops(spec.kind, value)
        pred = _fast_pred(spec, ops, cctx) or _generic_pred(spec, ops, cctx)
        expected = _describe(ops)
        getter = spec.getter

        def explain(i: Item, e: Any, f: Any) -> Trace:
            value = clock_value(spec.name, i, f.ctx) if spec.kind is Kind.TIME else getter(i)
            return Trace(path, spec.name, _show(value), _expected(expected, ops, cctx, f), pred(i, e, f))
        return Node(pred, explain, _pushdown_for(spec, ops, cctx), field_code(spec.name, spec.kind, getter, ops, cctx))
    return compile_field


def _normalize_ops(kind: Kind, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return {"any_of" if kind is Kind.SET else "in": value}
    return {"contains" if kind is Kind.SET else "equals": value}


def _fast_pred(spec: FieldSpec, ops: dict[str, Any], cctx: CompileCtx) -> Any:
    """Hand-tuned closures for the shapes rules use most; None falls back to generic."""
    if len(ops) != 1:
        return None
    (op, arg), = ops.items()
    if spec.kind is Kind.CATEGORY and op == "equals":
        cat = StatusCategory(arg)
        return lambda i, e, f: i.status.category is cat
    if spec.kind is Kind.CATEGORY and op == "in":
        cats = frozenset(StatusCategory(a) for a in arg)
        return lambda i, e, f: i.status.category in cats
    if spec.kind is Kind.TIME and op in TIME_COMPARE and spec.name not in ACTIVITY_KINDS:
        get, test = spec.getter, time_bound(op, arg, cctx).test()
        return lambda i, e, f: test(get(i), f)
    if spec.kind is Kind.SET and op == "none_of":
        banned = frozenset(a.casefold() for a in _as_list(arg))
        return lambda i, e, f: not any(x.casefold() in banned for x in i.labels)
    if op == "missing" and spec.kind in (Kind.PERSON, Kind.NUMBER):
        get = spec.getter
        return (lambda i, e, f: get(i) is None) if arg else (lambda i, e, f: get(i) is not None)
    return None


def _generic_pred(spec: FieldSpec, ops: dict[str, Any], cctx: CompileCtx) -> Any:
    from rules.fieldkinds import make_test

    tests = [make_test(spec.kind, op, arg, cctx) for op, arg in ops.items()]
    get = spec.getter
    if spec.name in ACTIVITY_KINDS:
        name = spec.name
        return lambda i, e, f: all(t(clock_value(name, i, f.ctx), f) for t in tests)
    if len(tests) == 1:
        only = tests[0]
        return lambda i, e, f: only(get(i), f)
    return lambda i, e, f: all(t(v, f) for v in (get(i),) for t in tests)


def _pushdown_for(spec: FieldSpec, ops: dict[str, Any], cctx: CompileCtx) -> Any:
    from rules.pushdown import field_pushdown

    return field_pushdown(spec.name, ops, cctx)


_LIMIT_WORDS = {"<": "before", "<=": "at or before", ">": "after"}


def _expected(text: str, ops: dict[str, Any], cctx: CompileCtx, f: Any) -> str:
    """For time conditions, also say the limiting instant at this evaluation's now."""
    bounds = []
    for op, arg in ops.items():
        if op in TIME_COMPARE:
            bound = time_bound(op, arg, cctx)
            limit = cctx.calendar.cutoff(f.now, parse_duration(arg)) if bound.slot is not None else bound.instant
            bounds.append(f"{op.replace('_', ' ')} {arg} ({_LIMIT_WORDS[bound.symbol]} {_show(limit)})")
    return ", ".join(bounds) if bounds else text


def _describe(ops: dict[str, Any]) -> str:
    return ", ".join(describe_op(op, arg) for op, arg in ops.items())


def describe_op(op: str, arg: Any) -> str:
    """'missing', 'present', 'older than 5 business days', 'in [a, b]'."""
    if op in ("missing", "present") and isinstance(arg, bool):
        return op if arg else ("present" if op == "missing" else "missing")
    return f"{op.replace('_', ' ')} {_show(arg)}"


def _show(value: Any) -> Any:
    """A short human form of a field value for explain output."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, (list, tuple, frozenset)):
        return "[" + ", ".join(str(_show(v)) for v in value) + "]"
    if isinstance(value, StatusCategory):
        return value.value
    person_name = getattr(value, "name", None) if hasattr(value, "kind") else None
    if person_name is not None or hasattr(value, "email"):
        return person_name or getattr(value, "email", None) or getattr(value, "id", "?")
    return value


def _as_list(arg: Any) -> list[Any]:
    return list(arg) if isinstance(arg, (list, tuple)) else [arg]


_register_fields()
__all__ = ["CATEGORIES", "DURATION_PATTERN", "FIELDS", "FIELD_BY_NAME", "LABEL_PATTERN", "compile_regex"]
