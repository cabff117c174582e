"""A fast yes/no check of a rule file against the generated schema.

jsonschema is the authority and writes every error message, but walking it for every
file of a large rule set is most of the load time. This checker understands exactly the
keywords the generated schema uses and answers "valid" only when sure; anything it does
not know makes it answer "not sure", and the loader then asks jsonschema.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_IGNORED = {"description", "examples", "title", "$schema", "$id", "$defs", "format"}
_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
}


class _Unsure(Exception):
    pass


@lru_cache(maxsize=64)
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


def surely_valid(instance: Any, root: dict[str, Any]) -> bool:
    """True only if the instance certainly satisfies the schema; False means 'ask jsonschema'."""
    try:
        return _ok(instance, root, root)
    except (_Unsure, RecursionError):
        return False


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _ok(v: Any, s: dict[str, Any], root: dict[str, Any]) -> bool:
    for key, arg in s.items():
        if key in _IGNORED:
            continue
        check = _CHECKS.get(key)
        if check is None:
            raise _Unsure(key)
        if not check(v, arg, s, root):
            return False
    return True


def _type(v: Any, arg: Any, s: dict[str, Any], root: dict[str, Any]) -> bool:
    names = arg if isinstance(arg, list) else [arg]
    return any(_TYPES[n](v) for n in names)


def _properties(v: Any, arg: dict[str, Any], s: dict[str, Any], root: dict[str, Any]) -> bool:
    if not isinstance(v, dict):
        return True
    return all(_ok(v[k], sub, root) for k, sub in arg.items() if k in v)


def _additional(v: Any, arg: Any, s: dict[str, Any], root: dict[str, Any]) -> bool:
    if arg is not False:
        raise _Unsure("additionalProperties")
    patterns = [_pattern(p) for p in s.get("patternProperties", {})]
    return not isinstance(v, dict) or all(k in s.get("properties", {}) or any(p.search(k) for p in patterns)
                                          for k in v)


def _pattern_properties(v: Any, arg: dict[str, Any], s: dict[str, Any], root: dict[str, Any]) -> bool:
    if not isinstance(v, dict):
        return True
    return all(_ok(value, sub, root) for key, value in v.items() for p, sub in arg.items()
               if _pattern(p).search(key))


def _ref(v: Any, arg: str, s: dict[str, Any], root: dict[str, Any]) -> bool:
    if not arg.startswith("#/$defs/"):
        raise _Unsure(arg)
    return _ok(v, root["$defs"][arg[8:]], root)


_CHECKS: dict[str, Any] = {
    "type": _type,
    "properties": _properties,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional,
    "$ref": _ref,
    "required": lambda v, a, s, r: not isinstance(v, dict) or all(k in v for k in a),
    "enum": lambda v, a, s, r: any(_same(v, x) for x in a),
    "const": lambda v, a, s, r: _same(v, a),
    "pattern": lambda v, a, s, r: not isinstance(v, str) or _pattern(a).search(v) is not None,
    "minLength": lambda v, a, s, r: not isinstance(v, str) or len(v) >= a,
    "minItems": lambda v, a, s, r: not isinstance(v, list) or len(v) >= a,
    "minProperties": lambda v, a, s, r: not isinstance(v, dict) or len(v) >= a,
    "maxProperties": lambda v, a, s, r: not isinstance(v, dict) or len(v) <= a,
    "uniqueItems": lambda v, a, s, r: not (a and isinstance(v, list)) or len({repr(x) for x in v}) == len(v),
    "items": lambda v, a, s, r: not isinstance(v, list) or all(_ok(x, a, r) for x in v),
    "anyOf": lambda v, a, s, r: any(_ok(v, b, r) for b in a),
}
