"""What the rules see: the one judge's context for a batch of items, for every caller alike."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from integration.judge import Judge, measured_from
from integration.settings import Settings, load_settings
from integration.store.mirror import HistoryEntry
from integration.store.store import Store
from integration.store.tables import rule_states
from rules.loader import load_ruleset
from rules.model import (
    ActorKind,
    EpisodeChange,
    EpisodeTransition,
    Item,
    Person,
    Status,
    StatusCategory,
    Tracker,
)
from rules.ruleset import RuleSet
from rules.verdicts import explain
from tests.rules.test_compiled import items

T = datetime(2026, 3, 13, 12, 0, tzinfo=UTC)
RULES = """
version: 1
rules:
  - name: stalled
    description: Work in progress moves at least every three days.
    on: [updated, schedule]
    when:
      all:
        - status.category: in_progress
        - last_activity: { older_than: 3 days }
    then:
      - add_labels: [stalled]
  - name: unowned
    description: Work in progress has an owner.
    on: [updated, schedule]
    when:
      all:
        - status.category: in_progress
        - assignee: { missing: true }
    then:
      - add_labels: [unowned]
"""


def item(number: int, assignee: Person | None = None) -> Item:
    return Item(Tracker.JIRA, f"1000{number}", f"ENG-{number}", title="Fix it", team="ENG",
                status=Status("In Progress", StatusCategory.IN_PROGRESS), assignee=assignee,
                created_at=T - timedelta(days=20), updated_at=T - timedelta(days=1))


@pytest.fixture
def ruleset(tmp_path: Path) -> RuleSet:
    path = tmp_path / "rules.yml"
    path.write_text(RULES, encoding="utf-8")
    return load_ruleset([path])


def live_settings(store_url: str) -> Settings:
    return load_settings({"DATABASE_URL": store_url, "FLOWKEEPER_DRY_RUN": "0", "JIRA_URL": "https://acme.test",
                          "JIRA_USER": "bot@acme.test", "JIRA_API_TOKEN": "t"})


@pytest.fixture
def mirrored(store: Store) -> Store:
    """ENG-1: a person changed status 6 days ago and commented 9 days ago, a bot commented yesterday;
    it has a live 'stalled' episode and a dry 'unowned' one, a snooze and an exemption. ENG-2: quiet."""
    one, two = item(1, Person("u1", "Ada")), item(2)
    for it in (one, two):
        store.mirror.upsert(it, T)
    store.mirror.record_history("jira", one, [
        HistoryEntry(T - timedelta(days=9), "comment", ActorKind.HUMAN, new="c1"),
        HistoryEntry(T - timedelta(days=6), "status", ActorKind.HUMAN, old="To Do", new="In Progress"),
        HistoryEntry(T - timedelta(days=1), "comment", ActorKind.BOT, new="c2"),
    ])
    store.rule_states.apply("jira", one.id, one.key, "live",
                            [EpisodeTransition("stalled", EpisodeChange.OPEN, 3)], [], T)
    store.rule_states.apply("jira", one.id, one.key, "dry",
                            [EpisodeTransition("unowned", EpisodeChange.OPEN, 2)], [], T)
    store.snoozes.snooze("jira", one.id, one.key, T + timedelta(days=2), "ada", "c9", T)
    store.snoozes.exempt("jira", one.id, one.key, "other-rule", "ada", "c9", T)
    return store


def test_the_context_holds_every_fact_the_rules_read(mirrored: Store, db_url: str, ruleset: RuleSet) -> None:
    judge = Judge.for_job(mirrored, live_settings(db_url), "jira", None, ruleset, writable=True)
    seen, context = judge.contexts([item(1, Person("u1", "Ada"))], T)[0]
    assert seen.last_activity_at == T - timedelta(days=6)  # the bot's comment does not count
    assert context.last_activity_by == {"any": T - timedelta(days=6), "status": T - timedelta(days=6),
                                        "comment": T - timedelta(days=9)}
    assert context.snoozed_until == T + timedelta(days=2) and context.exempt_rules == frozenset({"other-rule"})
    assert set(context.rule_states) == {"stalled"}, "a live job sees live episodes only"


WIP_CONDITION = """
version: 1
rules:
  - name: overloaded
    description: Nobody carries more than three items in progress.
    on: [updated]
    when: { all: [ { status.category: in_progress }, { assignee.wip: { gt: 3 } } ] }
    then: [ { add_labels: [overloaded] } ]
