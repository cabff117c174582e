"""Kinds of Item fields (text, number, labels, person, time…) and their operators, each defined once.

An operator is one `Operator`: the schema of its argument, how the argument is prepared at
compile time, and its test as a Python expression over `v` (the field's value), `a` (the
prepared argument) and `f` (the evaluation frame). Everything else is derived from that
one definition: the JSON Schema and docs of every field of the kind, the closure
`make_test` returns, and the fused code rules.fieldcode generates. A new operator is one
`_op(...)` line.
"""

from __future__ import annotations

import ast
import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
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
    NAMES = "names"  # a list of names that may hold spaces (milestones / fix versions)
    PERSON = "person"
    TIME = "time"
    CUSTOM = "custom"  # a tracker's custom field: text, a number, or a list of values


def person_keys(p: Any) -> set[str]:
    return {str(x).casefold() for x in (p.id, p.email, p.name) if x}


# names an operator's test may use besides v, a and f
HELPERS: dict[str, Any] = {"str": str, "any": any, "bool": bool, "type": type, "tuple": tuple, "int": int,
                           "float": float, "person_keys": person_keys}


@dataclass(frozen=True)
class Operator:
    kind: Kind
    name: str
    schema: dict[str, Any]
    test: str  # a Python expression over v, a, f and HELPERS
    prepare: Callable[[Any, CompileCtx], Any]
    doc: str = ""

    @property
    def tree(self) -> ast.expr:
        return _parsed(self.test)


@cache
def _parsed(test: str) -> ast.expr:
    return ast.parse(test, mode="eval").body


@dataclass(frozen=True)
class KindSpec:
    """What a kind shares: its prose, the shorthand operators and what 'missing' means for it."""

    doc: str
    scalar_op: str | None  # `field: x` means {scalar_op: x}
    list_op: str | None  # `field: [x, y]` means {list_op: [x, y]}
    missing: str | None  # the expression for "no value" (None: the kind has no missing/present)


KINDS: dict[Kind, KindSpec] = {
    Kind.TEXT: KindSpec("Text field. Comparison ignores case.", "equals", "in", "v is None or v == ''"),
    Kind.CATEGORY: KindSpec("Status category: todo, in_progress, done, canceled or unknown (Jira's 'undefined').",
                            "equals", "in", None),
    Kind.NUMBER: KindSpec("Number field; an unset value satisfies no comparison.", "eq", "in", "v is None"),
    Kind.SET: KindSpec("Labels. Case is ignored.", "contains", "any_of", "not v"),
    Kind.NAMES: KindSpec("A list of names (they may hold spaces), as labels are matched. Case is ignored.",
                         "contains", "any_of", "not v"),
    Kind.PERSON: KindSpec("A person, matched by account id, email or display name.", "equals", "in", "v is None"),
    Kind.TIME: KindSpec(
        "A point in time. Durations in minutes, hours, days (24 h each, also across daylight saving), weeks, "
        "business days (the rule's calendar) or months (calendar months in the rule's timezone). Activity "
        "clocks (last_activity, last_comment, last_status_change, last_assignee_change) count only people: "
        "bots (also the accounts FLOWKEEPER_BOT_ACCOUNTS lists) and Flowkeeper's own writes never reset them, "
        "so an item only bots touched counts from its creation.", None, None, "v is None"),
    Kind.CUSTOM: KindSpec(
        "A Jira custom field named in JIRA_FIELD_MAP, read as text (a select option by its value, a user by "
        "account id), a number, or a list of those (multi-select: a text operator holds when one value "
        "does). Comparison ignores case.", "equals", "in", "v is None or v == '' or v == ()"),
}

OPERATORS: dict[Kind, dict[str, Operator]] = {kind: {} for kind in Kind}


def _op(kinds: Kind | tuple[Kind, ...], name: str, schema: dict[str, Any], test: str,
        prepare: Callable[[Any, CompileCtx], Any] = lambda arg, cctx: arg, doc: str = "") -> None:
    for kind in kinds if isinstance(kinds, tuple) else (kinds,):
        if name in OPERATORS[kind]:
            raise ValueError(f"operator '{name}' defined twice for {kind.value}")
        OPERATORS[kind][name] = Operator(kind, name, schema, test, prepare, doc)


def _listed(arg: Any) -> list[Any]:
    return arg if isinstance(arg, list) else [arg]


def _folded(arg: Any, cctx: CompileCtx) -> frozenset[str]:
    return frozenset(str(a).casefold() for a in _listed(arg))


