"""Each condition operator is defined once; its closure, its fused code and its schema agree.

The closure `make_test` builds and the code rules.fieldcode generates both come from the
operator's one expression; these tests drive every registered operator of every kind
through both, on values of every shape, and check the schema and docs list it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import re2
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.calendar import BusinessCalendar
from rules.codegen import Codegen, compile_code
from rules.compilectx import CompileCtx, SlotTable, _python_twin, compile_regex
from rules.fieldcode import field_code
from rules.fieldkinds import KIND_DOCS, KIND_SCHEMAS, OPERATORS, Kind, make_test
from rules.model import EvalContext, Person, StatusCategory
from rules.registry import Frame

NOW = datetime(2026, 3, 13, 12, tzinfo=UTC)
ARGS: dict[Kind, dict[str, list[Any]]] = {
    Kind.TEXT: {"equals": ["Fix", 3], "not_equals": ["fix"], "in": [["a", "Fix"]], "not_in": [["x"]],
                "matches": ["^F", "(?i)LOG"], "not_matches": ["^[A-Z]"], "contains": ["IX"]},
    Kind.CATEGORY: {"equals": ["done"], "not_equals": ["todo"], "in": [["todo", "done"]], "not_in": [["done"]]},
    Kind.NUMBER: {name: [3, 2.5] for name in ("eq", "ne", "lt", "lte", "gt", "gte")} | {"in": [[1, 3]]},
    Kind.SET: {"contains": ["api", ["api", "ux"]], "any_of": [["API"]], "all_of": [["api", "ux"]],
               "none_of": [["on-hold"]], "matches": ["^sev[0-9]$"]},
    Kind.NAMES: {"contains": ["Release 3", ["v2.0", "release 3"]], "any_of": [["V2.0"]],
                 "all_of": [["v2.0", "Release 3"]], "none_of": [["Release 3"]], "matches": ["^v[0-9]"]},
    Kind.PERSON: {"equals": ["ada@example.com"], "in": [["u2", "Grace"]], "not_in": [["ADA"]]},
    Kind.TIME: {"older_than": ["3 days"], "at_least": ["3 days"], "newer_than": ["36 hours"],
                "after": ["2026-03-01"], "before": ["2026-03-10T00:00:00Z"]},
    Kind.CUSTOM: {"equals": ["S1", 3], "not_equals": ["s1"], "in": [["S1", "S2"]], "not_in": [["S2"]],
                  "contains": ["ritic"], "matches": ["^S[0-9]$"], "not_matches": ["^S"],
                  "lt": [3], "lte": [3], "gt": [2.5], "gte": [3]},
}
VALUES: dict[Kind, list[Any]] = {
    Kind.TEXT: [None, "", "Fix login", "fix", "3", 3, "ÉTÉ"],
    Kind.CATEGORY: list(StatusCategory),
    Kind.NUMBER: [None, 0, 2.5, 3, 7],
    Kind.SET: [(), ("api",), ("API", "ux"), ("on-hold", "sev1"), ("sev12",)],
    Kind.NAMES: [(), ("v2.0",), ("Release 3", "V2.0"), ("release 3",), ("Backlog",)],
    Kind.PERSON: [None, Person("u1", "Ada", "ada@example.com"), Person("u2", "Grace"), Person("u3")],
    Kind.CUSTOM: [None, "", (), "S1", "s2", "Critical", 3, 2.5, True, ("S1", "S3"), ("x",)],
    Kind.TIME: [None, NOW, NOW - timedelta(days=3), NOW - timedelta(days=3, seconds=1), datetime(2026, 3, 1, tzinfo=UTC)],
}


def _cases() -> list[tuple[Kind, str, Any]]:
    out = []
    for kind, ops in OPERATORS.items():
        for name in ops:
            for arg in ARGS[kind].get(name, [True, False] if name in ("missing", "present") else []):
                out.append((kind, name, arg))
    return out


def test_every_operator_has_sample_arguments() -> None:
    covered = {(kind, name) for kind, name, _ in _cases()}
    assert covered == {(kind, name) for kind, ops in OPERATORS.items() for name in ops}


@pytest.mark.parametrize(("kind", "name", "arg"), _cases(), ids=lambda x: str(getattr(x, "value", x)))
def test_the_closure_and_the_fused_code_agree(kind: Kind, name: str, arg: Any) -> None:
    slots = SlotTable()
    cctx = CompileCtx("t", BusinessCalendar(), slots)
    closure = make_test(kind, name, arg, cctx)
    for reading in ("i", "computed"):  # an attribute read, and a value bound once with :=
        def value(gen: Codegen, reading: str = reading) -> str:
            return "i" if reading == "i" else f"{gen.const(lambda i: i)}(i)"
        fused = compile_code(field_code(kind, value, {name: arg}, cctx))
        frame = Frame(NOW, slots.cutoffs(NOW), EvalContext())
        for v in VALUES[kind]:
            assert fused(v, None, frame) is closure(v, frame), (v, reading)


def test_every_operator_is_in_the_schema_and_the_docs() -> None:
    for kind, ops in OPERATORS.items():
        schema = KIND_SCHEMAS[kind]
        for name in ops:
            jsonschema.validate({name: ARGS[kind].get(name, [True])[0]}, schema)
            assert name in KIND_DOCS[kind]
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({"no_such_operator": 1}, schema)


def test_number_shorthand_means_eq() -> None:
    """`estimate: 3` once failed to compile: the shorthand named an operator numbers lack."""
    cctx = CompileCtx("t", BusinessCalendar(), SlotTable())
    pred = compile_code(field_code(Kind.NUMBER, lambda gen: "i", {"eq": 3}, cctx))
    assert pred(3, None, None) and not pred(4, None, None)


def test_no_private_standard_library_api_in_rules() -> None:
    for path in (Path(__file__).parents[2] / "rules").glob("*.py"):
        assert "re._parser" not in path.read_text(encoding="utf-8"), path
        assert "sre_parse" not in path.read_text(encoding="utf-8"), path


@pytest.mark.parametrize(("pattern", "python"), [
    ("^[A-Z][a-z]+ \\S", True), ("(?i)review", True), ("^(Add|Fix) ", True), ("\\.$", True),
    ("^sev[0-9]$", True), ("x{2,3}", True), ("[]a]+", True),
    ("(a+)+$", False), ("a*b*", False), ("(?i)\\w+", False), ("(a|b)+", False), ("x{2", False),
    ("a+|b", False), ("\\p{L}+", False), ("(?i:a+)", False), ("2{,}", False), ("a{,2}", False),
])
def test_only_patterns_that_cannot_backtrack_badly_run_on_python(pattern: str, python: bool) -> None:
    assert (_python_twin(pattern) is not None) is python


@settings(max_examples=300, deadline=None)
@given(pattern=st.text(alphabet="ab.^$*+?()[]|\\{},2", max_size=8), text=st.text(alphabet="ab\n.", max_size=12))
def test_the_python_twin_agrees_with_re2(pattern: str, text: str) -> None:
    twin = _python_twin(pattern)
    if twin is None:
        return
    options = re2.Options()
    options.log_errors = False
    try:
        slow = re2.compile(pattern, options)
    except re2.error:
        return
    assert (twin.search(text) is None) is (slow.search(text) is None), (pattern, text)
    assert compile_regex(pattern).pattern == pattern and re.compile(pattern)
