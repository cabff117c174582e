"""Custom fields named in JIRA_FIELD_MAP are first-class: `custom.<name>` in conditions,
templates, explain and the schema, and other spellings point at that one."""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType

import jsonschema
import pytest

from rules.engine import evaluate
from rules.errors import RuleFileError
from rules.model import EvalContext, Event, EventKind, Tracker
from rules.schema import rule_file_schema
from rules.verdicts import explain, format_verdicts
from tests.rules.helpers import NOW, item, load

RULES = """
version: 1
rules:
  - name: bug-needs-severity
    description: A bug in progress needs a severity.
    on: [updated, schedule]
    when:
      all:
        - status.category: in_progress
        - custom.severity: { missing: true }
    then:
      - flag: { label: needs-severity, comment: "Please set a severity." }
  - name: sev1-escalates
    description: Sev 1 gets a comment naming the severity and the components.
    on: [updated]
    when: { custom.severity: [S1, Critical] }
    then:
      - comment: "Severity {{ custom.severity }} on {{ custom.components }}: paging."
"""


def custom(**values: object) -> MappingProxyType[str, object]:
    return MappingProxyType(values)


def test_a_missing_custom_field_is_flagged_and_a_present_one_is_not(tmp_path: Path) -> None:
    rules = load(tmp_path, RULES)
    missing = evaluate(rules, item(), None, NOW, EvalContext())
    assert ("needs-severity",) in {a.labels for a in missing.actions if a.rule == "bug-needs-severity"}
    present = evaluate(rules, item(custom=custom(severity="S3")), None, NOW, EvalContext())
    assert not [a for a in present.actions if a.rule == "bug-needs-severity"]


def test_values_match_ignoring_case_and_templates_read_them(tmp_path: Path) -> None:
    rules = load(tmp_path, RULES)
    work = item(custom=custom(severity="s1", components=("API", "Billing")))
    plan = evaluate(rules, work, Event(Tracker.JIRA, EventKind.UPDATED, work, NOW), NOW, EvalContext())
    [comment] = [a for a in plan.actions if a.rule == "sev1-escalates"]
    assert comment.comment is not None
    assert comment.comment.plain == "Severity s1 on API, Billing: paging."


def test_a_multi_select_read_back_from_the_mirror_still_matches_by_value(tmp_path: Path) -> None:
    """The mirror stores JSON: a multi-select comes back as a list, and must mean the same."""
    from integration.codec import from_jsonable, to_jsonable
    from rules.model import Item

    rules = load(tmp_path, RULES)
    stored = from_jsonable(Item, to_jsonable(item(custom=custom(severity=("S2", "critical")))))
    work = stored.with_fields(status=item().status)
    plan = evaluate(rules, work, Event(Tracker.JIRA, EventKind.UPDATED, work, NOW), NOW, EvalContext())
    [comment] = [a for a in plan.actions if a.rule == "sev1-escalates"]
    assert comment.comment is not None and comment.comment.plain.startswith("Severity S2, critical on")


def test_a_partial_payload_without_the_field_judges_no_rule_reading_it(tmp_path: Path) -> None:
    rules = load(tmp_path, RULES)
    partial = item(unknown=frozenset({"custom.severity"}))
    plan = evaluate(rules, partial, None, NOW, EvalContext())
    reasons = {n.rule: n.reason for n in plan.no_actions}
    assert reasons["bug-needs-severity"] == "the payload did not carry custom.severity"


def test_explain_shows_the_custom_value_as_written(tmp_path: Path) -> None:
    rules = load(tmp_path, RULES)
    work = item(custom=custom(severity="S2", components=("API", "Billing")))
    text = format_verdicts(explain(rules, work, None, NOW, EvalContext()))
    assert "custom.severity: S2 (expected missing)" in text
    assert "custom.severity: S2 (expected in [S1, Critical])" in text


@pytest.mark.parametrize("spelling", ["fields.severity", "field.severity", "cf.severity", "customfield.severity"])
def test_other_spellings_get_did_you_mean(tmp_path: Path, spelling: str) -> None:
    with pytest.raises(RuleFileError) as error:
        load(tmp_path, RULES.replace("custom.severity: { missing", f"{spelling}: {{ missing"))
    assert f"unknown condition '{spelling}' (did you mean 'custom.severity'?)" in str(error.value)


def test_a_field_id_points_at_the_map(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError) as error:
        load(tmp_path, RULES.replace("custom.severity: { missing", "customfield_10050: { missing"))
    assert "read by the name JIRA_FIELD_MAP gives them" in str(error.value)


def test_the_published_schema_accepts_custom_fields_and_checks_their_operators() -> None:
    schema = rule_file_schema()
    rule = {"name": "x", "description": "d", "on": "schedule", "then": [{"add_labels": ["a"]}]}
    doc = {"version": 1, "rules": [{**rule, "when": {"custom.severity": {"in": ["S1"]}}}]}
    jsonschema.validate(doc, schema)
    doc["rules"][0]["when"] = {"custom.severity": {"older_than": "3 days"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)
    published = json.loads(Path(__file__).parents[2].joinpath("rules", "flowkeeper-rules.schema.json").read_text())
    assert "^custom\\.[A-Za-z0-9_]{1,64}$" in published["$defs"]["condition"]["patternProperties"]


def test_a_missing_custom_field_pushes_down_to_jql(tmp_path: Path) -> None:
    from integration.trackers.jira.jql import to_jql

    rules = load(tmp_path, RULES.replace("on: [updated, schedule]", "on: [updated, schedule]\n    teams: [OPS]"))
    query = rules.rules[0].pushdown(NOW)
    assert query.custom_empty == ("severity",)
    jql = to_jql(query, {"severity": "customfield_10050"})
    assert 'cf[10050] is EMPTY' in jql and jql.startswith('project in ("OPS") AND ((statusCategory')
    # a name the deployment does not map narrows nothing: the search stays a superset
    assert "cf[" not in to_jql(query, {})
    present = load(tmp_path, RULES.replace("missing: true", "present: true")).rules[0].pushdown(NOW)
    assert "cf[10050] is not EMPTY" in to_jql(present, {"severity": "customfield_10050"})