def _categories(arg: Any, cctx: CompileCtx) -> tuple[StatusCategory, ...]:
    """A tuple, not a set: `in` then compares by identity first, and never calls the enum's hash."""
    return tuple(dict.fromkeys(StatusCategory(a) for a in _listed(arg)))


def _search(arg: Any, cctx: CompileCtx) -> Any:
    return compile_regex(arg).search


def _slot(arg: Any, cctx: CompileCtx) -> int:
    return cctx.slot(parse_duration(arg))


def _instant(arg: Any, cctx: CompileCtx) -> Any:
    return parse_instant(arg, cctx.calendar.tz)


_SCALAR = {"type": ["string", "number"]}
_SCALARS = {"type": "array", "items": _SCALAR, "minItems": 1}
_CAT = {"enum": CATEGORIES}
_CATS = {"type": "array", "items": _CAT, "minItems": 1}
_NUM = {"type": "number"}
_NUMS = {"type": "array", "items": _NUM, "minItems": 1}
LABEL = {"type": "string", "pattern": LABEL_PATTERN}
DURATION = {"type": "string", "pattern": DURATION_PATTERN}
INSTANT = {"type": "string", "pattern": INSTANT_PATTERN}
_TEXT = {"type": "string"}
_TEXTS = {"type": "array", "items": _TEXT, "minItems": 1}
_BOOL = {"type": "boolean"}
T, C, N, S, NM, P, TM, CU = (Kind.TEXT, Kind.CATEGORY, Kind.NUMBER, Kind.SET, Kind.NAMES, Kind.PERSON, Kind.TIME,
                             Kind.CUSTOM)
_EACH = "(v if type(v) is tuple else (v,))"  # a custom field's values, one or many

_op(T, "equals", _SCALAR, "v is not None and str(v).casefold() in a", _folded)
_op(T, "not_equals", _SCALAR, "v is None or str(v).casefold() not in a", _folded)
_op(T, "in", _SCALARS, "v is not None and str(v).casefold() in a", _folded)
_op(T, "not_in", _SCALARS, "v is None or str(v).casefold() not in a", _folded)
_op(T, "matches", _TEXT, "v is not None and a(str(v)) is not None", _search, "RE2 regex")
_op(T, "not_matches", _TEXT, "v is not None and a(str(v)) is None", _search, "RE2 regex")
_op(T, "contains", _TEXT, "v is not None and a in str(v).casefold()", lambda x, c: str(x).casefold(), "substring")
_op(C, "equals", _CAT, "v in a", _categories)
_op(C, "not_equals", _CAT, "v not in a", _categories)
_op(C, "in", _CATS, "v in a", _categories)
_op(C, "not_in", _CATS, "v not in a", _categories)
for _name, _symbol in (("eq", "=="), ("ne", "!="), ("lt", "<"), ("lte", "<="), ("gt", ">"), ("gte", ">=")):
    _op(N, _name, _NUM, f"v is not None and v {_symbol} a")
_op(N, "in", _NUMS, "v is not None and v in a", lambda x, c: frozenset(x))
for _kind, _one in ((S, LABEL), (NM, _TEXT)):  # labels, and names that may hold spaces: one set of tests
    _many = {"type": "array", "items": _one, "minItems": 1}
    _op(_kind, "contains", {"anyOf": [_one, _many]}, "bool(v) and a <= {x.casefold() for x in v}", _folded,
        "one name, or all of a list")
    _op(_kind, "any_of", _many, "bool(v) and any(x.casefold() in a for x in v)", _folded)
    _op(_kind, "all_of", _many, "bool(v) and a <= {x.casefold() for x in v}", _folded)
    _op(_kind, "none_of", _many, "not v or not any(x.casefold() in a for x in v)", _folded)
    _op(_kind, "matches", _TEXT, "bool(v) and any(a(x) is not None for x in v)", _search, "any one matches the regex")
_op(P, "equals", _TEXT, "v is not None and not a.isdisjoint(person_keys(v))", _folded)
_op(P, "in", {"type": "array", "items": _TEXT}, "v is not None and not a.isdisjoint(person_keys(v))", _folded)
_op(P, "not_in", {"type": "array", "items": _TEXT}, "v is None or a.isdisjoint(person_keys(v))", _folded)
_op(TM, "older_than", DURATION, "v is not None and v < f.cut[a]", _slot,
    "more than the duration ago; strict: exactly 3 × 24 h is not older than 3 days")
