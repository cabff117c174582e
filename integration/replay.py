"""`flowkeeper replay FILE…`: saved webhook bodies through the same pipeline as a live delivery.

Signature and timestamp checks are skipped (the body is on disk, not on the wire);
everything else is the same, including dry run: it writes only when dry run is off.
By default the decisions go to a scratch SQLite store thrown away afterwards, so trying
a sample never lands in the audit log, claims or mirror of a service running on
DATABASE_URL; `use_database` records them there instead.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from integration.services import build_services
from integration.settings import Settings
from integration.store.audit import AuditFilter
from integration.store.migrate import upgrade
from integration.trackers.errors import PayloadError
from integration.trackers.sanitise import storable_json
from webhooks.receiver import parse_payload


def detect_tracker(payload: dict[str, object]) -> str | None:
    if "webhookEvent" in payload:
        return "jira"
    if "action" in payload and "type" in payload:
        return "linear"
    return None


@contextmanager
def scratch_database(settings: Settings) -> Iterator[Settings]:
    """`settings` on a fresh SQLite file in a temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="flowkeeper-replay-") as folder:
        url = f"sqlite:///{folder}/replay.sqlite"
        upgrade(url)
        yield replace(settings, database_url=url)


def replay_files(settings: Settings, files: list[str], tracker: str | None = None,
                 use_database: bool = False) -> int:
    if use_database:
        if settings.database_url.startswith("sqlite"):
            upgrade(settings.database_url)
        return _replay(settings, files, tracker)
    print("replaying into a scratch database (nothing is recorded in DATABASE_URL; --use-database records there)")
    with scratch_database(settings) as scratch:
        return _replay(scratch, files, tracker)


def _replay(settings: Settings, files: list[str], tracker: str | None) -> int:
    services = build_services(settings)
    pipeline = services.pipeline()
    failures = 0
    for name in files:
        try:
            body = Path(name).read_bytes()
            payload = storable_json(parse_payload(body), body)  # a body that needs no cleaning is not walked
            which = tracker or detect_tracker(payload)
            if which is None:
                raise PayloadError("cannot tell the tracker from the body: pass --tracker")
            event = services.intake.normalize(which, payload)
        except (OSError, PayloadError) as error:
            print(f"{name}: error: {error}")
            failures += 1
            continue
        if event is None:
            print(f"{name}: ignored ({which} event type Flowkeeper does not handle)")
            continue
        event = replace(event, delivery_id=f"replay-{uuid.uuid4()}")
        outcome = pipeline.handle(event)
        print(f"{name}: {which} {event.kind.value} {event.item.key}: {outcome}")
        for entry in reversed(services.store.audit.page(AuditFilter(item_key=event.item.key), limit=50)):
            if entry.delivery_id == event.delivery_id:
                print(f"  [{entry.outcome.value}] {entry.rule or '-'} {entry.action}: {entry.reason}")
    services.store.engine.dispose()
    return 1 if failures else 0