"""
WIP_COMMENT = """
version: 1
rules:
  - name: unowned
    description: Work in progress has an owner.
    on: [updated]
    when: { all: [ { status.category: in_progress }, { assignee: { missing: true } } ] }
    then: [ { comment: "Whoever takes this has {{ wip }} items in progress already." } ]
"""


@pytest.mark.parametrize("text", [WIP_CONDITION, WIP_COMMENT], ids=["condition", "comment"])
def test_the_work_in_progress_per_person_is_counted_when_a_rule_reads_it(mirrored: Store, db_url: str,
                                                                         tmp_path: Path, text: str) -> None:
    path = tmp_path / "wip.yml"
    path.write_text(text, encoding="utf-8")
    judge = Judge.for_job(mirrored, live_settings(db_url), "jira", None, load_ruleset([path]), writable=True)
    assert judge.contexts([item(1, Person("u1", "Ada"))], T)[0][1].wip_by_assignee == {"u1": 1}


def test_no_count_of_work_in_progress_is_read_when_no_rule_reads_it(mirrored: Store, db_url: str,
                                                                   ruleset: RuleSet) -> None:
    """Counting every assignee's items in progress reads the whole mirror: a job whose rules never
    look at it (neither `assignee.wip` nor `{{ wip }}`) does not pay for it."""
    assert not ruleset.reads_wip
    judge = Judge.for_job(mirrored, live_settings(db_url), "jira", None, ruleset, writable=True)
    assert judge.contexts([item(1, Person("u1", "Ada"))], T)[0][1].wip_by_assignee == {}


def test_each_rule_sees_the_episodes_of_the_mode_it_runs_in(mirrored: Store, db_url: str, ruleset: RuleSet) -> None:
    mirrored.overrides.set("stalled", T, dry_run=True)
    judge = Judge.for_job(mirrored, live_settings(db_url), "jira", None, ruleset, writable=True)
    _, context = judge.contexts([item(1)], T)[0]
    assert context.overrides == {"stalled": {"dry_run": True}}
    assert context.rule_states == {}, "stalled now runs dry (no dry episode yet); unowned runs live (none)"
    dry = Judge.for_job(mirrored, load_settings({"DATABASE_URL": db_url}), "jira", None, ruleset)
    assert dry.dry.everything and dry.contexts([item(1)], T)[0][1].rule_states["unowned"].episode == 2


def test_a_batch_is_judged_as_each_item_alone(mirrored: Store, db_url: str, ruleset: RuleSet) -> None:
    judge = Judge.for_job(mirrored, live_settings(db_url), "jira", None, ruleset, writable=True)
    batch = [item(1), item(2), item(3)]
    assert judge.contexts(batch, T) == [judge.contexts([it], T)[0] for it in batch]
    plans = judge.plans(batch, None, T)
    assert [[a.rule for a in p.actions] for p in plans] == [[], ["unowned"], ["unowned"]]  # ENG-1 is snoozed


def test_an_item_only_bots_touched_is_measured_from_its_creation(store: Store, db_url: str,
                                                                  ruleset: RuleSet) -> None:
    """A bot created it and a bot and Flowkeeper changed it since: its creation is the last activity
    that counts, so `stalled` holds although the tracker's `updated` is yesterday's."""
    quiet = item(4)
    store.mirror.upsert(quiet, T)
    store.mirror.record_history("jira", quiet, [
        HistoryEntry(T - timedelta(days=20), "created", ActorKind.BOT, new="In Progress"),
        HistoryEntry(T - timedelta(days=2), "priority", ActorKind.BOT, old="Low", new="High"),
        HistoryEntry(T - timedelta(days=1), "labels", ActorKind.FLOWKEEPER, new="+triaged"),
    ])
    judge = Judge.for_job(store, live_settings(db_url), "jira", None, ruleset, writable=True)
    seen, context = judge.contexts([quiet], T)[0]
    assert seen.last_activity_at == T - timedelta(days=20)
    assert context.last_activity_by == {"any": T - timedelta(days=20), "created": T - timedelta(days=20)}
    assert [a.rule for a in judge.plans([quiet], None, T)[0].actions] == ["stalled", "unowned"]
    (verdict, _) = explain(ruleset, seen, None, T, context)
    assert verdict.clock == ("last_activity: 2026-02-21 12:00 UTC (mirror: the item's creation; "
                             "no person's activity recorded since)")


def test_each_ladder_step_keeps_when_it_was_done(store: Store, db_url: str, ruleset: RuleSet) -> None:
    """Steps remember their own time (a later step or a reminder never moves an earlier one);
    a row written before the times were kept still reads, its steps untimed."""
    one = item(1)
    store.mirror.upsert(one, T)
    store.rule_states.apply("jira", one.id, one.key, "live", [EpisodeTransition("stalled", EpisodeChange.OPEN, 1)],
                            [("stalled", 1, "0")], T - timedelta(days=9))
    store.rule_states.apply("jira", one.id, one.key, "live", [], [("stalled", 1, "1")], T - timedelta(days=2))
    store.rule_states.apply("jira", one.id, one.key, "live", [], [("stalled", 1, "0")], T)  # a racing repeat
    judge = Judge.for_job(store, live_settings(db_url), "jira", None, ruleset, writable=True)
    state = judge.contexts([one], T)[0][1].rule_states["stalled"]
    assert state.done_at("0") == T - timedelta(days=9) and state.done_at("1") == T - timedelta(days=2)
    assert state.last_action_at == T and state.done_at("2") is None
    with store.engine.begin() as conn:
        conn.execute(update(rule_states).values(steps_done=["0", "1"]))
    old = judge.contexts([one], T)[0][1].rule_states["stalled"]
    assert old.steps_done == frozenset({"0", "1"}) and old.steps_at == () and old.done_at("0") == T


ROLLED = """
version: 1
rules:
  - name: abandoned
    description: Neither the item nor its sub-tasks had a person's activity for 10 days.
    on: [schedule]
    when:
      all:
        - status.category: in_progress
        - with_subtasks: { clock: last_activity, older_than: 10 days }
    then:
      - add_labels: [abandoned]
