"""`flowkeeper rules simulate` over the item mirror: per-rule write counts, judged by the one judge."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from integration.cli import main
from integration.rules_cli_reads import iter_mirror, mirror_items
from integration.settings import Settings, load_settings
from integration.store.migrate import upgrade
from integration.store.mirror import HistoryEntry
from integration.store.store import Store
from rules.model import (
    ActorKind,
    EpisodeChange,
    EpisodeTransition,
    EvalContext,
    Item,
    Person,
    Status,
    StatusCategory,
    Tracker,
)
from tests.online.conftest import rules_from, write_rules

NOW = datetime(2026, 3, 13, 12, 0, tzinfo=UTC)
RULES = """
version: 1
rules:
  - name: needs-assignee
    description: Work in progress has an owner.
    on: [updated, schedule]
    when:
      all:
        - status.category: in_progress
        - assignee: { missing: true }
    then:
      - flag: { label: needs-assignee, comment: "{{ key }} has nobody assigned." }
  - name: stalled
    description: Work in progress moves at least every three days.
    on: [schedule]
    when:
      all:
        - status.category: in_progress
        - last_activity: { older_than: 3 days }
    then:
      - add_labels: [stalled]
  - name: archived
    description: Nothing here is done, so this writes nothing.
    on: [schedule]
    when: { status.category: done }
    then:
      - add_labels: [archived]
"""
OVERLOADED = """\
  - name: overloaded
    description: Nobody carries more than three items in progress.
    on: [schedule]
    when: { assignee.wip: { gt: 3 } }
    then:
      - add_labels: [overloaded]
"""
EXPECTED = """\
judged 5 items against 3 rules
needs-assignee: 2 items — 2 add labels, 2 comment
    + needs-assignee: 2
    e.g. ENG-1, DES-2
stalled: 3 items — 3 add labels
    + stalled: 3
    e.g. ENG-2, ENG-3, DES-2
