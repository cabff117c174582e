"""Translate JSON-Schema errors into short messages a rule author can act on."""

from __future__ import annotations

import re
from typing import Any

from jsonschema import ValidationError

from rules.compilectx import LABEL_PATTERN
from rules.durations import DURATION_PATTERN
from rules.errors import RULE_NAME, did_you_mean
from rules.registry import actions, conditions

_PATTERNS = {
    DURATION_PATTERN: "a duration needs a number and a unit: minutes, hours, days, business days or weeks",
    LABEL_PATTERN: "a label is a name without spaces or commas (Jira refuses them)",
    RULE_NAME: ("a rule name is 1–80 lower-case letters, digits, '-' and '_', starting with a letter or "
                "digit, e.g. 'stalled-in-review'"),
}
_TYPES = {"array": "a list", "object": "a mapping", "string": "text", "number": "a number",
          "integer": "a whole number", "boolean": "true or false", "null": "empty"}


def got(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _branch_type(schema: dict[str, Any]) -> set[str]:
    if "enum" in schema or "const" in schema:
        return {type(v).__name__ for v in schema.get("enum", [schema.get("const")])}
    types = schema.get("type", [])
    return set(types if isinstance(types, list) else [types])


def _fits(value: Any, types: set[str]) -> bool:
    if isinstance(value, dict):
        return "object" in types
    if isinstance(value, list):
        return "array" in types
    if isinstance(value, bool):
        return "boolean" in types or "bool" in types
    if isinstance(value, (int, float)):
        return bool({"number", "integer", "int", "float"} & types)
    if isinstance(value, str):
        return bool({"string", "str"} & types)
    return "null" in types


def most_specific(error: ValidationError, root: dict[str, Any]) -> ValidationError:
    """For an anyOf failure, descend into the branch whose type fits the value."""
    while error.validator == "anyOf" and error.context:
        branches = error.validator_value
        fitting = [n for n, b in enumerate(branches) if _fits(error.instance, _branch_type(_deref(b, root)))]
        if len(fitting) != 1:
            return error
        inner = [e for e in error.context if e.schema_path and e.schema_path[0] == fitting[0]]
        if not inner:
            return error
        error = min(inner, key=lambda e: (-len(e.absolute_path), e.validator == "anyOf"))
    return error


def _deref(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return root["$defs"][ref.split("/")[-1]]
    return schema


_CUSTOM_SPELLINGS = re.compile(r"^(fields?|customfields?|custom_fields?|cf|jira)[.\[]([A-Za-z0-9_]+)\]?$", re.I)


def custom_hint(key: str) -> str:
    """Custom fields have one spelling, `custom.<name>`: point other spellings at it."""
    if re.fullmatch(r"(customfield_|cf\[)\d+\]?", key, re.I):
        return (" (custom fields are read by the name JIRA_FIELD_MAP gives them, e.g. 'custom.severity' "
                "for severity=customfield_10050)")
    other = _CUSTOM_SPELLINGS.match(key)
    return f" (did you mean 'custom.{other.group(2)}'?)" if other else ""


def not_one_of(error: ValidationError) -> str:
    """An `enum` error: the choices, what was written, and the nearest choice."""
    options, value = [str(o) for o in error.validator_value], error.instance
    hint = did_you_mean(str(value), options) if isinstance(value, str) else ""
    return f"must be one of {', '.join(options)} (got {got(value)}){hint}"


def message(error: ValidationError, root: dict[str, Any]) -> tuple[tuple[Any, ...], str, bool]:
    """(instance path, message, point at the key?) for one error."""
    path = tuple(error.absolute_path)
    v, value = error.validator, error.instance
    if v == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        extra = [k for k in value if k not in allowed]
        key = extra[0]
        hint = custom_hint(key) if error.schema.get("patternProperties") else ""
        return (*path, key), f"unknown {_what(error, root)} '{key}'{hint or did_you_mean(key, allowed)}", True
    if v == "required":
        missing = [k for k in error.validator_value if k not in value]
        return path, f"missing required key '{missing[0]}'", False
    if v in ("minProperties", "maxProperties") and error.schema.get("maxProperties") == 1:
        keys = ", ".join(value) if isinstance(value, dict) else ""
        return path, f"a {_what(error, root)} mapping has exactly one key (got {len(value)}: {keys})", False
    if v == "enum":
        return path, not_one_of(error), False
    if v == "type":
        want = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        if want == ["array"] and error.schema.get("items", {}).get("pattern") == LABEL_PATTERN:
            return path, f"must be a list of label names (got {got(value)})", False
        return path, f"must be {' or '.join(str(_TYPES.get(t, t)) for t in want)} (got {got(value)})", False
    if v == "pattern":
        return path, f"{_PATTERNS.get(error.validator_value, 'has the wrong form')} (got {got(value)})", False
    if v == "minItems":
        return path, "must not be empty", False
    if v == "const":
        return path, f"must be {error.validator_value} (got {got(value)})", False
    if v == "anyOf":
        kinds = sorted({_TYPES.get(t, t) for b in error.validator_value for t in _branch_type(_deref(b, root))
                        if t in _TYPES})
        return path, f"must be {' or '.join(kinds) or 'a valid value'} (got {got(value)})", False
    return path, f"{error.message}", False


def _what(error: ValidationError, root: dict[str, Any]) -> str:
    if error.schema is root["$defs"]["condition"]:
        return "condition"
    if error.schema is root["$defs"]["action"]:
        return "action"
    parent = error.absolute_path[-1] if error.absolute_path else None
    if isinstance(parent, str) and (conditions.get(parent) or actions.get(parent)):
        return "operator" if conditions.get(parent) else "option"
    return "key"
