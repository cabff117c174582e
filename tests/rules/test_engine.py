"""Pure engine tests: Plans for items, events and contexts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rules.engine import evaluate
from rules.model import (
    ActorKind,
    Change,
    CommentBody,
    EpisodeChange,
    EvalContext,
    Event,
    EventKind,
    Link,
    Mention,
    Person,
    Priority,
    RuleState,
    Status,
    StatusCategory,
    Text,
    Tracker,
)
from rules.ruleset import RuleSet
from tests.rules.helpers import ADA, NOW, item, load

STALLED = """
version: 1
rules:
  - name: stalled-in-progress
    description: Work in progress with no activity for 5 business days gets flagged.
    on: [schedule, updated]
    when:
      all:
        - status.category: in_progress
        - last_activity: { older_than: 5 business days }
        - labels: { none_of: [on-hold, blocked] }
    then:
      - flag:
          label: stalled
          comment: "{{ assignee.mention }} no activity for {{ last_activity | age }} in {{ status.name }}."
          clear_comment: "Moving again, flag cleared."
"""


@pytest.fixture
def stalled(tmp_path: Path) -> RuleSet:
    return load(tmp_path, STALLED)


def kinds(plan: object) -> list[tuple[str, tuple[str, ...]]]:
    return [(a.kind.value, a.labels) for a in plan.actions]  # type: ignore[attr-defined]


def test_flag_opens_an_episode_with_label_and_mention(stalled: RuleSet) -> None:
    plan = evaluate(stalled, item(), None, NOW, EvalContext())
    assert kinds(plan) == [("add_labels", ("stalled",)), ("comment", ())]
    comment = plan.actions[1].comment
    assert comment == CommentBody((Mention(ADA), Text(" no activity for 9 business days in In Progress.")))
    assert plan.transitions[0].change is EpisodeChange.OPEN and plan.transitions[0].episode == 1
    assert all(a.rule == "stalled-in-progress" and a.episode == 1 and a.step == "0" for a in plan.actions)
    assert "last_activity older than 5 business days" in plan.actions[0].reason


def test_acts_once_per_episode(stalled: RuleSet) -> None:
    ctx = EvalContext(rule_states={"stalled-in-progress": RuleState("stalled-in-progress", 1, True, NOW,
                                                                      frozenset({"0"}))})
    plan = evaluate(stalled, item(labels=("stalled",)), None, NOW + timedelta(days=1), ctx)
    assert plan.actions == () and plan.transitions == ()
    assert plan.no_actions[0].reason == "already acted in episode 1 (step 0)"


def test_activity_clears_the_flag_and_closes_the_episode(stalled: RuleSet) -> None:
    ctx = EvalContext(rule_states={"stalled-in-progress": RuleState("stalled-in-progress", 1, True, NOW,
                                                                      frozenset({"0"}))})
    moved = item(labels=("stalled",), last_activity_at=NOW - timedelta(hours=1))
    event = Event(Tracker.JIRA, EventKind.COMMENT_CREATED, moved, NOW, actor=ADA)
    plan = evaluate(stalled, moved, event, NOW, ctx)  # not a trigger of the rule, still clears
    assert kinds(plan) == [("remove_labels", ("stalled",)), ("comment", ())]
    assert plan.transitions[0].change is EpisodeChange.CLOSE
    assert plan.actions[0].step == "close-0" and "no longer holds" in plan.actions[0].reason


def test_reflag_later_opens_episode_two(stalled: RuleSet) -> None:
    ctx = EvalContext(rule_states={"stalled-in-progress": RuleState("stalled-in-progress", 1, False)})
    plan = evaluate(stalled, item(), None, NOW, ctx)
    assert plan.transitions[0].episode == 2 and plan.actions[0].episode == 2


def test_not_holding_gives_a_lazy_reason(stalled: RuleSet) -> None:
    plan = evaluate(stalled, item(status=Status("Done", StatusCategory.DONE)), None, NOW, EvalContext())
    assert plan.actions == ()
    assert plan.no_actions[0].reason == "condition does not hold: status.category is done, expected equals in_progress"
    fresh = evaluate(stalled, item(last_activity_at=NOW - timedelta(days=1)), None, NOW, EvalContext())
    assert callable(fresh.no_actions[0].why)  # built only when someone reads it
    assert fresh.no_actions[0].reason == ("condition does not hold: last_activity is 2026-03-12 12:00 UTC, "
                                          "expected older than 5 business days (before 2026-03-06 12:00 UTC)")


def test_trigger_filtering(stalled: RuleSet) -> None:
    event = Event(Tracker.JIRA, EventKind.CREATED, item(), NOW, actor=ADA)
    plan = evaluate(stalled, item(), event, NOW, EvalContext())
    assert plan.actions == ()
    assert plan.no_actions[0].reason == "not triggered by 'created' (on: schedule, updated)"


def test_flowkeeper_own_events_do_nothing(stalled: RuleSet) -> None:
    me = Person("fk", "Flowkeeper", kind=ActorKind.FLOWKEEPER)
    event = Event(Tracker.JIRA, EventKind.UPDATED, item(), NOW, actor=me)
    plan = evaluate(stalled, item(), event, NOW, EvalContext())
    assert plan.actions == () and "Flowkeeper's own write" in plan.no_actions[0].reason


def test_overrides_disable_and_set_dry_run(stalled: RuleSet) -> None:
    off = EvalContext(overrides={"stalled-in-progress": {"enabled": False}})
    assert evaluate(stalled, item(), None, NOW, off).no_actions[0].reason == "rule is disabled"
    dry = EvalContext(overrides={"stalled-in-progress": {"dry_run": True}})
    assert all(a.dry_run for a in evaluate(stalled, item(), None, NOW, dry).actions)


def test_admin_override_wins_over_the_files_dry_run(tmp_path: Path) -> None:
    """The admin page can take a rule out of its file's dry run (the global dry run still applies apart)."""
    rs = load(tmp_path, STALLED.replace("    on: [schedule, updated]", "    on: [schedule]\n    dry_run: true"))
    assert all(a.dry_run for a in evaluate(rs, item(), None, NOW, EvalContext()).actions)
    ctx = EvalContext(overrides={"stalled-in-progress": {"dry_run": False, "enabled": True}})
    actions = evaluate(rs, item(), None, NOW, ctx).actions
    assert actions and not any(a.dry_run for a in actions)


