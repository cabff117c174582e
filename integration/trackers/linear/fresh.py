"""A Linear comment judged on the mirror's copy of its issue, instead of reading the issue back.

A Comment delivery names its issue (id, sometimes the title) and nothing else, so every comment
used to cost a read of the whole issue: on a busy workspace, most of the API key's hourly
requests. The mirror's copy stands for Linear when all of these hold:

- the mirror holds the issue whole (no field unknown) and not deleted;
- Linear itself gave that copy less than `TRUSTED_FOR` ago (`integration.mirror_trust`) — a
  sweep's search, or the read for an earlier delivery — as the row's `synced_at` says (a comment
  judged from the copy does not store it again, so it never renews its own confirmation; a
  `synced_at` later than now, written by a clock ahead of this one, confirms nothing);
- the delivery is not older than the copy, and the key (in its URL) and title it carries, if
  any, are the copy's: an issue moved to another team takes a new key, and the copy of the old
  team's issue would judge it by the old team's rules, labels and states.

Every change to the issue itself comes as an Issue delivery, which reads the issue back. What
this can miss is such a delivery still on its way or lost (Linear retries after a minute, an
hour, six hours): for at most `TRUSTED_FOR` after the last read, a rule may judge the
comment on the state before that change. The writes that follow are diffs Linear applies
itself (labels added or removed by id) and comments carrying their marker, so a write from the
copy never undoes what a person did.
"""

from __future__ import annotations

from datetime import datetime

from integration.mirror_trust import still_trusted
from rules.model import Event, EventKind, Item, Tracker

COMMENTS = (EventKind.COMMENT_CREATED, EventKind.COMMENT_UPDATED)
NAMED = ("key", "title")  # what a Comment delivery may say about its issue


def comment_issue_from_mirror(event: Event, mirrored: Item | None, synced_at: datetime | None,
                              now: datetime) -> Item | None:
    """`mirrored` itself when it may stand for the comment's issue; None when Linear must be asked."""
    if event.tracker is not Tracker.LINEAR or event.kind not in COMMENTS or mirrored is None:
        return None
    if mirrored.deleted or mirrored.unknown or synced_at is None or not still_trusted(now - synced_at):
        return None
    if mirrored.updated_at is not None and event.occurred_at < mirrored.updated_at:
        return None  # a late delivery: the tracker says what it was about
    carried = event.item
    if any(name not in carried.unknown and getattr(carried, name) != getattr(mirrored, name) for name in NAMED):
        return None  # the issue changed since the copy was read (renamed, or moved to another team)
    return mirrored
