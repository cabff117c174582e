"""When a Linear comment's issue is judged on the mirror's copy: built on the captured Comment delivery."""

from __future__ import annotations

from datetime import timedelta

from integration.trackers.linear.event import normalize
from integration.trackers.linear.fresh import comment_issue_from_mirror
from integration.trackers.linear.item import LinearConfig
from rules.model import Event, Item
from tests.foundation.helpers import fixture


def delivery() -> Event:
    event = normalize(fixture("linear", "comment_create.2023.json"), LinearConfig())
    assert event is not None and event.item.key == "LIN-28"
    return event


def copy_of(event: Event) -> Item:
    """The mirror's whole copy of the comment's issue, as Linear gave it a minute before the comment."""
    return event.item.with_fields(unknown=frozenset(), updated_at=event.occurred_at - timedelta(minutes=1))


def test_a_copy_linear_gave_minutes_ago_stands_for_the_issue() -> None:
    event = delivery()
    mirrored = copy_of(event)
    assert comment_issue_from_mirror(event, mirrored, event.occurred_at - timedelta(minutes=14), event.occurred_at) \
        is mirrored


def test_a_copy_stored_by_a_clock_ahead_of_this_one_is_not_trusted() -> None:
    """A sweep on a host whose clock runs 20 minutes ahead stored the copy: the copy is read again,
    rather than trusted for 35 minutes."""
    event = delivery()
    stored = event.occurred_at + timedelta(minutes=20)
    assert comment_issue_from_mirror(event, copy_of(event), stored, event.occurred_at) is None
