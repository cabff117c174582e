"""Every event kind a normalizer can produce is judged or skipped with a reason, never a crash.

An edited comment (`comment_updated`) once raised KeyError in the engine's trigger gate
because the trigger table was a hand-kept list; these tests drive every EventKind against
rules listening to every trigger, with items in every state the gate distinguishes.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.engine import evaluate
from rules.model import (
    ActorKind,
    Change,
    Comment,
    EvalContext,
    Event,
    EventKind,
    Person,
    RuleState,
    Status,
    StatusCategory,
    Tracker,
)
from rules.ruleset import RuleSet
from rules.triggers import SKIPPED_KINDS, TRIGGERS
from rules.verdicts import explain
from tests.rules.helpers import NOW, every_trigger_rules, item, load


@pytest.fixture(scope="module")
def ruleset(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    return load(tmp_path_factory.mktemp("kinds"), every_trigger_rules())


_RULESETS: list[RuleSet] = []


def _shared_ruleset(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    """The module's rule set for property tests (hypothesis would print a fixture's long repr)."""
    if not _RULESETS:
        _RULESETS.append(load(tmp_path_factory.mktemp("kinds"), every_trigger_rules()))
    return _RULESETS[0]


def test_every_event_kind_is_a_trigger_or_skipped_with_a_reason() -> None:
    for kind in EventKind:
        assert (kind.value in TRIGGERS) != (kind in SKIPPED_KINDS), kind
    assert all(SKIPPED_KINDS.values())
    assert "status_changed" in TRIGGERS and "comment_updated" in TRIGGERS


def test_an_edited_comment_is_judged_like_any_other_event(ruleset: RuleSet) -> None:
    work = item(assignee=None)
    event = Event(Tracker.JIRA, EventKind.COMMENT_UPDATED, work, NOW,
                  comment=Comment("c1", "edited", Person("u-2", "Grace")))
    plan = evaluate(ruleset, work, event, NOW, EvalContext())
    acting = {a.rule for a in plan.actions}
    assert acting == {"r3-comment-updated", f"r{len(TRIGGERS)}-all"}
    silent = {n.rule: n.reason for n in plan.no_actions}
    assert silent["r2-comment-created"].startswith("not triggered by 'comment_updated'")


@pytest.mark.parametrize("kind", sorted(SKIPPED_KINDS, key=lambda k: k.value))
def test_a_skipped_kind_says_why_for_every_rule(ruleset: RuleSet, kind: EventKind) -> None:
    work = item(assignee=None)
    plan = evaluate(ruleset, work, Event(Tracker.JIRA, kind, work, NOW), NOW, EvalContext())
    assert plan.actions == () and plan.transitions == ()
    assert {n.rule for n in plan.no_actions} == {r.name for r in ruleset.rules}
    assert {n.reason for n in plan.no_actions} == {SKIPPED_KINDS[kind]}


_states = st.sampled_from([None, "open", "closed"])
_categories = st.sampled_from(list(StatusCategory))
_actors = st.sampled_from([None, *ActorKind])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(list(EventKind)), category=_categories, assigned=st.booleans(),
       flagged=st.booleans(), state=_states, actor=_actors, status_change=st.booleans(),
       tracker=st.sampled_from(list(Tracker)), deleted=st.booleans(), partial=st.booleans())
def test_every_kind_on_every_item_state_gives_a_verdict_for_every_rule(
        tmp_path_factory: pytest.TempPathFactory, kind: EventKind, category: StatusCategory, assigned: bool, flagged: bool,
        state: str | None, actor: ActorKind | None, status_change: bool, tracker: Tracker, deleted: bool,
        partial: bool) -> None:
    ruleset = _shared_ruleset(tmp_path_factory)
    work = item(tracker=tracker, status=Status("Some status", category), deleted=deleted,
                assignee=None if not assigned else item().assignee, labels=("flag-1",) if flagged else (),
                unknown=frozenset({"assignee"}) if partial else frozenset())
    changes = (Change("status", "To Do", "Some status"),) if status_change else ()
    event = Event(tracker, kind, work, NOW, actor=Person("u-9", "Lin", kind=actor) if actor else None,
                  changes=changes)
    states = {} if state is None else {"r1-updated": RuleState("r1-updated", 1, state == "open",
                                                               NOW - timedelta(days=2))}
    context = EvalContext(rule_states=states)
    plan = evaluate(ruleset, work, event, NOW, context)
    judged = {a.rule for a in plan.actions} | {n.rule for n in plan.no_actions} | {t.rule for t in plan.transitions}
    assert judged == {r.name for r in ruleset.rules}
    assert all(n.reason for n in plan.no_actions)
    verdicts = explain(ruleset, work, event, NOW, context)
    assert [v.rule for v in verdicts] == [r.name for r in ruleset.rules]
    assert all(v.format_text() for v in verdicts)


def test_a_rule_file_may_listen_to_edited_comments(tmp_path: Path) -> None:
    rules = load(tmp_path, """
        version: 1
        rules:
          - name: edited
            description: edits count
            on: comment_updated
            when: { status.category: in_progress }
            then: [{ add_labels: [edited] }]
        """)
    work = item()
    plan = evaluate(rules, work, Event(Tracker.JIRA, EventKind.COMMENT_UPDATED, work, NOW), NOW, EvalContext())
    assert [a.labels for a in plan.actions] == [("edited",)]
