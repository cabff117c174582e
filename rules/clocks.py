"""Clocks: the instants a rule measures time from, each one registered type with its source.

Besides the Item's time fields (`created`, `last_activity`, …) a policy measures from
when a label was put on, when a field last changed, when one party last acted, or the
later of two clocks. Each clock type is registered once: it becomes a condition
(`label_added: { label: stale, older_than: 7 days }`), a rule's `clock:` (escalation steps
and the `age` filter count from it) and a line in `explain` saying its value and where
that came from. The values come from the mirror's history through `EvalContext.clocks`,
keyed by the functions below, so the engine stays pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rules.compilectx import LABEL_PATTERN, CompileCtx
from rules.conditions import TIME_PROBLEMS as time_problems
from rules.conditions import clock_value
from rules.fieldkinds import KIND_SCHEMAS, Kind, make_test
from rules.model import EvalContext, Item
from rules.registry import Frame, Node, Registry, Trace, TypeSpec, conditions, split_doc

TIME_FIELDS = ["last_activity", "last_comment", "last_status_change", "last_assignee_change", "status_entered",
               "updated", "created"]
PARTIES = ["reporter", "assignee", "others"]
HISTORY = "clocks"  # in a rule's fields_read: the judge must read the history clocks for it
SUBTASKS = "subtasks"  # in a rule's fields_read: the judge must read the sub-tasks' clocks too
ACTIVITY_FIELDS = frozenset({"last_activity", "last_comment", "last_status_change", "last_assignee_change"})


def label_key(label: str) -> str:
    """When `label` was last put on the item, by anyone (Flowkeeper included)."""
    return f"label:{label.casefold()}"


def field_key(field: str) -> str:
    """When `field` last changed, by a person or a bot (not by Flowkeeper)."""
    return f"field:{field.casefold()}"


def subtask_key(field: str) -> str:
    """The latest value of a time field over the item's sub-tasks (sub-issues)."""
    return f"sub:{field}"


def reads_subtasks(clock_name: str) -> bool:
    """Whether a clock (as `describe_clock` names it) rolls sub-tasks up, also inside `later_of`."""
    return "with_subtasks(" in clock_name


def actor_key(actor_id: str) -> str:
    """The last activity of one person."""
    return f"by:{actor_id}"


@dataclass(frozen=True, slots=True)
class Reading:
    """A clock's value at one evaluation, and where it came from (for explain)."""

    at: datetime | None
    source: str


Reader = Callable[[Item, EvalContext], Reading]
clocks = Registry("clock")


def _history(ctx: EvalContext, key: str, what: str) -> Reading:
    at = ctx.clocks.get(key)
    return Reading(at, f"mirror history: {what}" if at is not None else f"mirror history: no {what} recorded")


@clocks.register("label_added", {"type": "string", "pattern": LABEL_PATTERN})
def label_added(label: str) -> Reader:
    """When a label was last put on the item, by anyone — a person, a bot or Flowkeeper
    (actions/stale counts its close window from its own label).

    Example::

        label_added: stale
    """
    key = label_key(label)
    return lambda item, ctx: _history(ctx, key, f"'{label}' added")


@clocks.register("field_changed", {"type": "string", "minLength": 1})
def field_changed(field: str) -> Reader:
    """When a field last changed (priority, estimate, a mapped custom field…), by a person
    or a bot; Flowkeeper's own writes do not count. E.g. an SLA from a priority raise.

    Example::

        field_changed: priority
    """
    key = field_key(field)
    return lambda item, ctx: _history(ctx, key, f"change of {field}")


@clocks.register("activity_by", {"enum": PARTIES})
def activity_by(party: str) -> Reader:
    """The last activity of one party: the item's `reporter`, its `assignee`, or `others`
    (anyone but the assignee). Only people count, as for `last_activity`.

    Example::

        activity_by: reporter
    """
    def read(item: Item, ctx: EvalContext) -> Reading:
        if party == "others":
            mine = actor_key(item.assignee.id) if item.assignee is not None else None
            times = [at for key, at in ctx.clocks.items() if key.startswith("by:") and key != mine]
            return Reading(max(times, default=None), "mirror history: last activity by anyone but the assignee")
        person = item.reporter if party == "reporter" else item.assignee
        if person is None:
            return Reading(None, f"the item has no {party}")
        return _history(ctx, actor_key(person.id), f"activity by the {party} ({person.name or person.id})")
    return read


@clocks.register("with_subtasks", {"enum": TIME_FIELDS})
def with_subtasks(field: str) -> Reader:
    """A time field rolled up from the item's sub-tasks (Jira sub-tasks and child issues, Linear
    sub-issues): the later of the item's own value and its sub-tasks', as Apache Flink's Jira bot
    asks that "neither itself nor its sub-tasks have been updated". Sub-tasks are the mirrored
    items whose parent is this item.

    Example::

        with_subtasks: last_activity
    """
    own, key = _field_reader(field), subtask_key(field)

    def read(item: Item, ctx: EvalContext) -> Reading:
        mine, theirs = own(item, ctx), ctx.clocks.get(key)
        if theirs is not None and (mine.at is None or theirs > mine.at):
            return Reading(theirs, f"mirror: a sub-task's {field}, later than the item's own")
        tail = "no sub-task's is later" if theirs is not None else "no sub-task in the mirror"
        return Reading(mine.at, f"the item's own {field} ({mine.source}); {tail}")
    return read


