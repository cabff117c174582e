"""Items only bots touched: the first sweep measures them from their creation or the last person's
entry, never from the tracker's `updated` that a bot's (or Flowkeeper's own) change bumped."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from integration.stubtracker.site import Account, Issue
from tests.stub import ADA, BOT
from tests.sweeps.world import World

NOW = datetime(2026, 3, 13, 12, tzinfo=UTC)
DAY = timedelta(days=1)
RULES = """
version: 1
rules:
  - name: stalled
    description: In progress for 5 days without a person's activity is flagged.
    on: [schedule]
    when:
      all:
        - status.category: in_progress
        - last_activity: { older_than: 5 days }
    then:
      - flag: { label: stalled }
"""


def started(key: str, number: int) -> Issue:
    return Issue(id=str(10000 + number), key=key, team="ENG", status="In Progress", category="in_progress",
                 updated=NOW - 30 * DAY, created=NOW - 30 * DAY, assignee=ADA)


def record_reads(world: World) -> list[str]:
    """The reads of an item's own record: Jira's changelog and comments, Linear's IssueActivity."""
    found = []
    for entry in world.site.state.requests:
        text = entry["path"] + json.dumps(entry.get("json") or {})
        if entry["path"].endswith(("/changelog", "/comment")) or "IssueActivity" in text:
            found.append(entry["path"])
    return found


@pytest.mark.parametrize("tracker", ["jira", "linear"])
def test_the_first_sweep_counts_people_and_creation_not_bots(make_world: Callable[..., World],
                                                             tracker: str) -> None:
    world = make_world(tracker, RULES, now=NOW)
    site = world.site
    only_bots = site.add(started("ENG-1", 1))
    site.edit("ENG-1", "priority", BOT, at=NOW - DAY)  # `updated` is yesterday's: a bot's change
    person_then_bot = site.add(started("ENG-2", 2))
    site.comment("ENG-2", ADA, "On it", at=NOW - 8 * DAY)
    site.edit("ENG-2", "customfield_10020", BOT, at=NOW - DAY)
    recent_person = site.add(started("ENG-3", 3))
    site.comment("ENG-3", ADA, "Nearly there", at=NOW - 2 * DAY)
    site.edit("ENG-3", "priority", BOT, at=NOW - DAY)
    own_comment = site.add(started("ENG-4", 4))
    site.comment("ENG-4", site.service, "A reminder from an earlier run", at=NOW - DAY)

    world.sweep("stalled")
    assert only_bots.labels == ["stalled"]  # 30 days since its creation
    assert person_then_bot.labels == ["stalled"]  # 8 days since Ada's comment
    assert recent_person.labels == []  # Ada commented 2 days ago
    assert own_comment.labels == ["stalled"]  # Flowkeeper's own comment is no one's activity

    mirror = world.services.store.mirror
    seen = {key: [h.at for h in mirror.history(tracker, mirror.get_by_key(tracker, key).id)  # type: ignore[union-attr]
                  if h.field == "seen"] for key in ("ENG-1", "ENG-2", "ENG-3", "ENG-4")}
    assert seen == {"ENG-1": [NOW - 30 * DAY], "ENG-2": [NOW - 8 * DAY], "ENG-3": [NOW - 2 * DAY],
                    "ENG-4": [NOW - 30 * DAY]}

    reads = len(record_reads(world))
    world.at(NOW + DAY)
    world.sweep("stalled")  # the mirror now knows them: their record is not read again
    assert len(record_reads(world)) == reads and recent_person.labels == []


@pytest.mark.parametrize("tracker", ["jira", "linear"])
def test_an_item_never_changed_since_creation_needs_no_extra_read(make_world: Callable[..., World],
                                                                  tracker: str) -> None:
    world = make_world(tracker, RULES, now=NOW)
    untouched = world.site.add(started("ENG-1", 1))
    world.sweep("stalled")
    assert untouched.labels == ["stalled"] and record_reads(world) == []


@pytest.mark.parametrize("tracker", ["jira", "linear"])
def test_a_persons_comment_counts_on_an_item_with_no_other_history(make_world: Callable[..., World],
                                                                    tracker: str) -> None:
    """Linear sends comments beside the history pages: an empty history must not hide them."""
    world = make_world(tracker, RULES, now=NOW)
    commented = world.site.add(started("ENG-1", 1))
    world.site.comment("ENG-1", ADA, "Still on it", at=NOW - 2 * DAY)
    world.sweep("stalled")
    assert commented.labels == [] and record_reads(world) != []


@pytest.mark.parametrize("tracker", ["jira", "linear"])
def test_an_update_the_record_does_not_explain_still_counts(make_world: Callable[..., World],
                                                             tracker: str) -> None:
    """`updated` moved by something the changelog and comments do not list (a worklog, say): nothing
    shows a bot did it, so it counts, and the item is not flagged on a guess."""
    world = make_world(tracker, RULES, now=NOW)
    quiet_record = world.site.add(replace(started("ENG-1", 1), updated=NOW - 2 * DAY))
    world.sweep("stalled")
    assert quiet_record.labels == [] and record_reads(world) != []


SCRIPT = Account("acc-sync-script", "Sync Script", "sync-script@example.com")  # automation as an ordinary user


@pytest.mark.parametrize(("tracker", "listed"), [("jira", "acc-sync-script"), ("linear", "ACC-SYNC-SCRIPT"), ("linear", "Sync-Script@Example.com")])
def test_accounts_listed_as_bots_are_no_persons_activity(make_world: Callable[..., World], tracker: str,
                                                         listed: str) -> None:
    world = make_world(tracker, RULES, now=NOW, env={"FLOWKEEPER_BOT_ACCOUNTS": f"someone-else,{listed}"})
    site = world.site
    scripted = site.add(started("ENG-1", 1))
    site.comment("ENG-1", SCRIPT, "Synced from the CRM", at=NOW - DAY)
    site.edit("ENG-1", "priority", SCRIPT, at=NOW - DAY)
    by_a_person = site.add(started("ENG-2", 2))
    site.comment("ENG-2", ADA, "On it", at=NOW - DAY)
    world.sweep("stalled")
    assert scripted.labels == ["stalled"]  # the script's comment and edit are not a person's activity
    assert by_a_person.labels == []


def test_without_the_setting_a_script_user_counts_as_a_person(make_world: Callable[..., World]) -> None:
    world = make_world("jira", RULES, now=NOW)
    scripted = world.site.add(started("ENG-1", 1))
    world.site.comment("ENG-1", SCRIPT, "Synced from the CRM", at=NOW - DAY)
    world.sweep("stalled")
    assert scripted.labels == []