def test_snooze_and_exemptions(stalled: RuleSet) -> None:
    snoozed = EvalContext(snoozed_until=NOW + timedelta(days=2))
    plan = evaluate(stalled, item(), None, NOW, snoozed)
    assert plan.actions == () and plan.no_actions[0].reason.startswith("snoozed until 2026-03-15")
    plan = evaluate(stalled, item(labels=("flowkeeper-snoozed",)), None, NOW, EvalContext())
    assert plan.actions == () and "flowkeeper-snoozed" in plan.no_actions[0].reason
    ignored = EvalContext(exempt_rules=frozenset({"stalled-in-progress"}),
                          rule_states={"stalled-in-progress": RuleState("stalled-in-progress", 1, True)})
    plan = evaluate(stalled, item(labels=("stalled",)), None, NOW, ignored)
    assert kinds(plan)[0] == ("remove_labels", ("stalled",))
    assert "exempted from this rule" in plan.actions[0].reason


def test_bot_activity_does_not_reset_the_clock(stalled: RuleSet) -> None:
    bot = Person("b1", "Automation", kind=ActorKind.BOT)
    bumped = item(updated_at=NOW)  # a bot touched it: updated moves, last_activity does not
    event = Event(Tracker.JIRA, EventKind.UPDATED, bumped, NOW, actor=bot)
    assert kinds(evaluate(stalled, bumped, event, NOW, EvalContext()))[0] == ("add_labels", ("stalled",))


def test_clock_from_the_context_when_the_item_lacks_it(stalled: RuleSet) -> None:
    ctx = EvalContext(last_activity_by={"any": datetime(2026, 3, 1, tzinfo=UTC)})
    assert evaluate(stalled, item(last_activity_at=None), None, NOW, ctx).actions


def test_partial_payload_is_unknown_not_empty(stalled: RuleSet) -> None:
    partial = item(unknown=frozenset({"labels"}))
    plan = evaluate(stalled, partial, None, NOW, EvalContext())
    assert plan.actions == () and plan.no_actions[0].reason == "the payload did not carry labels"


def test_scope_by_tracker_and_team(tmp_path: Path) -> None:
    rs = load(tmp_path, STALLED.replace("    on: [schedule, updated]",
                                        "    on: [schedule]\n    trackers: [linear]\n    teams: [APP]"))
    assert "applies to linear, not jira" in evaluate(rs, item(), None, NOW, EvalContext()).no_actions[0].reason
    linear = item(tracker=Tracker.LINEAR, team="WEB")
    assert "team WEB is not in APP" in evaluate(rs, linear, None, NOW, EvalContext()).no_actions[0].reason


