"""A webhook body reads as the standard library's JSON parser reads it, errors worded the same."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integration import jsontext
from integration.trackers.errors import PayloadError
from webhooks.receiver import parse_payload


def same(a: Any, b: Any) -> bool:
    """Equal values of equal types throughout (1 and 1.0 differ; NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


ACCEPTED = {
    "integer beyond 64 bits": b'{"id": 123456789012345678901234567890}',
    "negative integer beyond 64 bits": b'{"id": -9223372036854775809}',
    "largest unsigned 64-bit integer": b'{"id": 18446744073709551615}',
    "NaN and infinities": b'{"a": NaN, "b": Infinity, "c": -Infinity}',
    "number beyond a double": b'{"a": 1e400, "b": -1e400}',
    "escaped NUL": b'{"summary": "Fix\\u0000 now"}',
    "lone surrogate, lower case": b'{"summary": "Fix \\udfff now"}',
    "lone surrogate, upper case": b'{"summary": "Fix \\uD800 now"}',
    "surrogate pair": b'{"summary": "\\ud83d\\ude00"}',
    "duplicate keys": b'{"a": 1, "a": 2, "b": {"c": 1, "c": [3]}}',
    "long digits inside a string": b'{"id": "12345678901234567890123"}',
    "many digits after the point": b'{"x": 0.1000000000000000055511151231257827}',
    "negative zero": b'{"a": -0, "b": -0.0}',
    "more brackets than the fast parse takes": b'{"a": ' + b"[" * 200 + b"]" * 200 + b', "b": [' + b"{}, " * 300 + b"[]]}",
}


@pytest.mark.parametrize("body", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_a_body_reads_as_the_standard_parser_reads_it(body: bytes) -> None:
    assert same(parse_payload(body), json.loads(body.decode()))
    assert same(jsontext.loads(body.decode()), json.loads(body.decode()))


def test_big_integers_stay_exact() -> None:
    payload = parse_payload(b'{"id": 123456789012345678901234567890, "n": -9223372036854775809}')
    assert payload == {"id": 123456789012345678901234567890, "n": -9223372036854775809}
    assert isinstance(payload["id"], int) and isinstance(payload["n"], int)


def test_a_lone_surrogate_in_the_worker_text_reads_as_before() -> None:
    text = '{"summary": "Fix \ud800 now"}'  # a str the standard parser accepts, not encodable
    assert jsontext.loads(text) == {"summary": "Fix \ud800 now"}


REFUSED = {
    "nested deeper than the parser goes": (b'{"a": ' + b"[" * 1010 + b"]" * 1010 + b"}", "JSON nested too deeply"),
    "not UTF-8": (b'{"summary": "\xff"}', "body is not UTF-8"),
    "encoded surrogate": (b'{"summary": "\xed\xa0\x80"}', "body is not UTF-8"),
    "byte order mark": (b'\xef\xbb\xbf{"a": 1}',
                        "body is not JSON (Unexpected UTF-8 BOM (decode using utf-8-sig) at line 1 column 1)"),
    "raw control character": (b'{"a": "x\ty"}', "body is not JSON (Invalid control character at at line 1 column 9)"),
    "trailing comma": (b'{"a": 1,}', None),
    "truncated": (b'{"a": [1, 2', "body is not JSON (Expecting ',' delimiter at line 1 column 12)"),
    "empty": (b"", "body is not JSON (Expecting value at line 1 column 1)"),
    "an array": (b"[1, 2]", "body must be a JSON object (got list)"),
    "null": (b"null", "body must be a JSON object (got NoneType)"),
}


def json_reason(body: bytes) -> str:
    """The reason worded from the standard parser's own error (its wording varies between Pythons)."""
    try:
        json.loads(body.decode())
    except json.JSONDecodeError as error:
        return f"body is not JSON ({error.msg} at line {error.lineno} column {error.colno})"
    raise AssertionError("the standard parser accepts it")


@pytest.mark.parametrize(("body", "reason"), REFUSED.values(), ids=REFUSED.keys())
def test_a_refused_body_says_what_is_wrong(body: bytes, reason: str | None) -> None:
    reason = reason or json_reason(body)
    with pytest.raises(PayloadError) as refused:
        parse_payload(body)
    assert str(refused.value) == reason


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), JSON, max_size=6), st.booleans())
def test_any_object_reads_as_the_standard_parser_reads_it(payload: dict[str, Any], ascii_only: bool) -> None:
    text = json.dumps(payload, ensure_ascii=ascii_only)
    try:
        body = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate written raw: no tracker can send those bytes
        return
    assert same(parse_payload(body), json.loads(text))
    assert same(jsontext.loads(text), json.loads(text))
