"""How long a tracker's confirmation lets the mirror's copy stand for the tracker.

Two deliveries are judged without reading their item back: a Jira update lacking only when its
status was entered (`integration.status_entry`) and a Linear comment (`integration.trackers.
linear.fresh`). Each trusts the mirror for `TRUSTED_FOR` after the tracker last gave that state,
the default sweep interval: a change whose webhook was lost misleads the rules no longer than a
sweep would have let it. What counts as a confirmation differs (a record of the reads and status
changes seen, against the row's `synced_at`), the while and its bounds do not.
"""

from __future__ import annotations

from datetime import timedelta

TRUSTED_FOR = timedelta(minutes=15)  # the default sweep interval


def still_trusted(elapsed: timedelta, trusted_for: timedelta = TRUSTED_FOR) -> bool:
    """Whether a confirmation `elapsed` ago still stands. A negative one (stamped by a clock ahead
    of this one) does not: trusting it would stretch the while by the clocks' difference."""
    return timedelta(0) <= elapsed < trusted_for
