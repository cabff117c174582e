"""Kinds of Item fields (text, number, labels, person, time…) and their operators."""

from __future__ import annotations

import enum
import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rules.compilectx import LABEL_PATTERN, CompileCtx, compile_regex
from rules.durations import DURATION_PATTERN, parse_duration
from rules.instants import INSTANT_PATTERN, parse_instant
from rules.model import StatusCategory

CATEGORIES = [c.value for c in StatusCategory]
ValueTest = Callable[[Any, Any], bool]  # (field value, frame) -> bool


class Kind(str, enum.Enum):
    TEXT = "text"
    CATEGORY = "category"
    NUMBER = "number"
    SET = "set"
    PERSON = "person"
    TIME = "time"


_SCALAR = {"type": ["string", "number"]}
_SCALARS = {"type": "array", "items": _SCALAR, "minItems": 1}
_CAT = {"enum": CATEGORIES}
_CATS = {"type": "array", "items": _CAT, "minItems": 1}
_NUM = {"type": "number"}
LABEL = {"type": "string", "pattern": LABEL_PATTERN}
_LABELS = {"type": "array", "items": LABEL, "minItems": 1}
DURATION = {"type": "string", "pattern": DURATION_PATTERN}
INSTANT = {"type": "string", "pattern": INSTANT_PATTERN}
_BOOL = {"type": "boolean"}
_PRESENCE = {"missing": _BOOL, "present": _BOOL}


def _ops(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": {**props, **_PRESENCE}, "additionalProperties": False,
            "minProperties": 1}


KIND_SCHEMAS: dict[Kind, dict[str, Any]] = {
    Kind.TEXT: {"anyOf": [_SCALAR, _SCALARS, _ops(
        equals=_SCALAR, not_equals=_SCALAR, **{"in": _SCALARS}, not_in=_SCALARS,
        matches={"type": "string"}, not_matches={"type": "string"}, contains={"type": "string"})]},
    Kind.CATEGORY: {"anyOf": [_CAT, _CATS, {
        "type": "object", "additionalProperties": False, "minProperties": 1,
        "properties": {"equals": _CAT, "not_equals": _CAT, "in": _CATS, "not_in": _CATS}}]},
    Kind.NUMBER: {"anyOf": [_NUM, _ops(eq=_NUM, ne=_NUM, lt=_NUM, lte=_NUM, gt=_NUM, gte=_NUM,
                                       **{"in": {"type": "array", "items": _NUM, "minItems": 1}})]},
    Kind.SET: {"anyOf": [LABEL, _LABELS, _ops(
        contains={"anyOf": [LABEL, _LABELS]}, any_of=_LABELS, all_of=_LABELS, none_of=_LABELS,
        matches={"type": "string"})]},
    Kind.PERSON: {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1},
                            _ops(equals={"type": "string"}, **{"in": {"type": "array", "items": {"type": "string"}}},
                                 not_in={"type": "array", "items": {"type": "string"}})]},
    Kind.TIME: _ops(older_than=DURATION, at_least=DURATION, newer_than=DURATION, after=INSTANT, before=INSTANT),
}

KIND_DOCS = {
    Kind.TEXT: "Text field. Operators: equals, not_equals, in, not_in, matches / not_matches (RE2 regex), "
               "contains (substring), missing, present. Comparison ignores case.",
    Kind.CATEGORY: "Status category: todo, in_progress, done, canceled or unknown (Jira's 'undefined'). "
                   "Operators: equals, not_equals, in, not_in.",
    Kind.NUMBER: "Number field. Operators: eq, ne, lt, lte, gt, gte, in, missing, present; "
                 "an unset value satisfies no comparison.",
    Kind.SET: "Labels. Operators: contains (one label, or all of a list), any_of, all_of, none_of, "
              "matches (any label matches the regex), missing (no labels), present. Case is ignored.",
    Kind.PERSON: "A person, matched by account id, email or display name. Operators: equals, in, not_in, "
                 "missing (unassigned), present.",
    Kind.TIME: "A point in time. older_than: more than the duration ago (strict: exactly 3 × 24 h is not "
               "older than 3 days); at_least: that long ago or more; newer_than: less than that long ago. "
               "Durations in minutes, hours, days (24 h each, also across daylight saving), weeks, "
               "business days (the rule's calendar) or months (calendar months in the rule's timezone). "
               "after / before: strictly after / before a date (midnight in the rule's timezone) or a date "
               "and time. missing; present. Activity clocks (last_activity, last_comment, "
               "last_status_change, last_assignee_change) count only people: bots and Flowkeeper's own "
               "writes never reset them.",
}


