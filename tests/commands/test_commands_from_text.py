"""Commands from tracker text stay text: who may command is proven by the tracker, refusals are rare and quiet."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from integration.settings_sweeps import CommandPolicy, SweepSettings
from integration.stubtracker.site import Account
from tests.commands.test_commands import flagged, replies
from tests.stub import GRACE
from tests.sweeps.deliveries import commented
from tests.sweeps.world import World

TRACKERS = ["jira", "linear"]
IMPOSTOR = Account("acc-mallory", "lead@example.com", "mallory@example.com")  # a display name that looks like an email


@pytest.mark.parametrize("tracker", TRACKERS)
def test_a_display_name_never_passes_for_a_lead(make_world: Callable[..., World], tracker: str) -> None:
    policy = CommandPolicy(anyone=False, people=frozenset({"lead@example.com"}))
    world = make_world(tracker, settings=SweepSettings(commands=policy))
    flagged(world)
    world.later(hours=1)
    world.commented("ENG-1", IMPOSTOR, "/flowkeeper snooze 5d")
    snoozes = world.services.store.snoozes
    assert snoozes.for_item(tracker, "10001", world.clock.now).snoozed_until is None
    assert "may do that here" in replies(world)[-1]


def test_an_email_counts_only_where_the_tracker_proves_it(make_world: Callable[..., World]) -> None:
    policy = CommandPolicy(anyone=False, people=frozenset({"mallory@example.com"}))
    jira = make_world("jira", settings=SweepSettings(commands=policy))
    flagged(jira)
    jira.later(hours=1)
    jira.commented("ENG-1", IMPOSTOR, "/flowkeeper snooze 5d")  # Jira payloads carry no verified email
    assert jira.services.store.snoozes.for_item("jira", "10001", jira.clock.now).snoozed_until is None


@pytest.mark.parametrize("tracker", TRACKERS)
def test_refusals_get_one_reply_a_day_per_person_and_item_and_never_echo(make_world: Callable[..., World],
                                                                        tracker: str) -> None:
    world = make_world(tracker)
    flagged(world)
    before = len(replies(world))
    for n in range(3):
        world.later(hours=1)
        world.commented("ENG-1", IMPOSTOR, f"/flowkeeper snooze [free pizza {n}](https://evil.example/x)")
    answered = replies(world)[before:]
    assert len(answered) == 1
    assert "evil" not in answered[0] and "pizza" not in answered[0]
    world.at(datetime(2026, 3, 11, 9, tzinfo=UTC))  # the next day: one answer again
    world.commented("ENG-1", IMPOSTOR, "/flowkeeper dance")
    assert len(replies(world)[before:]) == 2 and "dance" not in replies(world)[-1]


def test_a_reason_is_shown_as_text_on_linear(make_world: Callable[..., World]) -> None:
    world = make_world("linear")
    flagged(world)
    world.later(hours=1)
    world.commented("ENG-1", IMPOSTOR, "/flowkeeper snooze 2d — see ![x](https://evil.example/i.png)")
    reply = replies(world)[-1]
    assert "![x](https://evil" not in reply and "\\!\\[x\\]\\(https:\\/\\/evil" in reply


@pytest.mark.parametrize("tracker", TRACKERS)
def test_a_comment_redelivered_under_a_new_delivery_id_acts_once(make_world: Callable[..., World],
                                                                tracker: str) -> None:
    world = make_world(tracker)
    flagged(world)
    world.later(hours=1)
    body = commented(world.site, "ENG-1", GRACE, "/flowkeeper snooze 2d")
    world.deliver(body)
    snoozes = world.services.store.snoozes
    until = snoozes.for_item(tracker, "10001", world.clock.now).snoozed_until
    answered = len(replies(world))
    world.later(hours=20)
    world.deliver(body)  # a captured body re-posted: a new delivery id, the same comment
    assert snoozes.for_item(tracker, "10001", world.clock.now).snoozed_until == until
    assert len(replies(world)) == answered