"""


def test_sub_tasks_activity_rolls_up_to_their_parent(store: Store, db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "rolled.yml"
    path.write_text(ROLLED, encoding="utf-8")
    rolled = load_ruleset([path])
    parent, lonely = item(1), item(2)
    child = replace(item(5), parent="ENG-1")
    gone = replace(item(6), parent="ENG-2", deleted=True)
    for it in (parent, lonely, child, gone):
        store.mirror.upsert(it, T)
    for it in (parent, lonely):
        store.mirror.record_history("jira", it, [HistoryEntry(T - timedelta(days=15), "comment", ActorKind.HUMAN)])
    store.mirror.record_history("jira", child, [
        HistoryEntry(T - timedelta(days=3), "comment", ActorKind.HUMAN, new="c1"),
        HistoryEntry(T - timedelta(days=1), "priority", ActorKind.BOT, old="Low", new="High"),  # a bot: no
    ])
    store.mirror.record_history("jira", gone, [HistoryEntry(T - timedelta(days=1), "comment", ActorKind.HUMAN)])
    judge = Judge.for_job(store, live_settings(db_url), "jira", None, rolled, writable=True)
    (_, with_child), (_, alone) = judge.contexts([parent, lonely], T)
    assert with_child.clocks["sub:last_activity"] == T - timedelta(days=3)
    assert "sub:last_activity" not in alone.clocks  # its only sub-task was deleted
    plans = judge.plans([parent, lonely], None, T)
    assert [[a.rule for a in p.actions] for p in plans] == [[], ["abandoned"]]


def test_sub_tasks_mirrored_before_the_upgrade_still_roll_up(any_db_url: str) -> None:
    from alembic import command
    from sqlalchemy import create_engine, insert

    from integration.judge.facts import subtask_clocks
    from integration.store.migrate import alembic_config, upgrade
    from integration.store.mirror import item_columns
    from integration.store.tables import items

    command.downgrade(alembic_config(any_db_url), "0008")  # a mirror from before the parent column
    engine = create_engine(any_db_url)
    child = replace(item(5), parent="ENG-1", updated_at=T - timedelta(days=2))
    with engine.begin() as conn:
        row = {k: v for k, v in item_columns(child).items() if k not in ("parent", "project")}
        conn.execute(insert(items).values(**row, synced_at=T))
    engine.dispose()
    upgrade(any_db_url)
    store = Store.connect(any_db_url)
    try:
        assert set(subtask_clocks(store, "jira", {"ENG-1": "10001"})) == {"10001"}
        assert subtask_clocks(store, "jira", {"ENG-2": "10002"}) == {}
    finally:
        store.engine.dispose()


def test_sub_tasks_are_found_through_the_parent_index(store: Store) -> None:
    from integration.judge.facts import subtasks_query

    query = subtasks_query("jira", ["ENG-1", "ENG-2"]).compile(store.engine, compile_kwargs={"literal_binds": True})
    with store.engine.connect() as conn:
        plan = " ".join(str(row[3]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}"))
    assert "ix_items_parent" in plan, plan


@settings(max_examples=200, deadline=None)
@given(items, st.sampled_from(["none", "own", "own-elsewhere", "later"]), st.booleans())
def test_the_item_judged_carries_the_mirror_activity_as_a_copy_would(item: Item, which: str, custom: bool) -> None:
    """The judged item is the tracker's item with the mirror's last human activity, every other field as it was."""
    item = replace(item, custom={"severity": "S1"}) if custom else item
    own = item.last_activity_at
    at = {"none": None, "own": own, "later": T + timedelta(hours=1),
          "own-elsewhere": own.astimezone(timezone(timedelta(hours=2))) if own else None}[which]
    got, want = measured_from(item, at), replace(item, last_activity_at=at or item.last_activity_at)
    assert [repr(getattr(got, f.name)) for f in fields(Item)] == [repr(getattr(want, f.name)) for f in fields(Item)]


CLOSED_BY_US = """
version: 1
rules:
  - name: closed-lately
    description: Items Flowkeeper closed this month.
    on: [updated, schedule]
    when:
      closed_by_flowkeeper: { newer_than: 30 days }
    then:
      - add_labels: [closed-by-flowkeeper]
"""


@pytest.mark.parametrize(("rules", "reads"), [(CLOSED_BY_US, True), (RULES, False)])
def test_flowkeepers_own_close_is_read_for_the_rules_that_ask(store: Store, db_url: str, tmp_path: Path,
                                                              rules: str, reads: bool) -> None:
    """A rule set with `closed_by_flowkeeper` (and no reopen) judges an item Flowkeeper closed as closed by
    it; a rule set that never asks does not read Flowkeeper's closes at all."""
    done = Status("Done", StatusCategory.DONE)
    closed = replace(item(1), status=done)
    store.closures.remember("jira", closed.id, "stale-close", item(1).status, done, T - timedelta(days=2))
    path = tmp_path / "rules.yml"
    path.write_text(rules, encoding="utf-8")
    ruleset = load_ruleset([path])
    judge = Judge.for_job(store, live_settings(db_url), "jira", None, ruleset, writable=True)
    _seen, context = judge.contexts([closed], T)[0]
    assert (context.closure is not None) is reads
    if reads:
        assert [a.kind.value for a in judge.plans([closed], None, T)[0].actions] == ["add_labels"]
