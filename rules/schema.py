"""The whole rule-file JSON Schema, generated from the condition and action registries.

Published as rules/flowkeeper-rules.schema.json so editors (the YAML language server)
validate and complete rule files; `flowkeeper rules schema` prints it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

import rules.actions
import rules.clocks
import rules.conditions
import rules.flow_conditions
import rules.lifecycle
import rules.limits
import rules.logic
import rules.moves
import rules.special  # noqa: F401  (registers event and mirror conditions)
from rules.calendar import WEEKDAYS
from rules.clocks import clock_schema
from rules.compilectx import LABEL_PATTERN
from rules.durations import DURATION_PATTERN
from rules.errors import RULE_NAME
from rules.model import SWEEP_ORDERS, ActionKind
from rules.people import SECTION_SCHEMA
from rules.registry import Registry, actions, conditions
from rules.ruleset import PREVIOUS_STEP
from rules.triggers import TRIGGERS

SCHEMA_PATH = Path(__file__).with_name("flowkeeper-rules.schema.json")
TRACKERS = ["jira", "linear"]

_str = {"type": "string", "minLength": 1}
_strs = {"type": "array", "items": _str}
_label = {"type": "string", "pattern": LABEL_PATTERN}
_duration = {"type": "string", "pattern": DURATION_PATTERN,
             "description": "e.g. '48 hours', '3 days', '5 business days', '2 weeks'"}
STEP_FROM = {"enum": ["clock", PREVIOUS_STEP],
              "description": "What `after` counts from: the rule's clock (the default), or `previous_step`: "
                             "when the rung before this one was done (the rule's `then` for the first rung)"}


SHARE_PATTERN = r"^\s*\d+(\.\d+)?\s*%\s*$"
_SWEEP = {"type": "object", "additionalProperties": False, "minProperties": 1,
          "description": "This rule's own sweep order and limits, instead of the deployment's.", "properties": {
              "order": {"enum": list(SWEEP_ORDERS), "description": "which candidates a sweep works on first "
                        "(and so which the write budget reaches): by the tracker's updated or created time"},
              "write_budget": {"type": "integer", "minimum": 0,
                               "description": "tracker writes per run of this rule on one tracker"},
              "blast_radius": {
                  "type": "object", "additionalProperties": False, "minProperties": 1,
                  "description": "hold a sweep changing more items than the larger of `items` and `share` of "
                                 "the open items in scope",
                  "properties": {"items": {"type": "integer", "minimum": 0,
                                           "description": "items (default FLOWKEEPER_BLAST_RADIUS_ITEMS)"},
                                 "share": {"anyOf": [{"type": "number", "minimum": 0, "maximum": 1},
                                                     {"type": "string", "pattern": SHARE_PATTERN}],
                                           "description": "a fraction (`0.05`) or a percentage (`5%`) of the "
                                                          "open items in scope (default "
                                                          "FLOWKEEPER_BLAST_RADIUS_SHARE)"}}}}}


def _one_of_keys(registry: Registry) -> dict[str, Any]:
    """An object with exactly one key, each key a registered type: precise errors, good completion."""
    props = {}
    rank = {"logic": 0, "field": 1, "clock": 2, "event": 3, "mirror": 4}
    for spec in sorted(registry.specs(), key=lambda s: (rank.get(s.group, 9), s.name)):
        example = yaml.safe_load(spec.example) if spec.example else None
        props[spec.name] = {**spec.schema, "description": spec.doc,
                            **({"examples": [example[spec.name]]} if example else {})}
    families = {}
    for pattern, spec in registry.families():
        example = yaml.safe_load(spec.example) if spec.example else None
        families[pattern] = {**spec.schema, "description": spec.doc,
                             **({"examples": [next(iter(example.values()))]} if example else {})}
    return {"type": "object", "minProperties": 1, "maxProperties": 1, "properties": props,
            **({"patternProperties": families} if families else {}), "additionalProperties": False}


def _rule() -> dict[str, Any]:
    trigger_list = {"type": "array", "items": {"enum": list(TRIGGERS)}, "minItems": 1, "uniqueItems": True}
    return {
        "type": "object", "additionalProperties": False,
        "required": ["name", "description", "on", "when", "then"],
        "properties": {
            "name": {"type": "string", "pattern": RULE_NAME},
            "description": {**_str, "description": "Why the rule exists: the process documentation."},
            "on": {"anyOf": [{"enum": list(TRIGGERS)}, trigger_list]},
            "when": {"$ref": "#/$defs/condition"},
            "then": {"$ref": "#/$defs/actions"},
            "escalate": {"type": "array", "minItems": 1, "items": {
                "type": "object", "additionalProperties": False, "required": ["after", "then"],
                "properties": {"after": _duration, "from": STEP_FROM, "then": {"$ref": "#/$defs/actions"}}}},
            "repeat_after": _duration,
            "clock": {"$ref": "#/$defs/clock"},
            "trackers": {"type": "array", "items": {"enum": TRACKERS}, "minItems": 1},
            "teams": _strs,
            "sweep_filter": {**_str, "description": "narrows the sweep's search further than the condition does: "
                                                    "JQL on Jira (joined with AND), a JSON IssueFilter on Linear"},
            "sweep": _SWEEP,
            "schedule": {**_str, "description": "cron ('*/30 * * * *') or 'every 30 minutes'"},
            "timezone": _str,
            "calendar": {"$ref": "#/$defs/calendar"},
            "enabled": {"type": "boolean"},
            "dry_run": {"type": "boolean"},
            "exempt": {"type": "object", "additionalProperties": False, "properties": {
                "labels": {"type": "array", "items": _label}, "assignees": _strs}},
        },
    }


def _test() -> dict[str, Any]:
    expected = {"type": "object", "additionalProperties": False, "required": ["rule", "kind"], "properties": {
        "rule": _str, "kind": {"enum": [k.value for k in ActionKind]}, "labels": _strs,
        "comment_contains": {"type": "string"}, "step": {"type": "string"}, "dry_run": {"type": "boolean"},
        "to": {"type": "string", "description": "transition: the category or status name; assign: the "
                                                "assignee's id, email or name"}}}
    return {"type": "object", "additionalProperties": False, "required": ["name", "item", "expect"],
            "properties": {"name": _str, "now": _str, "item": {"type": "object"}, "event": {"type": "object"},
                           "context": {"type": "object"}, "rules": _strs,
                           "expect": {"type": "array", "items": expected}}}


def calendar_schema() -> dict[str, Any]:
    """The `calendar:` mapping (per rule or under `defaults`): which days count as business days."""
    return {"type": "object", "additionalProperties": False,
            "description": "Which days count as business days, for durations in business days. Per rule or "
                           "under `defaults`; without one, Saturday and Sunday are the weekend and no day is a "
                           "holiday.",
            "examples": [{"country": "DE", "subdiv": "BY", "weekend": ["sat", "sun"],
                          "holidays": ["2026-12-24", "2026-12-31"]}],
            "properties": {
                "country": {"type": "string", "description": "Public holidays of this country (an ISO 3166 code "
                                                            "such as `DE`, `US`, `GB`), from the `holidays` package"},
                "subdiv": {"type": "string", "description": "A state or province of `country` whose holidays "
                                                           "differ (`BY` for Bavaria, `CA` for California)"},
                "timezone": {"type": "string", "description": "The IANA timezone a business day starts and ends "
                                                             "in (default: the rule's `timezone`, else UTC)"},
                "weekend": {"type": "array", "items": {"enum": list(WEEKDAYS)}, "uniqueItems": True,
                            "description": "The days that never count (default `[sat, sun]`; `[]`: none)"},
                "holidays": {"type": "array", "items": {"type": "string", "format": "date"},
                             "description": "Company days off on top of the public holidays, as dates "
                                            "(`2026-12-24`)"}}}


@lru_cache(maxsize=1)
def rule_file_schema() -> dict[str, Any]:
    calendar = calendar_schema()
    defaults = {"type": "object", "additionalProperties": False, "properties": {
        "timezone": _str, "calendar": {"$ref": "#/$defs/calendar"}, "trackers": _rule()["properties"]["trackers"],
        "teams": _strs, "dry_run": {"type": "boolean"}, "clock": {"$ref": "#/$defs/clock"}}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://flowkeeper.dev/schemas/flowkeeper-rules.schema.json",
        "title": "Flowkeeper rule file",
        "type": "object", "additionalProperties": False, "required": ["version"],
        "properties": {"version": {"const": 1}, "defaults": defaults, "people": SECTION_SCHEMA,
                       "rules": {"type": "array", "items": {"$ref": "#/$defs/rule"}},
                       "tests": {"type": "array", "items": {"$ref": "#/$defs/test"}}},
        "$defs": {"condition": _one_of_keys(conditions), "action": _one_of_keys(actions),
                  "actions": {"type": "array", "items": {"$ref": "#/$defs/action"}, "minItems": 1},
                  "clock": clock_schema(), "rule": _rule(), "calendar": calendar, "test": _test()},
    }


def render_schema() -> str:
    return json.dumps(rule_file_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> None:
    path.write_text(render_schema(), encoding="utf-8")