_op(TM, "at_least", DURATION, "v is not None and v <= f.cut[a]", _slot, "that long ago or more")
_op(TM, "newer_than", DURATION, "v is not None and v > f.cut[a]", _slot, "less than that long ago")
_op(TM, "after", INSTANT, "v is not None and v > a", _instant,
    "strictly after a date (midnight in the rule's timezone) or a date and time")
_op(TM, "before", INSTANT, "v is not None and v < a", _instant, "strictly before a date or a date and time")
_op(CU, "equals", _SCALAR, f"v is not None and any(str(x).casefold() in a for x in {_EACH})", _folded)
_op(CU, "not_equals", _SCALAR, f"v is None or not any(str(x).casefold() in a for x in {_EACH})", _folded)
_op(CU, "in", _SCALARS, f"v is not None and any(str(x).casefold() in a for x in {_EACH})", _folded)
_op(CU, "not_in", _SCALARS, f"v is None or not any(str(x).casefold() in a for x in {_EACH})", _folded)
_op(CU, "contains", _TEXT, f"v is not None and any(a in str(x).casefold() for x in {_EACH})",
    lambda x, c: str(x).casefold(), "substring")
_op(CU, "matches", _TEXT, f"v is not None and any(a(str(x)) is not None for x in {_EACH})", _search, "RE2 regex")
_op(CU, "not_matches", _TEXT, f"v is not None and not any(a(str(x)) is not None for x in {_EACH})", _search,
    "RE2 regex")
for _name, _symbol in (("lt", "<"), ("lte", "<="), ("gt", ">"), ("gte", ">=")):
    _op(CU, _name, _NUM, f"type(v) in (int, float) and v {_symbol} a", doc="numbers only")
for _kind, _spec in KINDS.items():
    if _spec.missing is not None:
        _op(_kind, "missing", _BOOL, f"({_spec.missing}) is a", lambda x, c: bool(x), "no value")
        _op(_kind, "present", _BOOL, f"({_spec.missing}) is not a", lambda x, c: bool(x), "a value")


def _kind_schema(kind: Kind) -> dict[str, Any]:
    ops, spec = OPERATORS[kind], KINDS[kind]
    shorthand = [ops[name].schema for name in (spec.scalar_op, spec.list_op) if name is not None]
    object_form = {"type": "object", "properties": {name: op.schema for name, op in ops.items()},
                   "additionalProperties": False, "minProperties": 1}
    return {"anyOf": [*shorthand, object_form]} if shorthand else object_form


def _kind_doc(kind: Kind) -> str:
    ops = [f"{name} ({op.doc})" if op.doc else name for name, op in OPERATORS[kind].items()]
    return f"{KINDS[kind].doc} Operators: {', '.join(ops)}."


KIND_SCHEMAS: dict[Kind, dict[str, Any]] = {kind: _kind_schema(kind) for kind in Kind}
KIND_DOCS: dict[Kind, str] = {kind: _kind_doc(kind) for kind in Kind}


@dataclass(frozen=True)
class TimeBound:
    """Where a time operator's limit comes from: a cutoff slot (durations) or a fixed instant."""

    op: str
    slot: int | None
    instant: datetime | None


def time_bound(op: str, arg: Any, cctx: CompileCtx) -> TimeBound:
    """The limit of `time: {op: arg}`, as its operator's definition prepares it (pushdown and
    explain say it; the operator alone compares with it)."""
    prepared = OPERATORS[Kind.TIME][op].prepare(arg, cctx)
    if isinstance(prepared, int):
        return TimeBound(op, prepared, None)
    return TimeBound(op, None, prepared)


def normalize_ops(kind: Kind, value: Any) -> dict[str, Any]:
    """`field: x` and `field: [x, y]` as the operators they stand for."""
    if isinstance(value, dict):
        return dict(value)
    spec = KINDS[kind]
    name = spec.list_op if isinstance(value, list) else spec.scalar_op
    if name is None:
        raise ValueError(f"a {kind.value} condition needs an operator")
    return {name: value}


def operator(kind: Kind, name: str) -> Operator:
    return OPERATORS[kind][name]


@cache
def _test_code(test: str) -> Any:
    return compile(f"lambda v, f: {test}", "<operator>", "eval")


def make_test(kind: Kind, op: str, arg: Any, cctx: CompileCtx) -> ValueTest:
    """One operator as a closure over the field value, derived from its definition."""
    definition = OPERATORS[kind][op]
    namespace = {"__builtins__": {}, **HELPERS, "a": definition.prepare(arg, cctx)}
    test: ValueTest = eval(_test_code(definition.test), namespace)
    return test
