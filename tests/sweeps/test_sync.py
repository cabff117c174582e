"""`flowkeeper sync` backfills the mirror; the scheduled reconcile repairs what webhooks missed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from integration.stubtracker.site import Issue
from integration.sweeps.sync import reconcile, sync, updated_since
from rules.model import ActorKind
from tests.stub import ADA, BOT
from tests.sweeps.world import World

TRACKERS = ["jira", "linear"]
NOW = datetime(2026, 3, 13, 12, 0, tzinfo=UTC)
RULES = """
version: 1
rules:
  - name: stalled
    description: In progress for 5 business days without human activity gets a label.
    on: [schedule]
    teams: [ENG]
    when:
      all:
        - status.category: in_progress
        - last_activity: { older_than: 5 business days }
    then:
      - flag: { label: stalled }
"""


def site_of(world: World) -> None:
    """ENG: 6 done, 3 to do, 3 in progress (one moved by a bot), 1 done but still flagged; OPS: 4 open."""
    day = timedelta(days=1)
    specs = [("done", "Done")] * 6 + [("todo", "To Do")] * 3 + [("in_progress", "In Progress")] * 3
    for n, (category, status) in enumerate(specs, start=1):
        issue = Issue(id=str(100 + n), key=f"ENG-{n}", team="ENG", status=status, category=category,
                          updated=NOW - n * day, created=NOW - 40 * day, assignee=ADA)
        if category == "in_progress":  # the move is the last change: the record explains `updated`
            mover = BOT if n == 12 else ADA
            issue.history = [(NOW - 20 * day, "To Do", "In Progress", mover)]
            issue.status_entered = issue.updated = NOW - 20 * day
        world.site.add(issue)
    world.site.add(Issue(id="113", key="ENG-13", team="ENG", status="Done", category="done",
                             updated=NOW - day, created=NOW - 40 * day, labels=["stalled"]))
    for n in range(1, 5):
        world.site.add(Issue(id=str(200 + n), key=f"OPS-{n}", team="OPS", status="To Do", category="todo",
                                 updated=NOW - day, created=NOW - 9 * day))


@pytest.mark.parametrize("tracker", TRACKERS)
def test_sync_backfills_open_items_with_status_history(make_world: Callable[..., World], tracker: str) -> None:
    world = make_world(tracker, rules=RULES, now=NOW)
    site_of(world)
    seen: list[tuple[int, int]] = []
    report = sync(world.services, tracker, progress=lambda items, pages: seen.append((items, pages)),
                  clock=world.clock)

    assert report.items == 7 and report.new == 7 and report.history == 3  # 6 open in ENG + the flagged one
    assert seen[-1] == (7, report.pages)
    mirror = world.services.store.mirror
    assert mirror.get_by_key(tracker, "OPS-1") is None  # outside the rules' scope
    assert mirror.get_by_key(tracker, "ENG-1") is None  # done: not needed
    item = mirror.get_by_key(tracker, "ENG-10")
    assert item is not None and item.status_changed_at == NOW - timedelta(days=20)
    history = mirror.history(tracker, item.id)
    assert [h.field for h in history] == ["created", "status", "seen"]
    assert [h.new for h in history[:2]] == ["To Do", "In Progress"]
    assert history[2].at == NOW - timedelta(days=20)  # Ada's move, the last person's entry; not `updated`
    bot_moved = mirror.history(tracker, "112")
    assert [h.actor_kind for h in bot_moved if h.field == "status"] == [ActorKind.BOT]
    assert [h.at for h in bot_moved if h.field == "seen"] == [NOW - timedelta(days=40)]  # only a bot: its creation
    last = world.services.store.service.get(f"{tracker}.sync.last")
    assert last["items"] == 7 and last["at"] == NOW.isoformat()

    again = sync(world.services, tracker, clock=world.clock)  # a second sync adds nothing twice
    assert again.new == 0 and len(mirror.history(tracker, item.id)) == 3


@pytest.mark.parametrize("tracker", TRACKERS)
def test_reconcile_repairs_a_missed_status_change(make_world: Callable[..., World], tracker: str) -> None:
    world = make_world(tracker, rules=RULES, now=NOW)
    site_of(world)
    sync(world.services, tracker, clock=world.clock)
    world.at(NOW + timedelta(hours=5))
    world.site.move("ENG-10", "Done", "done", ADA)  # its webhook never arrived
    searched_before = world.site.reads

    report = reconcile(world.services, tracker, clock=world.clock)
    assert report.items == 1  # only what changed since the sync is read again
    assert world.site.reads - searched_before == 1
    item = world.services.store.mirror.get_by_key(tracker, "ENG-10")
    assert item is not None and item.status.name == "Done"
    changes = [h for h in world.services.store.mirror.history(tracker, item.id) if h.field == "status"]
    assert (changes[-1].old, changes[-1].new) == ("In Progress", "Done")
    assert world.services.store.service.get(f"{tracker}.reconcile.last")["at"] == world.clock.now.isoformat()


def test_updated_since_is_widened_for_jira_time_zones() -> None:
    since = datetime(2026, 3, 13, 12, 0, tzinfo=UTC)
    assert updated_since("jira", since) == 'updated >= "2026-03-12 22:00"'
    assert updated_since("linear", since) == '{"updatedAt": {"gte": "2026-03-13T12:00:00Z"}}'