LADDER = """
version: 1
rules:
  - name: stalled-ladder
    description: Nudge at 3 business days, flag at 5, escalate at 8.
    on: [schedule]
    repeat_after: 2 days
    when:
      all:
        - status.category: in_progress
        - last_activity: { older_than: 3 business days }
    then:
      - comment: "{{ assignee.mention }} anything blocking {{ key }}?"
    escalate:
      - after: 8 business days
        then:
          - add_labels: [escalated]
          - comment: "Escalating {{ key }} (step {{ step }})."
      - after: 5 business days
        then:
          - flag: { label: stalled, comment: "Flagged after {{ last_activity | age }}." }
"""


def test_escalation_ladder_climbs_one_step_at_a_time(tmp_path: Path) -> None:
    rs = load(tmp_path, LADDER)
    t0 = datetime(2026, 3, 2, 12, tzinfo=UTC)  # Monday
    day4 = evaluate(rs, item(last_activity_at=t0), None, datetime(2026, 3, 6, 13, tzinfo=UTC), EvalContext())
    assert kinds(day4) == [("comment", ())] and day4.actions[0].step == "0"
    state = RuleState("stalled-ladder", 1, True, datetime(2026, 3, 6, 13, tzinfo=UTC), frozenset({"0"}))
    day6 = evaluate(rs, item(last_activity_at=t0), None, datetime(2026, 3, 10, 13, tzinfo=UTC),
                    EvalContext(rule_states={"stalled-ladder": state}))
    assert kinds(day6) == [("add_labels", ("stalled",)), ("comment", ())] and day6.actions[0].step == "1"
    assert "escalation step 1: last_activity older than 5 business days" in day6.actions[0].reason


def test_ladder_discovered_late_catches_up_labels_without_spamming(tmp_path: Path) -> None:
    rs = load(tmp_path, LADDER)
    plan = evaluate(rs, item(last_activity_at=datetime(2026, 2, 2, tzinfo=UTC)), None, NOW, EvalContext())
    assert kinds(plan) == [("add_labels", ("stalled",)), ("add_labels", ("escalated",)), ("comment", ())]
    assert [a.step for a in plan.actions] == ["1", "2", "2"]
    assert plan.actions[2].comment is not None and plan.actions[2].comment.plain == "Escalating ENG-1 (step 2)."


def test_repeat_after_reminds_on_the_current_step(tmp_path: Path) -> None:
    rs = load(tmp_path, LADDER)
    t0 = datetime(2026, 3, 2, 12, tzinfo=UTC)
    opened = datetime(2026, 3, 6, 13, tzinfo=UTC)
    state = RuleState("stalled-ladder", 1, True, opened, frozenset({"0"}))
    ctx = EvalContext(rule_states={"stalled-ladder": state})
    early = evaluate(rs, item(last_activity_at=t0), None, opened + timedelta(days=1), ctx)
    assert early.actions == () and "next reminder after 2 days" in early.no_actions[0].reason
    t_day = datetime(2026, 3, 3, 12, tzinfo=UTC)
    later = evaluate(rs, item(last_activity_at=t_day), None, opened + timedelta(days=2, hours=1), ctx)
    assert kinds(later) == [("comment", ())] and later.actions[0].step == "repeat-1"


def test_lost_state_still_clears_a_stray_flag(stalled: RuleSet) -> None:
    plan = evaluate(stalled, item(labels=("stalled",), status=Status("Done", StatusCategory.DONE)), None, NOW,
                    EvalContext())
    assert kinds(plan)[0] == ("remove_labels", ("stalled",)) and plan.transitions == ()


CONVENTIONS = """
version: 1
rules:
  - name: wip-limit
    description: No more than 3 items in progress per person.
    on: [status_changed]
    when:
      all:
        - changed: { field: status.category, to: in_progress }
        - assignee.wip: { gt: 3 }
    then: [ { comment: "{{ assignee.mention }} you have {{ wip }} items in progress." } ]
  - name: bug-needs-priority
    description: A bug needs a priority.
    on: [created, updated]
    when:
      all:
        - type: bug
        - any: [ { priority: { missing: true } }, { priority.rank: { gt: 4 } } ]
        - not: { labels: { any_of: [wontfix] } }
        - actor: { kind: human }
    then: [ { add_labels: [needs-priority] } ]
  - name: blocked-in-progress
    description: In progress while blocked by an open item.
    on: [schedule]
    when: { all: [ { status.category: in_progress }, { blocked_by_open: true } ] }
    then: [ { comment: "Blocked: {{ title }}" } ]
"""


