"""Name what a delivery gives only by id, in the worker, before the mirror and the rules see it.

The receiver's normalizers are pure and see one payload; some facts are the workspace's
(Linear's workflow states and labels by id). This step, run once per event by the
pipeline, learns them from deliveries and the tracker's API and fills them in.
"""

from __future__ import annotations

from datetime import datetime

from integration.trackers.base import WorkspaceCataloging
from integration.trackers.linear import catalog as linear_catalog
from rules.model import Event, Tracker


def understand(event: Event, store: linear_catalog.KeyValue, client: object | None, now: datetime) -> Event:
    """The event with tracker ids named; unchanged for trackers whose payloads carry names."""
    if event.tracker is Tracker.LINEAR:
        reader = client.workspace_catalog if isinstance(client, WorkspaceCataloging) else None
        return linear_catalog.understand(event, store, reader, now)
    return event
