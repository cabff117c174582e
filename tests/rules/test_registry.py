"""Meta-tests: every registered type has a schema and an example that validates and compiles."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from rules.loader import load_ruleset
from rules.registry import actions, conditions
from rules.schema import SCHEMA_PATH, render_schema, rule_file_schema

CONDITIONS = conditions.specs()
ACTIONS = actions.specs()


def test_published_schema_is_up_to_date() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render_schema(), (
        "rules/flowkeeper-rules.schema.json is stale: run `python -m rules.cli schema --write`")


def test_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(rule_file_schema())


@pytest.mark.parametrize("spec", CONDITIONS + ACTIONS, ids=[s.name for s in CONDITIONS + ACTIONS])
def test_every_type_documents_itself(spec: object) -> None:
    assert spec.schema, f"{spec.name} has no schema"  # type: ignore[attr-defined]
    assert len(spec.doc) > 20, f"{spec.name} has no docstring"  # type: ignore[attr-defined]
    example = yaml.safe_load(spec.example)  # type: ignore[attr-defined]
    assert isinstance(example, dict) and list(example) == [spec.name]  # type: ignore[attr-defined]


def _rule_with(condition: dict[str, object] | None = None, action: dict[str, object] | None = None) -> dict[str, object]:
    return {"version": 1, "rules": [{
        "name": "example", "description": "Registry example.", "on": ["updated", "schedule"],
        "when": condition or {"type": "Bug"}, "then": [action or {"comment": "hi"}]}]}


@pytest.mark.parametrize("spec", CONDITIONS, ids=[s.name for s in CONDITIONS])
def test_condition_examples_validate_and_compile(spec: object, tmp_path: Path) -> None:
    example = yaml.safe_load(spec.example)  # type: ignore[attr-defined]
    doc = _rule_with(condition=example)
    jsonschema.validate(doc, rule_file_schema())
    path = tmp_path / "example.yml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert load_ruleset([path]).rules[0].name == "example"


@pytest.mark.parametrize("spec", ACTIONS, ids=[s.name for s in ACTIONS])
def test_action_examples_validate_and_compile(spec: object, tmp_path: Path) -> None:
    example = yaml.safe_load(spec.example)  # type: ignore[attr-defined]
    doc = _rule_with(action=example)
    jsonschema.validate(doc, rule_file_schema())
    path = tmp_path / "example.yml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert load_ruleset([path]).rules[0].steps[0].actions


def test_schema_rejects_extra_keys_in_every_type() -> None:
    validator = jsonschema.Draft202012Validator(rule_file_schema())
    bad = _rule_with(action={"flag": {"label": "x", "colour": "red"}})
    assert any("colour" in e.message for e in validator.iter_errors(bad))