archived: 0 items — no writes
"""
ADA = Person(id="u-ada", name="Ada")


def item(tracker: Tracker, key: str, assignee: Person | None = None) -> Item:
    return Item(tracker=tracker, id=f"id-{key}", key=key, title=f"Work on {key}", team=key.split("-")[0],
                status=Status("In Progress", StatusCategory.IN_PROGRESS), assignee=assignee,
                created_at=NOW - timedelta(days=20), updated_at=NOW - timedelta(days=1))


def touched(store: Store, it: Item, days: float, field: str = "status") -> None:
    """A person changed `field` `days` ago: the staleness clock."""
    entry = HistoryEntry(at=NOW - timedelta(days=days), field=field, actor_kind=ActorKind.HUMAN, new="x")
    store.mirror.record_history(it.tracker.value, it, [entry])


@pytest.fixture
def mirrored(any_store: Store) -> Store:
    """ENG-1 unowned but commented on yesterday; ENG-2 owned, quiet; ENG-3 unowned and already flagged
    (a dry-run episode: the deployment runs in dry run); ENG-4 deleted; DES-1 snoozed; DES-2 unowned, quiet.
    On SQLite and on PostgreSQL."""
    store = any_store
    jira = [item(Tracker.JIRA, "ENG-1"), item(Tracker.JIRA, "ENG-2", ADA), item(Tracker.JIRA, "ENG-3"),
            item(Tracker.JIRA, "ENG-4")]
    linear = [item(Tracker.LINEAR, "DES-1"), item(Tracker.LINEAR, "DES-2")]
    for it in jira + linear:
        store.mirror.upsert(it, NOW - timedelta(days=1))
        touched(store, it, 5)
    touched(store, jira[0], 1, field="comment")
    store.mirror.mark_deleted(jira[3], NOW)
    store.rule_states.apply("jira", "id-ENG-3", "ENG-3", "dry",
                            [EpisodeTransition("needs-assignee", EpisodeChange.OPEN, 1)],
                            [("needs-assignee", 1, "0")], NOW - timedelta(days=2))
    store.snoozes.snooze("linear", "id-DES-1", "DES-1", datetime(2100, 1, 1, tzinfo=UTC), "u-ada", None,
                                 NOW)
    store.overrides.set("stalled", NOW, dry_run=True)
    return store


@pytest.fixture
def settings(any_db_url: str) -> Settings:
    return load_settings({"DATABASE_URL": any_db_url})


def test_simulate_prints_per_rule_counts_of_the_writes_over_the_mirror(
    mirrored: Store, any_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("RULES_DIR", "REDIS_URL", "JIRA_URL", "LINEAR_API_KEY", "FLOWKEEPER_DRY_RUN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", any_db_url)
    path = write_rules(tmp_path / "changed", RULES)
    code = main(["rules", "simulate", str(path), "--now", NOW.isoformat()])
    out = capsys.readouterr().out
    assert code == 0
    assert out == EXPECTED


def test_each_item_gets_the_context_the_judge_builds(
    mirrored: Store, settings: Settings, tmp_path: Path
) -> None:
    ruleset = rules_from(tmp_path, RULES + OVERLOADED)  # a rule that reads the counts per assignee
    simulated = {it.key: (it, ctx) for it, ctx in iter_mirror(mirrored, settings, ruleset, NOW)}
    assert sorted(simulated) == ["DES-1", "DES-2", "ENG-1", "ENG-2", "ENG-3"]  # the deleted ENG-4 is left out
    eng1, eng3 = simulated["ENG-1"], simulated["ENG-3"][1]
    assert eng1[0].last_activity_at == NOW - timedelta(days=1)  # the comment yesterday, not the status change
    assert eng1[1].last_activity_by == {"any": NOW - timedelta(days=1), "comment": NOW - timedelta(days=1),
                                        "status": NOW - timedelta(days=5)}
    assert eng3.rule_states["needs-assignee"].active  # the dry-run episode: the deployment runs in dry run
    assert eng3.wip_by_assignee == {"u-ada": 1}
    assert simulated["DES-1"][1].snoozed_until == datetime(2100, 1, 1, tzinfo=UTC)
    assert simulated["DES-2"][1].snoozed_until is None and simulated["DES-2"][1].wip_by_assignee == {}
    assert eng3.overrides == {"stalled": {"dry_run": True}}


def test_items_are_read_a_page_at_a_time(mirrored: Store, settings: Settings, tmp_path: Path) -> None:
    ruleset = rules_from(tmp_path, RULES)
    whole = [(it.key, ctx) for it, ctx in iter_mirror(mirrored, settings, ruleset, NOW)]
    paged = [(it.key, ctx) for it, ctx in iter_mirror(mirrored, settings, ruleset, NOW, page_size=2)]
    assert sorted(paged, key=lambda p: p[0]) == sorted(whole, key=lambda p: p[0])


def test_the_mirror_source_is_lazy_and_uses_its_clock(mirrored: Store, settings: Settings, tmp_path: Path) -> None:
    services: Any = type("S", (), {"store": mirrored, "settings": settings})()
    source = mirror_items(services, clock=lambda: NOW)
    found: Iterator[tuple[Item, EvalContext]] = iter(source(rules_from(tmp_path, RULES)))
    assert {it.key for it, _ in found} == {"DES-1", "DES-2", "ENG-1", "ENG-2", "ENG-3"}


@pytest.mark.parametrize(
    ("migrated", "message"),
    [
        (True, "flowkeeper: the item mirror is empty: run `flowkeeper sync` first (or simulate over --items FILE.jsonl)"),
        (False, ("flowkeeper: the item mirror cannot be read (OperationalError): check DATABASE_URL and run "
                "`flowkeeper db upgrade`")),
    ],
)
def test_an_empty_or_unreadable_mirror_stops_the_simulation_with_what_to_do(
    migrated: bool, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("RULES_DIR", "REDIS_URL", "JIRA_URL", "LINEAR_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    if migrated:
        upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(SystemExit) as stopped:
        main(["rules", "simulate", str(write_rules(tmp_path / "changed", RULES))])
    assert stopped.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == message and captured.out == ""
