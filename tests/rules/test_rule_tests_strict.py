"""Rule files' `tests:` say what is wrong in the author's terms, and explain speaks like a person."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rules.cli import main
from rules.engine import evaluate
from rules.errors import RuleFileError
from rules.model import Change, EvalContext, Event, EventKind, Person, Status, StatusCategory, Tracker
from rules.verdicts import explain, format_verdicts
from tests.rules.helpers import NOW, item, load, write_rules

RULE = """
version: 1
rules:
  - name: stalled-in-review
    description: Reviews that wait get flagged.
    on: [schedule, status_changed]
    when:
      all:
        - status.category: in_progress
        - status_entered: { older_than: 2 days }
    then: [ { add_labels: [review-stalled] } ]
tests:
"""


def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], test: str) -> str:
    path = write_rules(tmp_path, RULE + test)
    main(["test", str(path)])
    return capsys.readouterr().out


def test_an_unknown_item_key_fails_the_test_with_did_you_mean(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = run(tmp_path, capsys, """
          - name: waits three days
            now: "2026-03-13T12:00:00Z"
            item: { status: { name: In Review, category: in_progress }, status_entered_at: "2026-03-10T09:00:00Z" }
            expect: [ { rule: stalled-in-review, kind: add_labels } ]
    """)
    assert "bad test input: item: unknown field 'status_entered_at' (did you mean 'status_entered'?)" in out
    assert out.strip().endswith("0 passed, 1 failed")


def test_items_use_the_field_names_conditions_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run(tmp_path, capsys, """
          - name: waits three days
            now: "2026-03-13T12:00:00Z"
            item: { status: { name: In Review, category: in_progress }, status_entered: "2026-03-10T09:00:00Z",
                    last_activity: "2026-03-10T09:00:00Z", custom: { severity: S1 } }
            expect: [ { rule: stalled-in-review, kind: add_labels, labels: [review-stalled] } ]
    """)
    assert out.strip().endswith("1 passed, 0 failed"), out


def test_a_wrong_event_kind_names_the_kinds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run(tmp_path, capsys, """
          - name: moved
            item: { key: ENG-1 }
            event: { kind: status_change }
            expect: []
    """)
    assert "event: kind must be one of created, updated, deleted, comment_created" in out
    assert "is not a valid EventKind" not in out


def test_a_mistyped_rule_in_expect_gets_did_you_mean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run(tmp_path, capsys, """
          - name: typo
            item: { key: ENG-1 }
            expect: [ { rule: stalled-in-reveiw, kind: add_labels } ]
    """)
    assert "unknown rule 'stalled-in-reveiw' in expect (did you mean 'stalled-in-review'?)" in out


def test_explain_of_a_mistyped_rule_gets_did_you_mean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_rules(tmp_path, RULE + "  []\n")
    item_file = tmp_path / "item.json"
    item_file.write_text(json.dumps({"key": "ENG-1"}), encoding="utf-8")
    assert main(["explain", "stalled-in-reveiw", "--item", str(item_file), "--rules", str(path)]) == 2
    assert "no rule named 'stalled-in-reveiw' (did you mean 'stalled-in-review'?)" in capsys.readouterr().err


def test_a_bad_rule_name_says_which_form_is_allowed(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError) as error:
        load(tmp_path, RULE.replace("name: stalled-in-review", "name: Stalled In Review") + "  []\n")
    assert "a rule name is 1–80 lower-case letters, digits, '-' and '_'" in str(error.value)


def test_explain_prints_values_as_a_person_writes_them(tmp_path: Path) -> None:
    rules = load(tmp_path, """
        version: 1
        rules:
          - name: started
            description: Starting work is noticed.
            on: [updated]
            when:
              all:
                - changed: { field: status, to: In Progress }
                - actor: { kind: human, not_in: [release-bot] }
            then: [ { add_labels: [started] } ]
        """)
    work = item()
    event = Event(Tracker.JIRA, EventKind.UPDATED, work, NOW, actor=Person("u-1", "Ada"), changes=(
        Change("status", Status("To Do", StatusCategory.TODO), Status("In Progress", StatusCategory.IN_PROGRESS)),))
    text = format_verdicts(explain(rules, work, event, NOW, EvalContext()))
    assert "changed: To Do → In Progress" in text
    assert "(expected kind human, not in release-bot)" in text
    assert "Status(" not in text and "StatusCategory" not in text and "{'" not in text
    assert evaluate(rules, work, event, NOW, EvalContext()).actions
