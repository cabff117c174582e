"""Clocks: label added, field changed, one party's activity, the later of two; in rules and explain."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from rules.clocks import actor_key, field_key, label_key, subtask_key
from rules.engine import evaluate
from rules.errors import RuleFileError
from rules.model import EvalContext, Person, RuleState
from rules.ruleset import RuleSet
from rules.verdicts import explain
from tests.rules.helpers import ADA, NOW, item, one_rule

REPORTER = Person("u-rep", "Rita Reporter")
GRACE = Person("u-grace", "Grace")


def holds(rs: RuleSet, clocks: dict[str, object], **fields: object) -> bool:
    return bool(evaluate(rs, item(**fields), None, NOW, EvalContext(clocks=clocks)).actions)  # type: ignore[arg-type]


def test_label_added_counts_from_when_the_label_went_on(tmp_path: Path) -> None:
    rs = one_rule(tmp_path, "label_added: { label: Stale, older_than: 7 days }")
    assert holds(rs, {label_key("stale"): NOW - timedelta(days=8)})
    assert not holds(rs, {label_key("stale"): NOW - timedelta(days=6)})
    assert not holds(rs, {})  # never added: no clock, no verdict


def test_field_changed_starts_an_sla_at_a_priority_change(tmp_path: Path) -> None:
    rs = one_rule(tmp_path, "field_changed: { field: priority, older_than: 4 hours }")
    assert holds(rs, {field_key("priority"): NOW - timedelta(hours=5)})
    assert not holds(rs, {field_key("priority"): NOW - timedelta(hours=3), field_key("estimate"): NOW})


def test_only_the_reporters_reply_counts_for_awaiting_info(tmp_path: Path) -> None:
    rs = one_rule(tmp_path, "activity_by: { party: reporter, older_than: 3 days }")
    quiet_reporter = {actor_key("u-rep"): NOW - timedelta(days=5), actor_key("u-ada"): NOW}
    assert holds(rs, quiet_reporter, reporter=REPORTER)
    assert not holds(rs, {actor_key("u-rep"): NOW - timedelta(days=1)}, reporter=REPORTER)
    assert not holds(rs, quiet_reporter, reporter=None)


def test_others_means_anyone_but_the_assignee(tmp_path: Path) -> None:
    rs = one_rule(tmp_path, "activity_by: { party: others, newer_than: 1 days }")
    assert not holds(rs, {actor_key(ADA.id): NOW - timedelta(hours=1)}, assignee=ADA)
    assert holds(rs, {actor_key(ADA.id): NOW, actor_key(GRACE.id): NOW - timedelta(hours=2)}, assignee=ADA)


def test_the_later_of_two_clocks(tmp_path: Path) -> None:
    rs = one_rule(tmp_path, "later_of: { clocks: [last_activity, { label_added: stale }], older_than: 7 days }")
    old = NOW - timedelta(days=10)
    assert holds(rs, {label_key("stale"): old}, last_activity_at=old)
    assert not holds(rs, {label_key("stale"): NOW - timedelta(days=2)}, last_activity_at=old)  # label is later
    assert not holds(rs, {}, last_activity_at=NOW - timedelta(days=1))


def test_a_rules_clock_drives_its_ladder_and_explain_says_where_it_came_from(tmp_path: Path) -> None:
    rs = one_rule(tmp_path, "labels: stale", extra="""clock: { label_added: stale }
            escalate:
              - after: 7 days
                then: [ { comment: closing soon } ]""")
    state = EvalContext(rule_states={"r": RuleState("r", 1, True, NOW, frozenset({"0"}))},
                        clocks={label_key("stale"): NOW - timedelta(days=8)})
    plan = evaluate(rs, item(labels=("stale",)), None, NOW, state)
    assert [a.step for a in plan.actions] == ["1"]
    assert "escalation step 1: label_added(stale) older than 7 days" in plan.actions[0].reason
    (verdict,) = explain(rs, item(labels=("stale",)), None, NOW, state)
    assert verdict.clock == "label_added(stale): 2026-03-05 12:00 UTC (mirror history: 'stale' added)"
    assert "clock label_added(stale): 2026-03-05 12:00 UTC" in verdict.format_text()


def test_explain_shows_a_clock_conditions_value_and_source(tmp_path: Path) -> None:
    rs = one_rule(tmp_path, "activity_by: { party: reporter, older_than: 3 days }")
    context = EvalContext(clocks={actor_key("u-rep"): NOW - timedelta(days=5)})
    (verdict,) = explain(rs, item(reporter=REPORTER), None, NOW, context)
    assert verdict.trace.label == "activity_by(reporter)"
    assert verdict.trace.actual == ("2026-03-08 12:00 UTC (mirror history: activity by the reporter "
                                    "(Rita Reporter))")
    (default,) = explain(one_rule(tmp_path, "labels: x"), item(), None, NOW, EvalContext())
    assert default.clock == "last_activity: 2026-03-02 09:00 UTC (mirror: last human activity)"


@pytest.mark.parametrize(("condition", "message"), [
    ("label_added: { older_than: 7 days }", "label"),
    ("later_of: { clocks: [last_activity], older_than: 1 days }", "clocks"),
    ("activity_by: { party: watcher, older_than: 1 days }", "party"),
    ("field_changed: { field: priority, older_than: soon }", "older_than"),
])
def test_clock_mistakes_are_rule_file_errors(tmp_path: Path, condition: str, message: str) -> None:
    with pytest.raises(RuleFileError, match=message):
        one_rule(tmp_path, condition)


CHAINED = """clock: last_activity
            escalate:
              - after: 5 days
                then: [ { add_labels: [stalled] } ]
              - after: 7 days
                from: previous_step
                then: [ { comment: "{{ key }}: a week since it was marked stalled, escalating" } ]"""


def _steps(rs: RuleSet, state: RuleState | None) -> list[str]:
    context = EvalContext(rule_states={"r": state} if state is not None else {})
    return [a.step for a in evaluate(rs, item(last_activity_at=NOW - timedelta(days=30)), None, NOW, context).actions]


def test_a_ladder_step_counts_from_when_the_previous_step_was_done(tmp_path: Path) -> None:
    rs = one_rule(tmp_path, "labels: { none_of: [on-hold] }", extra=CHAINED)
    day = timedelta(days=1)
    opened = NOW - 20 * day
    # quiet for 30 days: step 1 is due by the clock; step 2 waits for step 1 to have been done 7 days
    assert _steps(rs, RuleState("r", 1, True, opened, frozenset({"0"}), opened, (("0", opened),))) == ["1"]
    step1 = NOW - 7 * day  # done exactly 7 × 24 h ago: not more than 7 days
    done = RuleState("r", 1, True, opened, frozenset({"0", "1"}), step1, (("0", opened), ("1", step1)))
    assert _steps(rs, done) == []
    earlier = NOW - 7 * day - timedelta(minutes=1)
    done = RuleState("r", 1, True, opened, frozenset({"0", "1"}), earlier, (("0", opened), ("1", earlier)))
    [step] = evaluate(rs, item(last_activity_at=NOW - timedelta(days=30)), None, NOW,
                      EvalContext(rule_states={"r": done})).actions
    assert step.step == "2" and "escalation step 2: step 1 done more than 7 days ago" in step.reason
    # a step recorded without its time counts from the episode's last action (never earlier than the truth)
    untimed = RuleState("r", 1, True, opened, frozenset({"0", "1"}), NOW - 2 * day)
    assert _steps(rs, untimed) == []


def test_the_first_chained_rung_counts_from_the_rules_then(tmp_path: Path) -> None:
    rs = one_rule(tmp_path, "labels: { none_of: [on-hold] }", extra="""escalate:
              - after: 3 days
                from: previous_step
                then: [ { comment: second nudge } ]""")
    opened = NOW - 4 * timedelta(days=1)
    assert _steps(rs, None) == ["0"]  # a new episode: the rule's own `then` first, never the rung at once
    assert _steps(rs, RuleState("r", 1, True, opened, frozenset({"0"}), opened, (("0", opened),))) == ["1"]
    recent = NOW - timedelta(days=2)
    assert _steps(rs, RuleState("r", 1, True, opened, frozenset({"0"}), recent, (("0", recent),))) == []


def test_a_chained_ladder_keeps_its_written_order_and_explain_shows_each_rungs_start(tmp_path: Path) -> None:
    rs = one_rule(tmp_path, "labels: { none_of: [on-hold] }", extra=CHAINED.replace("7 days", "2 days"))
    assert [str(s.after) for s in rs.rules[0].steps[1:]] == ["5 days", "2 days"]  # not sorted by length
    step1 = NOW - timedelta(days=3)
    state = RuleState("r", 1, True, step1, frozenset({"0", "1"}), step1, (("1", step1),))
    (verdict,) = explain(rs, item(), None, NOW, EvalContext(rule_states={"r": state}))
    assert verdict.clock == ("last_activity: 2026-03-02 09:00 UTC (mirror: last human activity); "
                             "step 2 from step 1 done: 2026-03-10 12:00 UTC (rule state: when it was done)")
    (fresh,) = explain(rs, item(), None, NOW, EvalContext())
    assert fresh.clock.endswith("step 2 from step 1 done: — (step 1 not done in this episode)")


def test_from_takes_clock_or_previous_step(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="from"):
        one_rule(tmp_path, "labels: x", extra="""escalate:
              - after: 3 days
                from: last_step
                then: [ { comment: x } ]""")


def test_activity_rolls_up_from_sub_tasks_when_the_rule_asks(tmp_path: Path) -> None:
    """Flink's bot: neither the item itself nor its sub-tasks have been updated for 30 days."""
    rolled = one_rule(tmp_path, "with_subtasks: { clock: last_activity, older_than: 30 days }")
    own_only = one_rule(tmp_path, "last_activity: { older_than: 30 days }")
    quiet = NOW - timedelta(days=40)
    busy_child = {subtask_key("last_activity"): NOW - timedelta(days=2)}
    assert not holds(rolled, busy_child, last_activity_at=quiet)  # a sub-task moved 2 days ago
    assert holds(own_only, busy_child, last_activity_at=quiet)  # per rule: without it, only the item counts
    assert holds(rolled, {subtask_key("last_activity"): NOW - timedelta(days=35)}, last_activity_at=quiet)
    assert holds(rolled, {}, last_activity_at=quiet)  # no sub-tasks: the item's own clock
    assert not holds(rolled, {subtask_key("last_activity"): quiet}, last_activity_at=NOW - timedelta(days=1))
    assert "subtasks" in rolled.rules[0].fields_read and rolled.reads_subtasks and not own_only.reads_subtasks


def test_explain_says_whether_a_sub_task_set_the_rolled_up_clock(tmp_path: Path) -> None:
    rs = one_rule(tmp_path, "labels: x", extra="clock: { with_subtasks: updated }")
    context = EvalContext(clocks={subtask_key("updated"): NOW - timedelta(days=1)})
    (verdict,) = explain(rs, item(), None, NOW, context)
    assert verdict.clock == "with_subtasks(updated): 2026-03-12 12:00 UTC (mirror: a sub-task's updated, later than the item's own)"
    (alone,) = explain(rs, item(), None, NOW, EvalContext())
    assert alone.clock == ("with_subtasks(updated): 2026-03-12 00:00 UTC (the item's own updated (the tracker's item); "
                           "no sub-task in the mirror)")
    assert rs.reads_subtasks
