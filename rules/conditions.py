"""Field conditions: one registered type per Item field, its operators set by its kind.

A field condition is `field: value` (shorthand for equals, or `in` for a list) or
`field: {operator: value, ...}` where every operator must hold. Fields are read through
fixed accessors chosen at compile time; a user string never picks an attribute.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from rules.codegen import lazy_pred
from rules.compilectx import LABEL_PATTERN, CompileCtx, compile_regex, regex_problem
from rules.durations import DURATION_PATTERN, DurationError, parse_duration
from rules.fieldcode import field_code
from rules.fieldkinds import KIND_DOCS, KIND_SCHEMAS, Kind, normalize_ops, time_bound
from rules.instants import InstantError, parse_instant
from rules.model import EvalContext, Item, Priority, Status, StatusCategory
from rules.registry import Node, Problem, Trace, TypeSpec, conditions

Reader = Callable[[Item, Any], Any]  # (item, EvalContext) -> the field's value
_NO_CONTEXT = EvalContext()


@dataclass(frozen=True)
class FieldSpec:
    """One Item field as rules see it. `value` is a Python expression over `i` (the item) and
    `ctx` (the EvalContext), or a function of the item for what an expression cannot say;
    the condition's code, explain's reading and the rule clocks all derive from it."""

    name: str
    kind: Kind
    value: str | Callable[[Item], Any]
    attr: str  # the Item attribute, for the partial-payload check
    example: str

    def code(self, gen: Any) -> str:
        """The value as an expression in generated code (where the context is `f.ctx`)."""
        if callable(self.value):
            return f"{gen.const(self.value)}(i)"
        return _in_frame(self.value)

    @property
    def read(self) -> Reader:
        return _reader(self.value)

    def getter(self, item: Item) -> Any:
        """The value the item itself carries, without what the mirror hands over."""
        return _reader(self.value)(item, _NO_CONTEXT)


@cache
def _in_frame(source: str) -> str:
    tree = ast.parse(source, mode="eval")
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "ctx":
            node.id = "f.ctx"
    return ast.unparse(tree)


@cache
def _reader(value: str | Callable[[Item], Any]) -> Reader:
    if callable(value):
        get = value
        return lambda i, ctx: get(i)
    reader: Reader = eval(compile(f"lambda i, ctx: {value}", "<field>", "eval"), {"__builtins__": {}})
    return reader


def _due(i: Item) -> datetime | None:
    d: date | None = i.due_date
    return None if d is None else datetime.combine(d, time(), tzinfo=UTC)


def _plain(kind: Kind, *examples: str, suffix: str = "") -> list[FieldSpec]:
    """Fields read straight from an Item attribute, one per example: `sprint.state: active` reads
    `i.sprint_state` (dots become underscores, plus `suffix`)."""
    specs = []
    for example in examples:
        name = example.split(":", 1)[0]
        attr = name.replace(".", "_") + suffix
        specs.append(FieldSpec(name, kind, f"i.{attr}", attr, example))
    return specs


FIELDS = [
    *_plain(Kind.TEXT, "title: { matches: '^(Add|Fix|Remove|Update) ' }", "description: { missing: true }",
            "key: { matches: '^ENG-' }", "type: Bug", "team: [ENG, OPS]", "project: { present: true }",
            "parent: { missing: true }", "sprint: { present: true }", "sprint.state: [active, upcoming]",
            "project.state: { in: [paused, canceled] }"),
    *_plain(Kind.NAMES, "milestones: { none_of: [v2.0, Release 3] }"),
    *_plain(Kind.NUMBER, "subtasks: { gt: 0 }"),
    FieldSpec("status.name", Kind.TEXT, "i.status.name", "status", "status.name: [In Review, Code Review]"),
    FieldSpec("status.category", Kind.CATEGORY, "i.status.category", "status", "status.category: in_progress"),
    FieldSpec("priority", Kind.TEXT, "(None if i.priority is None else i.priority.name)", "priority",
              "priority: { in: [Highest, Urgent] }"),
    FieldSpec("priority.rank", Kind.NUMBER, "(None if i.priority is None else i.priority.rank)", "priority",
              "priority.rank: { lte: 2 }"),
    *_plain(Kind.NUMBER, "estimate: { missing: true }"),
    *_plain(Kind.SET, "labels: { none_of: [on-hold, blocked] }"),
    *_plain(Kind.PERSON, "assignee: { missing: true }", "reporter: { in: [ada@example.com] }"),
    *_plain(Kind.TIME, "created: { older_than: 2 weeks }", "updated: { older_than: 30 days }", suffix="_at"),
    # activity clocks: the mirror may hand them over in EvalContext.last_activity_by instead
    FieldSpec("last_activity", Kind.TIME, "i.last_activity_at or ctx.last_activity_by.get('any')",
              "last_activity_at", "last_activity: { older_than: 5 business days }"),
    FieldSpec("last_comment", Kind.TIME, "i.last_comment_at or ctx.last_activity_by.get('comment')",
              "last_comment_at", "last_comment: { older_than: 3 business days }"),
    FieldSpec("status_entered", Kind.TIME, "i.status_changed_at", "status_changed_at",
              "status_entered: { older_than: 48 hours }"),
    FieldSpec("last_status_change", Kind.TIME, "ctx.last_activity_by.get('status')", "last_activity_at",
              "last_status_change: { older_than: 10 business days }"),
    FieldSpec("last_assignee_change", Kind.TIME, "ctx.last_activity_by.get('assignee')", "last_activity_at",
              "last_assignee_change: { newer_than: 1 days }"),
    FieldSpec("due", Kind.TIME, _due, "due_date", "due: { older_than: 0 days }"),
]
FIELD_BY_NAME = {f.name: f for f in FIELDS}
# the activity clocks, by the kind of human activity the mirror hands over for each
ACTIVITY_KINDS = {"last_activity": "any", "last_comment": "comment", "last_status_change": "status",
                  "last_assignee_change": "assignee"}


def clock_value(name: str, item: Item, ctx: Any) -> datetime | None:
    """A time field's value, as the rule's conditions read it."""
    value: datetime | None = FIELD_BY_NAME[name].read(item, ctx)
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


TIME_PROBLEMS = _validate_for(Kind.TIME)  # durations and dates a schema pattern cannot check fully


# custom fields are conditions named `custom.<name>`, <name> as JIRA_FIELD_MAP names it
CUSTOM_PREFIX = "custom."
CUSTOM_PATTERN = r"^custom\.[A-Za-z0-9_]{1,64}$"


def custom_field(name: str) -> FieldSpec:
    """The field `custom.<key>`: the item's mapped custom field `key` (unknown when a partial
    payload did not carry it, as the normalizers mark `custom.<key>`)."""
    key = name[len(CUSTOM_PREFIX):]

    def read(i: Item) -> Any:
        value = i.custom.get(key)
        return tuple(value) if isinstance(value, list) else value  # the mirror's JSON gives lists
    return FieldSpec(name, Kind.CUSTOM, read, name, f"{name}: {{ in: [S1, S2] }}")


def _type_spec(spec: FieldSpec) -> TypeSpec:
    doc = f"{KIND_DOCS[spec.kind]}\n\nExample::\n\n    {spec.example}\n"
    return TypeSpec(spec.name, KIND_SCHEMAS[spec.kind], *_split(doc), _field_compiler(spec),
                    _validate_for(spec.kind), "field")


def _register_fields() -> None:
    for spec in FIELDS:
        conditions.add(_type_spec(spec))
    template = _type_spec(FieldSpec("custom.<name>", Kind.CUSTOM, lambda i: None, "custom",
                                    "custom.severity: { in: [S1, S2] }"))
    conditions.add_family(CUSTOM_PATTERN, template, lambda name: _type_spec(custom_field(name)))


def _split(doc: str) -> tuple[str, str]:
    from rules.registry import split_doc

    return split_doc(doc)


def _field_compiler(spec: FieldSpec) -> Callable[..., Node]:
    def compile_field(value: Any, path: str, cctx: CompileCtx) -> Node:
        cctx.fields.add(spec.attr)
        ops = normalize_ops(spec.kind, value)
        code = field_code(spec.kind, spec.code, ops, cctx)
        pred = lazy_pred(code)
        expected = _describe(ops)
        read = spec.read

        def explain(i: Item, e: Any, f: Any) -> Trace:
            return Trace(path, spec.name, _show(read(i, f.ctx)), _expected(expected, ops, cctx, f), pred(i, e, f))
        return Node(pred, explain, _pushdown_for(spec, ops, cctx), code)
    return compile_field


def _pushdown_for(spec: FieldSpec, ops: dict[str, Any], cctx: CompileCtx) -> Any:
    from rules.pushdown import field_pushdown

    return field_pushdown(spec.name, ops, cctx)


_LIMIT_WORDS = {"older_than": "before", "at_least": "at or before", "newer_than": "after", "after": "after",
                "before": "before"}


def _expected(text: str, ops: dict[str, Any], cctx: CompileCtx, f: Any) -> str:
    """For time conditions, also say the limiting instant at this evaluation's now."""
    bounds = []
    for op, arg in ops.items():
        if op not in _LIMIT_WORDS:
            continue
        bound = time_bound(op, arg, cctx)
        limit = f.cut[bound.slot] if bound.slot is not None else bound.instant
        bounds.append(f"{op.replace('_', ' ')} {arg} ({_LIMIT_WORDS[op]} {_show(limit)})")
    return ", ".join(bounds) if bounds else text


def _describe(ops: dict[str, Any]) -> str:
    return ", ".join(describe_op(op, arg) for op, arg in ops.items())


def describe_op(op: str, arg: Any) -> str:
    """'missing', 'present', 'older than 5 business days', 'in [a, b]'."""
    if op in ("missing", "present") and isinstance(arg, bool):
        return op if arg else ("present" if op == "missing" else "missing")
    return f"{op.replace('_', ' ')} {_show(arg)}"


def show(value: Any) -> Any:
    """A value as a person writes it, for explain: 'In Progress', 'Ada', '[api, ux]', '—'."""
    return _show(value)


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
    if isinstance(value, Status):
        return value.name or value.category.value
    if isinstance(value, Priority):
        return value.name
    person_name = getattr(value, "name", None) if hasattr(value, "kind") else None
    if person_name is not None or hasattr(value, "email"):
        return person_name or getattr(value, "email", None) or getattr(value, "id", "?")
    return value


_register_fields()
__all__ = ["CATEGORIES", "DURATION_PATTERN", "FIELDS", "FIELD_BY_NAME", "LABEL_PATTERN", "compile_regex"]
