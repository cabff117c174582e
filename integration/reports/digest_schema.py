"""The digest file's JSON Schema: what `FLOWKEEPER_DIGESTS` may say, checked at load with file:line errors.

The schema is the source of the file's reference: docs/digests.md is generated from it,
and docs/flowkeeper-digests.schema.json is published for editors (the YAML language
server), like the rule files' schema. `python -m integration.reference --write` rewrites
both; a test fails while either is stale.
"""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from rules.errors import did_you_mean
from rules.schemaerrors import got, not_one_of
from rules.yamlpos import Doc

DEFAULT_SCHEDULE = "0 8 * * 1"  # Mondays 08:00 UTC
TRACKERS = ("jira", "linear")
POST_KEYS = ("comment_on", "file", "webhook")

_DIGEST: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["team"],
    "description": "One team's weekly digest.",
    "properties": {
        "team": {"type": "string", "minLength": 1, "pattern": r"\S",
                 "description": "The team it covers: a Jira project key or a Linear team key (`ENG`)"},
        "tracker": {"enum": list(TRACKERS),
                    "description": "The tracker of `team` (needed for `post.comment_on`); without it, the team "
                                   "on every tracker"},
        "schedule": {"type": "string",
                     "description": f"When it is delivered: a cron expression in UTC (default `{DEFAULT_SCHEDULE}`,"
                                    " Mondays 08:00)"},
        "wip_limit": {"type": "integer", "minimum": 1,
                      "description": "Items in progress per person above which the WIP part says “over the limit”"},
        "post": {
            "type": "object", "additionalProperties": False,
            "description": "Where it goes (any of the three; without `post`, `flowkeeper digest` only prints it)",
            "properties": {
                "comment_on": {"type": "string", "description": "A comment on this issue of `tracker` (through "
                                                               "the executor: dry run applies)"},
                "file": {"type": "string", "description": "A file, `{team}` and `{date}` filled in; its folder must "
                                                         "be on `FLOWKEEPER_DIGEST_ALLOW`"},
                "webhook": {"type": "string", "description": "A URL the digest is POSTed to as JSON (`text`); it "
                                                            "must be on `FLOWKEEPER_DIGEST_ALLOW`"},
            },
        },
    },
}

DIGEST_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://flowkeeper.dev/schemas/flowkeeper-digests.schema.json",
    "title": "Flowkeeper digest file",
    "description": "The weekly digests per team (`FLOWKEEPER_DIGESTS`, YAML).",
    "type": "object", "additionalProperties": False,
    "properties": {"digests": {"type": "array", "items": {"$ref": "#/$defs/digest"},
                               "description": "One entry per team (and tracker)"}},
    "$defs": {"digest": _DIGEST},
    "examples": [{"digests": [
        {"team": "ENG", "tracker": "jira", "wip_limit": 3,
         "post": {"comment_on": "ENG-100", "file": "/srv/digests/{team}-{date}.md"}},
        {"team": "APP", "tracker": "linear", "schedule": "0 9 * * 1",
         "post": {"webhook": "https://hooks.example.com/flowkeeper/app"}},
    ]}],
}

_VALIDATOR = Draft202012Validator(DIGEST_SCHEMA)


def render_digest_schema() -> str:
    return json.dumps(DIGEST_SCHEMA, indent=2, ensure_ascii=False) + "\n"


def schema_problems(doc: Doc, source: str) -> list[str]:
    """Every schema error of the file as 'file:line:col: digests[0].tracker: must be one of jira, linear …'."""
    out: dict[tuple[Any, ...], str] = {}
    for error in sorted(_VALIDATOR.iter_errors(doc.data), key=lambda e: list(map(str, e.absolute_path))):
        path, text, is_key = _message(error)
        if path not in out:
            line, col = doc.where(path, key=is_key)
            out[path] = f"{source}:{line}:{col}: {dotted(path) or 'the file'}: {text}"
    return list(out.values())


def dotted(path: tuple[Any, ...]) -> str:
    """('digests', 0, 'post', 'file') → 'digests[0].post.file'."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _message(error: ValidationError) -> tuple[tuple[Any, ...], str, bool]:
    path, v, value = tuple(error.absolute_path), error.validator, error.instance
    if v == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        key = next(k for k in value if k not in allowed)
        return (*path, key), f"unknown key '{key}' (allowed: {', '.join(allowed)}){did_you_mean(key, allowed)}", True
    if v == "required":
        missing = next(k for k in error.validator_value if k not in value)
        return path, f"missing '{missing}' ({_description(error.schema['properties'][missing])})", False
    if v == "enum":
        return path, not_one_of(error), False
    if v == "type":
        words = {"string": "text", "integer": "a whole number", "object": "a mapping", "array": "a list"}
        return path, f"must be {words.get(str(error.validator_value), error.validator_value)} (got {got(value)})", False
    if v == "minimum":
        return path, f"must be at least {error.validator_value} (got {got(value)})", False
    if v in ("minLength", "pattern"):
        return path, f"must not be empty (got {got(value)})", False
    return path, error.message, False


def _description(schema: dict[str, Any]) -> str:
    text = str(schema.get("description", "a valid value"))
    return text.split(" (")[0]