@clocks.register("later_of", {"type": "array", "minItems": 2, "items": {"$ref": "#/$defs/clock"}})
def later_of(refs: list[Any]) -> Reader:
    """The later of two or more clocks: the time fields by name, or clocks like `label_added`.

    Example::

        later_of: [last_activity, { label_added: stale }]
    """
    readers = [(describe_clock(ref), clock_reader(ref)) for ref in refs]

    def read(item: Item, ctx: EvalContext) -> Reading:
        readings = [(name, reader(item, ctx)) for name, reader in readers]
        known = [(name, r) for name, r in readings if r.at is not None]
        if not known:
            return Reading(None, "none of " + ", ".join(name for name, _ in readings) + " is known")
        name, latest = max(known, key=lambda nr: nr[1].at)  # type: ignore[arg-type,return-value]
        return Reading(latest.at, f"later of {', '.join(n for n, _ in readings)}: {name} ({latest.source})")
    return read


def describe_clock(ref: Any) -> str:
    """'last_activity', 'label_added(stale)', 'later_of(last_activity, label_added(stale))'."""
    if isinstance(ref, str):
        return ref
    (name, arg), = ref.items()
    inner = ", ".join(describe_clock(a) for a in arg) if isinstance(arg, list) else str(arg)
    return f"{name}({inner})"


def clock_reader(ref: Any) -> Reader:
    """A reader for a clock reference: a time field's name or a one-key clock mapping."""
    if isinstance(ref, str):
        return _field_reader(ref)
    (name, arg), = ref.items()
    spec = clocks.get(name)
    assert spec is not None, name  # the schema allows registered clocks only
    reader: Reader = spec.compile(arg)
    return reader


def _field_reader(name: str) -> Reader:
    from_mirror = name in ACTIVITY_FIELDS

    def read(item: Item, ctx: EvalContext) -> Reading:
        at = clock_value(name, item, ctx)
        if at is None:
            return Reading(None, "not known")
        if name == "last_activity":
            return Reading(at, _activity_source(at, ctx.last_activity_by))
        return Reading(at, "mirror: last human activity" if from_mirror else "the tracker's item")
    return read


def _activity_source(at: datetime, by: Mapping[str, datetime]) -> str:
    """Where `last_activity` came from: a person's entry, the creation, or a first sight's estimate."""
    if at == by.get("created") and at != by.get("seen"):
        return "mirror: the item's creation; no person's activity recorded since"
    if at == by.get("seen"):
        return ("mirror: first seen by a sweep or sync: the last person's entry in the tracker's record, "
                "else its creation (an estimate)")
    return "mirror: last human activity"


def clock_schema() -> dict[str, Any]:
    """A clock reference in rule files: a time field's name or one registered clock type."""
    props = {spec.name: {**spec.schema, "description": spec.doc} for spec in clocks.specs()}
    return {"anyOf": [{"enum": TIME_FIELDS},
                      {"type": "object", "minProperties": 1, "maxProperties": 1, "properties": props,
                       "additionalProperties": False}]}


# ---- each clock is also a condition: `label_added: { label: stale, older_than: 7 days }` ----

_PARAM = {"label_added": "label", "field_changed": "field", "activity_by": "party", "later_of": "clocks",
          "with_subtasks": "clock"}
_TIME_OPS = KIND_SCHEMAS[Kind.TIME]["properties"]


def _condition(spec: TypeSpec) -> TypeSpec:
    param = _PARAM[spec.name]
    schema = {"type": "object", "additionalProperties": False, "required": [param], "minProperties": 2,
              "properties": {param: spec.schema, **_TIME_OPS}}
    value = spec.example.split(":", 1)[1].strip()
    example = f"{spec.name}: {{ {param}: {value}, older_than: 7 days }}\n"
    prose = (f"{spec.doc}\n\nCompared like any time: older_than, at_least, newer_than, after, before, "
             "missing, present.")

    def compile_condition(arg: dict[str, Any], path: str, cctx: CompileCtx) -> Node:
        reader = spec.compile(arg[param])
        tests = [make_test(Kind.TIME, op, a, cctx) for op, a in arg.items() if op != param]
        label = describe_clock({spec.name: arg[param]})
        expected = ", ".join(f"{op.replace('_', ' ')} {a}" for op, a in arg.items() if op != param)
        cctx.fields.add(HISTORY)
        if reads_subtasks(label):
            cctx.fields.add(SUBTASKS)
        if spec.name == "activity_by":
            cctx.fields.update({"reporter", "assignee"})

        def pred(i: Item, e: Any, f: Frame) -> bool:
            at = reader(i, f.ctx).at
            return all(t(at, f) for t in tests)

        def explain(i: Item, e: Any, f: Frame) -> Trace:
            reading = reader(i, f.ctx)
            shown = reading.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if reading.at is not None else "—"
            return Trace(path, label, f"{shown} ({reading.source})", expected, pred(i, e, f))
        return Node(pred, explain)
    return TypeSpec(spec.name, schema, prose, example, compile_condition, time_problems, "clock")


def _register_conditions() -> None:
    for spec in clocks.specs():
        conditions.add(_condition(spec))


_register_conditions()
__all__ = ["SUBTASKS", "Reading", "actor_key", "clock_reader", "clock_schema", "clocks", "describe_clock", "field_key",
           "label_key", "reads_subtasks", "split_doc", "subtask_key"]