def is_missing(v: Any) -> bool:
    return v is None or v == "" or v == ()


def make_test(kind: Kind, op: str, arg: Any, cctx: CompileCtx) -> ValueTest:
    """One operator as a closure over the field value; built once at compile time."""
    if op == "missing":
        return (lambda v, f: is_missing(v)) if arg else (lambda v, f: not is_missing(v))
    if op == "present":
        return (lambda v, f: not is_missing(v)) if arg else (lambda v, f: is_missing(v))
    maker = {Kind.TEXT: _text, Kind.CATEGORY: _category, Kind.NUMBER: _number, Kind.SET: _set,
             Kind.PERSON: _person, Kind.TIME: _time}[kind]
    return maker(op, arg, cctx)


def _fold(v: Any) -> str:
    return str(v).casefold()


def _text(op: str, arg: Any, cctx: CompileCtx) -> ValueTest:
    if op in ("matches", "not_matches"):
        rx, want = compile_regex(arg), op == "matches"
        return lambda v, f: v is not None and (rx.search(str(v)) is not None) is want
    if op == "contains":
        needle = _fold(arg)
        return lambda v, f: v is not None and needle in _fold(v)
    values = frozenset(_fold(a) for a in (arg if isinstance(arg, list) else [arg]))
    if op in ("equals", "in"):
        return lambda v, f: v is not None and _fold(v) in values
    return lambda v, f: v is None or _fold(v) not in values  # not_equals / not_in


def _category(op: str, arg: Any, cctx: CompileCtx) -> ValueTest:
    cats = frozenset(StatusCategory(a) for a in (arg if isinstance(arg, list) else [arg]))
    if op in ("equals", "in"):
        return lambda v, f: v in cats
    return lambda v, f: v not in cats


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b, "gt": lambda a, b: a > b, "gte": lambda a, b: a >= b,
}


def _number(op: str, arg: Any, cctx: CompileCtx) -> ValueTest:
    if op == "in":
        allowed = frozenset(arg)
        return lambda v, f: v is not None and v in allowed
    cmp = _COMPARE[op]
    return lambda v, f: v is not None and cmp(v, arg)


def _set(op: str, arg: Any, cctx: CompileCtx) -> ValueTest:
    if op == "matches":
        rx = compile_regex(arg)
        return lambda v, f: any(rx.search(x) is not None for x in v)
    wanted = frozenset(_fold(a) for a in (arg if isinstance(arg, list) else [arg]))
    if op == "none_of":
        return lambda v, f: not any(_fold(x) in wanted for x in v)
    if op == "any_of":
        return lambda v, f: any(_fold(x) in wanted for x in v)
    return lambda v, f: wanted <= {_fold(x) for x in v}  # contains / all_of


def person_keys(p: Any) -> set[str]:
    return {_fold(x) for x in (p.id, p.email, p.name) if x}


def _person(op: str, arg: Any, cctx: CompileCtx) -> ValueTest:
    wanted = frozenset(_fold(a) for a in (arg if isinstance(arg, list) else [arg]))
    if op in ("equals", "in"):
        return lambda v, f: v is not None and bool(person_keys(v) & wanted)
    return lambda v, f: v is None or not (person_keys(v) & wanted)


# how a time operator compares the field's value with its limit (a cutoff or a fixed instant)
TIME_COMPARE = {"older_than": "<", "at_least": "<=", "newer_than": ">", "after": ">", "before": "<"}
_COMPARE_BY_SYMBOL: dict[str, Callable[[Any, Any], bool]] = {"<": operator.lt, "<=": operator.le, ">": operator.gt}


@dataclass(frozen=True)
class TimeBound:
    """One time operator compiled: compare the value with a cutoff slot or a fixed instant."""

    op: str
    symbol: str
    slot: int | None
    instant: datetime | None

    def test(self) -> ValueTest:
        cmp, k, at = _COMPARE_BY_SYMBOL[self.symbol], self.slot, self.instant
        if k is None:
            return lambda v, f: v is not None and cmp(v, at)
        return lambda v, f: v is not None and cmp(v, f.cut[k])


def time_bound(op: str, arg: Any, cctx: CompileCtx) -> TimeBound:
    if op in ("after", "before"):
        return TimeBound(op, TIME_COMPARE[op], None, parse_instant(arg, cctx.calendar.tz))
    return TimeBound(op, TIME_COMPARE[op], cctx.slot(parse_duration(arg)), None)


def _time(op: str, arg: Any, cctx: CompileCtx) -> ValueTest:
    return time_bound(op, arg, cctx).test()
