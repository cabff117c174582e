"""`/flowkeeper snooze` and `/flowkeeper ignore` from a tracker comment, on both trackers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from integration.commands.parse import parse_command, snooze_length
from integration.settings_sweeps import CommandPolicy, SweepSettings
from integration.store.audit import AuditFilter
from integration.stubtracker.site import Account, Issue, IssueView
from tests.stub import ADA, BOT, GRACE, LEAD
from tests.sweeps.world import World

TRACKERS = ["jira", "linear"]
RULE = "stalled-in-progress"


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=UTC)


def flagged(world: World) -> IssueView:
    """ENG-1, stalled since Monday 2 March and flagged by the Monday 9 March sweep."""
    issue = world.site.add(Issue(id="10001", key="ENG-1", team="ENG", status="In Progress",
                                     category="in_progress", updated=world.clock.now, created=world.clock.now,
                                     assignee=ADA, reporter=GRACE))
    world.at(at(9))
    world.sweep(RULE)
    assert issue.labels == ["stalled"]
    return issue


def replies(world: World) -> list[str]:
    return [c.body for c in world.site.flowkeeper_comments("ENG-1")]


@pytest.mark.parametrize(("text", "verb", "arg", "problem"), [
    ("/flowkeeper snooze 5d", "snooze", "5d", None),
    ("Looking into it.\n/flowkeeper   snooze 2 weeks  \nthanks", "snooze", "2 weeks", None),
    ("/flowkeeper ignore stalled-in-progress", "ignore", "stalled-in-progress", None),
    ("/flowkeeper unsnooze", "unsnooze", "", None),
    ("/flowkeeper snooze", "snooze", "", "snooze needs a duration"),
    ("/flowkeeper dance", "dance", "", "unknown command"),
])
def test_commands_are_read_from_a_line_of_the_comment(text: str, verb: str, arg: str, problem: str | None) -> None:
    command = parse_command(text)
    assert command is not None and (command.verb, command.arg) == (verb, arg)
    assert (command.problem or None) == problem or (problem and problem in (command.problem or ""))


@pytest.mark.parametrize(("text", "arg", "reason"), [
    ("/flowkeeper snooze 5d — waiting on vendor", "5d", "waiting on vendor"),
    ("/flowkeeper snooze 2 weeks: vendor is on holiday", "2 weeks", "vendor is on holiday"),
    ("/flowkeeper snooze 5 business days waiting for the design review", "5 business days",
     "waiting for the design review"),
    ("/flowkeeper snooze `5d` - blocked upstream", "5d", "blocked upstream"),
    ("/flowkeeper ignore stalled-in-progress - a spike, it waits on purpose", "stalled-in-progress",
     "a spike, it waits on purpose"),
    ("/flowkeeper unsnooze back from leave", "", "back from leave"),
    ("/flowkeeper snooze 5d", "5d", ""),
])
def test_words_after_the_arguments_are_the_reason(text: str, arg: str, reason: str) -> None:
    command = parse_command(text)
    assert command is not None and command.problem is None
    assert (command.arg, command.reason) == (arg, reason)


def test_a_duration_that_is_not_one_is_refused_without_repeating_it() -> None:
    command = parse_command("/flowkeeper snooze soon — please")
    assert command is not None and command.arg == "soon" and command.reason == "please"
    refused = str(snooze_length(command.arg, timedelta(days=90)))
    assert "cannot read that as a duration" in refused and "soon" not in refused


def test_plain_comments_and_mentions_in_prose_are_not_commands() -> None:
    assert parse_command("we should /flowkeeper snooze this?") is None
    assert parse_command("nothing to see") is None


def test_snooze_lengths() -> None:
    assert snooze_length("5d", timedelta(days=90)) == timedelta(days=5)
    assert snooze_length("48h", timedelta(days=90)) == timedelta(hours=48)
    assert snooze_length("5 business days", timedelta(days=90)) == timedelta(days=7)
    assert "at most 90 days" in str(snooze_length("20 weeks", timedelta(days=90)))
    assert "cannot read" in str(snooze_length("soon", timedelta(days=90)))


@pytest.mark.parametrize("tracker", TRACKERS)
def test_snooze_pauses_flags_until_it_ends_and_is_acknowledged(make_world: Callable[..., World],
                                                               tracker: str) -> None:
    world = make_world(tracker)
    issue = flagged(world)
    world.at(at(9, 15))
    world.commented("ENG-1", ADA, "On leave this week.\n/flowkeeper snooze 7d")
    assert issue.labels == []  # the comment is human activity: the flag comes down
    assert "snoozed: Flowkeeper will not flag ENG-1 until 2026-03-16 15:00 UTC" in replies(world)[-1]
    until = world.services.store.snoozes.for_item(tracker, "10001", world.clock.now).snoozed_until
    assert until == at(16, 15)
    entry = world.services.store.audit.page(AuditFilter(item_key="ENG-1"), limit=50)
    assert any(e.action == "command:snooze" and e.outcome.value == "done" for e in entry)

    before = len(replies(world))
    world.at(at(13))  # stalled again by the clock (3+ business days), but snoozed
    world.sweep(RULE)
    assert issue.labels == [] and len(replies(world)) == before

    world.at(at(16, 16))  # the snooze ended: flags resume
    world.sweep(RULE)
    assert issue.labels == ["stalled"]


@pytest.mark.parametrize("tracker", TRACKERS)
def test_ignore_exempts_the_item_from_one_rule(make_world: Callable[..., World], tracker: str) -> None:
    world = make_world(tracker)
    issue = flagged(world)
    world.later(hours=1)
    world.commented("ENG-1", GRACE, "/flowkeeper ignore stalled-in-progres")  # a typo
    assert "there is no rule by that name (did you mean 'stalled-in-progress'?)" in replies(world)[-1]
    assert "stalled-in-progres'" not in replies(world)[-1]  # what was written is not repeated
    world.later(hours=1)
    world.commented("ENG-1", GRACE, "/flowkeeper ignore stalled-in-progress")
    assert "ENG-1 is now exempt from rule 'stalled-in-progress'" in replies(world)[-1]
    assert issue.labels == []
    world.at(at(27))  # weeks later, still untouched: exempt
    world.sweep(RULE)
    assert issue.labels == []
    world.later(hours=1)
    world.commented("ENG-1", GRACE, "/flowkeeper unignore stalled-in-progress")
    assert "ENG-1 is no longer exempt from rule 'stalled-in-progress'" in replies(world)[-1]
    world.at(at(31, 14))  # 2 business days after that comment: the rule applies again
    world.sweep(RULE)
    assert "Anything in the way?" in replies(world)[-1]


@pytest.mark.parametrize("tracker", TRACKERS)
def test_a_setting_limits_commands_to_the_assignee_and_leads(make_world: Callable[..., World],
                                                             tracker: str) -> None:
    policy = CommandPolicy(anyone=False, assignee=True, people=frozenset({"acc-lead"}))  # account ids: both trackers
    world = make_world(tracker, settings=SweepSettings(commands=policy))
    flagged(world)
    store = world.services.store.snoozes
    world.later(hours=1)
    world.commented("ENG-1", GRACE, "/flowkeeper snooze 5d")  # the reporter is not allowed here
    assert "only the assignee or the leads named in FLOWKEEPER_COMMANDS_FROM may do that here" in replies(world)[-1]
    assert store.for_item(tracker, "10001", world.clock.now).snoozed_until is None
    world.later(hours=1)
    world.commented("ENG-1", LEAD, "/flowkeeper snooze 5d")  # a named lead is
    assert store.for_item(tracker, "10001", world.clock.now).snoozed_until is not None
    world.commented("ENG-1", ADA, "/flowkeeper unsnooze")  # and so is the assignee
    assert store.for_item(tracker, "10001", world.clock.now).snoozed_until is None


@pytest.mark.parametrize("tracker", TRACKERS)
def test_bots_cannot_command_and_dry_run_replies_are_only_recorded(make_world: Callable[..., World],
                                                                   tracker: str) -> None:
    world = make_world(tracker, dry_run=True)
    world.site.add(Issue(id="10001", key="ENG-1", team="ENG", status="In Progress", category="in_progress",
                             updated=world.clock.now, created=world.clock.now, assignee=ADA))
    store = world.services.store.snoozes
    world.commented("ENG-1", BOT, "/flowkeeper snooze 30d")
    assert store.for_item(tracker, "10001", world.clock.now).snoozed_until is None
    world.commented("ENG-1", ADA, "/flowkeeper snooze 3d")
    assert store.for_item(tracker, "10001", world.clock.now).snoozed_until == world.clock.now + timedelta(days=3)
    assert replies(world) == []  # dry run: the reply is recorded, not posted
    would = world.services.store.audit.page(AuditFilter(item_key="ENG-1", outcome="would_do"))
    assert [e.rule for e in would] == ["flowkeeper-command"] and "snoozed" in would[0].reason


@pytest.mark.parametrize("tracker", TRACKERS)
def test_the_snooze_label_pauses_flags_while_it_is_there(make_world: Callable[..., World], tracker: str) -> None:
    world = make_world(tracker)
    issue = world.site.add(Issue(id="10001", key="ENG-1", team="ENG", status="In Progress",
                                     category="in_progress", updated=world.clock.now, created=world.clock.now,
                                     assignee=ADA, labels=["flowkeeper-snoozed"]))
    world.at(at(9))
    world.sweep(RULE)
    assert issue.labels == ["flowkeeper-snoozed"] and replies(world) == []
    world.site.set_labels("ENG-1", [])
    world.later(hours=1)
    world.sweep(RULE)
    assert issue.labels == ["stalled"]


def last_comment_id(world: World, author: Account = ADA) -> str:
    return [c for c in world.site.issues["ENG-1"].comments if c.author_id == author.id][-1].id


@pytest.mark.parametrize("tracker", TRACKERS)
def test_a_reason_is_shown_in_the_acknowledgement_and_the_audit_log(make_world: Callable[..., World],
                                                                   tracker: str) -> None:
    world = make_world(tracker)
    flagged(world)
    world.at(at(9, 15))
    world.commented("ENG-1", ADA, "/flowkeeper snooze 5d — waiting on vendor")
    assert "until 2026-03-14 15:00 UTC." in replies(world)[-1] and "Reason: waiting on vendor" in replies(world)[-1]
    entries = world.services.store.audit.page(AuditFilter(item_key="ENG-1"), limit=50)
    done = [e for e in entries if e.action == "command:snooze"]
    assert len(done) == 1 and done[0].outcome.value == "done"
    assert "waiting on vendor" in done[0].reason and done[0].detail["why"] == "waiting on vendor"


@pytest.mark.parametrize("tracker", TRACKERS)
def test_a_command_added_by_editing_a_comment_is_carried_out_once(make_world: Callable[..., World],
                                                                 tracker: str) -> None:
    world = make_world(tracker)
    issue = flagged(world)
    world.at(at(9, 15))
    world.commented("ENG-1", ADA, "On leave this week.")
    comment = last_comment_id(world)
    before = len(replies(world))
    world.edited("ENG-1", ADA, comment, "On leave this week.\n/flowkeeper snooze 7d")
    assert issue.labels == [] and len(replies(world)) == before + 1
    assert "snoozed: Flowkeeper will not flag ENG-1 until 2026-03-16 15:00 UTC" in replies(world)[-1]

    world.at(at(10, 9))  # the same text again (the tracker re-sent it, or a typo elsewhere was fixed)
    world.edited("ENG-1", ADA, comment, "On leave this week!\n/flowkeeper snooze 7d")
    assert len(replies(world)) == before + 1
    assert world.services.store.snoozes.for_item(tracker, "10001", world.clock.now).snoozed_until == at(16, 15)

    world.edited("ENG-1", ADA, comment, "On leave this week!\n/flowkeeper snooze 2d")  # a changed command acts
    assert len(replies(world)) == before + 2 and "until 2026-03-12 09:00 UTC" in replies(world)[-1]
    assert world.services.store.snoozes.for_item(tracker, "10001", world.clock.now).snoozed_until == at(12, 9)


@pytest.mark.parametrize("tracker", TRACKERS)
def test_editing_a_comment_does_not_repeat_its_command(make_world: Callable[..., World], tracker: str) -> None:
    world = make_world(tracker)
    flagged(world)
    world.at(at(9, 15))
    world.commented("ENG-1", ADA, "/flowkeeper ignore stalled-in-progress")
    comment, before = last_comment_id(world), len(replies(world))
    world.at(at(9, 16))
    world.edited("ENG-1", ADA, comment, "/flowkeeper ignore stalled-in-progress\n(for the spike)")
    assert len(replies(world)) == before
    entries = world.services.store.audit.page(AuditFilter(item_key="ENG-1"), limit=50)
    assert [e.action for e in entries].count("command:ignore") == 1