def test_wip_limit_counts_from_the_context(tmp_path: Path) -> None:
    rs = load(tmp_path, CONVENTIONS)
    started = Event(Tracker.JIRA, EventKind.UPDATED, item(), NOW, actor=ADA,
                    changes=(Change("status", Status("To Do", StatusCategory.TODO),
                                    Status("In Progress", StatusCategory.IN_PROGRESS)),))
    plan = evaluate(rs, item(), started, NOW, EvalContext(wip_by_assignee={"u-ada": 4}))
    assert [a.rule for a in plan.actions] == ["wip-limit"]
    assert plan.actions[0].comment is not None
    assert plan.actions[0].comment.plain == "@Ada Lovelace you have 4 items in progress."
    assert evaluate(rs, item(), started, NOW, EvalContext(wip_by_assignee={"u-ada": 3})).actions == ()


def test_combinators_and_actor(tmp_path: Path) -> None:
    rs = load(tmp_path, CONVENTIONS)
    bug = item(type="Bug", priority=Priority("Lowest", 5))
    human = Event(Tracker.JIRA, EventKind.CREATED, bug, NOW, actor=ADA)
    assert [a.labels for a in evaluate(rs, bug, human, NOW, EvalContext()).actions] == [("needs-priority",)]
    bot = Event(Tracker.JIRA, EventKind.CREATED, bug, NOW, actor=Person("b", kind=ActorKind.BOT))
    assert evaluate(rs, bug, bot, NOW, EvalContext()).actions == ()
    wontfix = bug.with_fields(labels=("WontFix",))
    assert evaluate(rs, wontfix, human.__class__(Tracker.JIRA, EventKind.CREATED, wontfix, NOW, actor=ADA),
                    NOW, EvalContext()).actions == ()
    assert evaluate(rs, bug.with_fields(labels=("needs-priority",)), human, NOW, EvalContext()).actions == ()


def test_blocked_by_open_only_where_the_tracker_says(tmp_path: Path) -> None:
    rs = load(tmp_path, CONVENTIONS)
    open_blocker = item(links=(Link("blocked_by", "ENG-2", StatusCategory.TODO),))
    assert [a.rule for a in evaluate(rs, open_blocker, None, NOW, EvalContext()).actions] == ["blocked-in-progress"]
    unknown = item(links=(Link("blocked_by", "ENG-2", None),))
    done = item(links=(Link("blocked_by", "ENG-2", StatusCategory.DONE),))
    assert evaluate(rs, unknown, None, NOW, EvalContext()).actions == ()
    assert evaluate(rs, done, None, NOW, EvalContext()).actions == ()


def test_pushdown_keeps_flagged_items_and_never_bounds_updated_by_activity(stalled: RuleSet) -> None:
    query = stalled.rules[0].pushdown(NOW)
    assert query.status_categories == (StatusCategory.IN_PROGRESS,)
    assert query.labels_none_of == ("blocked", "on-hold")
    assert query.always_include_labels == ("stalled",)
    assert query.updated_before is None


def test_pushdown_bounds_updated_when_the_rule_reads_updated(tmp_path: Path) -> None:
    rs = load(tmp_path, STALLED.replace("last_activity: { older_than: 5 business days }",
                                        "updated: { older_than: 30 days }"))
    assert rs.rules[0].pushdown(NOW).updated_before == NOW - timedelta(days=30)


def test_clock_choices_read_human_activity_by_kind(tmp_path: Path) -> None:
    rs = load(tmp_path, """
        version: 1
        rules:
          - name: no-status-move
            description: In progress without a human status change for 10 business days.
            on: [schedule]
            clock: last_status_change
            when:
              all:
                - status.category: in_progress
                - last_status_change: { older_than: 10 business days }
            then: [ { flag: { label: stuck } } ]
            escalate:
              - after: 15 business days
                then: [ { comment: "still stuck" } ]
    """)
    ctx = EvalContext(last_activity_by={"status": datetime(2026, 2, 20, tzinfo=UTC), "any": NOW})
    plan = evaluate(rs, item(), None, NOW, ctx)
    assert kinds(plan) == [("add_labels", ("stuck",)), ("comment", ())] and plan.actions[1].step == "1"
    assert evaluate(rs, item(), None, NOW, EvalContext(last_activity_by={"any": NOW})).actions == ()


