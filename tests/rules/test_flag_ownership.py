"""Whose label is it: a person taking Flowkeeper's flag off is respected, and a label that was on
the item before Flowkeeper remembered putting it there is never Flowkeeper's to add or take off."""

from __future__ import annotations

from pathlib import Path

from rules.engine import evaluate
from rules.model import ActionKind, EvalContext, RuleState, Status, StatusCategory
from tests.rules.helpers import NOW, item, load

RULES = """
version: 1
rules:
  - name: unowned
    description: Work in progress has an owner.
    on: [schedule, updated]
    when:
      all:
        - status.category: in_progress
        - assignee: { missing: true }
    then:
      - flag: { label: needs-owner, comment: "{{ key }} needs an owner." }
"""
OPEN = RuleState("unowned", 1, True, NOW, frozenset({"0"}), NOW)
DONE = Status("Done", StatusCategory.DONE)


def kinds(plan: object) -> list[tuple[str, tuple[str, ...]]]:
    return [(a.kind.value, a.labels) for a in plan.actions]  # type: ignore[attr-defined]


def test_a_flag_a_person_took_off_is_not_put_back_in_the_same_episode(tmp_path: Path) -> None:
    rs = load(tmp_path, RULES)
    # Flowkeeper flagged it (step 0 done); a person took the label off; the rule still holds
    context = EvalContext(rule_states={"unowned": OPEN}, own_labels=frozenset())
    assert kinds(evaluate(rs, item(assignee=None), None, NOW, context)) == []
    # the episode ends (an owner), and a later one flags it again
    closed = RuleState("unowned", 1, False, NOW, frozenset({"0"}), NOW)
    again = evaluate(rs, item(assignee=None), None, NOW, EvalContext(rule_states={"unowned": closed},
                                                                      own_labels=frozenset()))
    assert ("add_labels", ("needs-owner",)) in kinds(again) and again.actions[0].episode == 2


def test_a_label_there_before_flowkeeper_remembered_it_is_never_flowkeepers(tmp_path: Path) -> None:
    rs = load(tmp_path, RULES)
    # the rule stops holding on an item carrying the label with no history of Flowkeeper putting it on
    moved = item(assignee=None, status=DONE, labels=("needs-owner",))
    assert kinds(evaluate(rs, moved, None, NOW, EvalContext(own_labels=frozenset()))) == []
    # even with Flowkeeper's own open episode: the label is not the one it put on
    assert [a.kind for a in evaluate(rs, moved, None, NOW, EvalContext(rule_states={"unowned": OPEN},
                                                                        own_labels=frozenset())).actions] == []
    # while one Flowkeeper remembers putting on is cleared
    assert kinds(evaluate(rs, moved, None, NOW, EvalContext(rule_states={"unowned": OPEN},
                                                            own_labels=frozenset({"needs-owner"})))) == [
        (ActionKind.REMOVE_LABELS.value, ("needs-owner",))]