def test_each_cleared_flag_of_a_ladder_is_its_own_write() -> None:
    """Moving an item clears every rung's flag; each removal has its own identity, so a write
    claim taken for one never swallows the other."""
    from rules.loader import builtin_pack_paths, load_ruleset

    rs = load_ruleset([p for p in builtin_pack_paths() if p.name == "stalled.yml"])
    state = RuleState("stalled-in-progress", 1, True, NOW - timedelta(days=9), frozenset({"0", "1"}))
    moved = item(labels=("stalled", "escalated"), last_activity_at=NOW - timedelta(hours=1))
    event = Event(Tracker.JIRA, EventKind.COMMENT_CREATED, moved, NOW, actor=ADA)
    plan = evaluate(rs, moved, event, NOW, EvalContext(rule_states={"stalled-in-progress": state}))
    removals = [a for a in plan.actions if a.kind.value == "remove_labels"]
    assert sorted(label for a in removals for label in a.labels) == ["escalated", "stalled"]
    assert len({a.identity for a in removals}) == len(removals) == 2


def test_contradictory_categories_never_hold_and_do_not_crash(tmp_path: Path) -> None:
    rs = load(tmp_path, """
        version: 1
        rules:
          - name: never
            description: asks for two categories at once
            on: schedule
            when: { all: [ { status.category: todo }, { status.category: done } ] }
            then: [ { add_labels: [x] } ]
        """)
    plan = evaluate(rs, item(), None, NOW, EvalContext())
    assert plan.actions == () and "status.category is in_progress" in plan.no_actions[0].reason


def test_a_persons_label_with_a_flags_name_is_theirs(stalled: RuleSet) -> None:
    done = item(labels=("stalled",), status=Status("Done", StatusCategory.DONE))
    theirs = evaluate(stalled, done, None, NOW, EvalContext(own_labels=frozenset()))
    assert theirs.actions == ()  # not Flowkeeper's flag: not removed, no clear comment
    ours = evaluate(stalled, done, None, NOW, EvalContext(own_labels=frozenset({"stalled"})))
    assert kinds(ours)[0] == ("remove_labels", ("stalled",))
    episode = EvalContext(rule_states={"stalled-in-progress": RuleState("stalled-in-progress", 1, True, NOW,
                                                                        frozenset({"0"}))},
                          own_labels=frozenset())
    closing = evaluate(stalled, done, None, NOW, episode)  # the episode closes; the person's label stays
    assert closing.actions == () and closing.transitions[0].change is EpisodeChange.CLOSE


def test_items_needing_nothing_get_the_same_verdicts_as_the_full_evaluation() -> None:
    """The shortcut for items no rule acts on gives every rule one verdict of the same kind as
    running every rule does (the shared gate verdicts name the first failing gate)."""
    from rules.loader import builtin_pack_paths, load_ruleset

    packs = load_ruleset(builtin_pack_paths())
    long_way = EvalContext(exempt_rules=frozenset({"no-such-rule"}))  # forces every rule to run
    done, todo = Status("Done", StatusCategory.DONE), Status("To Do", StatusCategory.TODO)
    items = [item(status=done), item(status=todo), item(status=done, labels=("Backend",)),
             item(tracker=Tracker.LINEAR, status=todo, labels=("on-hold",)), item(type="Bug", status=todo),
             item(last_activity_at=NOW - timedelta(minutes=5)), item(title="broken.", status=done)]
    events = [None, Event(Tracker.JIRA, EventKind.CREATED, item(), NOW, actor=ADA),
              Event(Tracker.JIRA, EventKind.UPDATED, item(), NOW, actor=ADA,
                    changes=(Change("status", "To Do", "In Progress"),))]
    shortcut_taken = 0
    for it in items:
        for event in events:
            fast = evaluate(packs, it, event, NOW, EvalContext())
            full = evaluate(packs, it, event, NOW, long_way)
            assert (fast.actions, fast.transitions) == (full.actions, full.transitions)
            assert ({v.rule: v.reason.split(":")[0] for v in fast.no_actions}
                    == {v.rule: v.reason.split(":")[0] for v in full.no_actions})
            assert {v.rule for v in fast.no_actions} | {a.rule for a in fast.actions} == {r.name for r in packs.rules}
            shortcut_taken += not fast.actions and all(not callable(v.why) for v in fast.no_actions)
    assert shortcut_taken  # some of these items needed nothing from any rule


def test_own_writes_name_every_rule_each_time(stalled: RuleSet) -> None:
    me = Person("fk", "Flowkeeper", kind=ActorKind.FLOWKEEPER)
    event = Event(Tracker.JIRA, EventKind.UPDATED, item(), NOW, actor=me)
    first, again = (evaluate(stalled, item(key=k), event, NOW, EvalContext()) for k in ("ENG-1", "ENG-2"))
    assert first.item.key == "ENG-1" and again.item.key == "ENG-2"
    assert [v.rule for v in again.no_actions] == ["stalled-in-progress"]
    assert again.no_actions[0].reason == first.no_actions[0].reason == "event caused by Flowkeeper's own write"
