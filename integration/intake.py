"""A queued delivery → the Event the pipeline handles, in the worker.

The receiver answers fast: it checks the signature and the delivery's outline (a cheap
parse that says "ignored" or "malformed" at once) and queues the verified body as it came.
Normalizing the whole payload (every field, every change) happens here, in the worker,
with the site facts the worker learned (Jira's story points field and priority order).
Deliveries queued by an earlier release carry the normalized Event instead; both read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from integration import jsontext
from integration.codec import BODY_PAYLOAD_VERSION, CodecError, envelope_item_key, event_from_envelope
from integration.settings import Settings
from integration.store.deliveries import Deliveries
from integration.store.store import Store
from integration.trackers.errors import PayloadError
from integration.trackers.factory import jira_config, linear_config
from integration.trackers.jira import normalize as jira_normalize
from integration.trackers.linear import event as linear_event
from integration.trackers.sanitise import storable_json_text
from rules.model import Event

log = logging.getLogger("flowkeeper.intake")

Normalizer = Callable[[Mapping[str, Any]], Event | None]
SiteFacts = Callable[[], Mapping[str, Any]]


class StoredValue:
    """A value the worker keeps in the store's service table, read at most once a minute.

    Consulted on every delivery, so a database that is away must not fail one: the last
    value read is kept until the store answers again.
    """

    def __init__(self, store: Store, key: str, initial: Any) -> None:
        self.store, self.key, self.value = store, key, initial
        self.read_at = float("-inf")

    def read(self) -> Any:
        if time.monotonic() - self.read_at > 60:
            self.read_at = time.monotonic()
            try:
                self.value = self.convert(self.store.service.get(self.key))
            except SQLAlchemyError as error:
                log.warning("store.value_unreadable", extra={"key": self.key, "error": type(error).__name__})
        return self.value

    def convert(self, stored: Any) -> Any:
        return stored


class SiteFactsCache(StoredValue):
    """What the worker learned about a tracker's site (`<tracker>.site_facts`)."""

    def __init__(self, store: Store, tracker: str) -> None:
        super().__init__(store, f"{tracker}.site_facts", {})

    def convert(self, stored: Any) -> dict[str, Any]:
        return dict(stored or {})

    def __call__(self) -> dict[str, Any]:
        value: dict[str, Any] = self.read()
        return value


def jira_normalizer(settings: Settings, site_facts: SiteFacts) -> Normalizer:
    """Jira's normalizer with what the worker learned from the site: the story points field
    and the site's ordered priorities.

    Until the worker has looked (credentials set, no JIRA_STORY_POINTS_FIELD), the estimate
    is unknown rather than empty, so the worker reads it from the site instead of a rule
    seeing "no estimate".
    """
    base = jira_config(settings)
    cached: dict[str, Any] = {"facts": None, "config": base}

    def normalize(payload: Mapping[str, Any]) -> Event | None:
        facts = site_facts()
        if facts is not cached["facts"]:
            cached["facts"], cached["config"] = facts, _config_with(base, facts, settings.jira_configured)
        return jira_normalize.normalize(payload, cached["config"])

    return normalize


def _config_with(base: jira_normalize.JiraConfig, facts: Mapping[str, Any], configured: bool) -> jira_normalize.JiraConfig:
    config = replace(base, priority_ranks=dict(facts.get("priority_ranks") or {}))
    if base.story_points_field is not None:
        return config
    found = facts.get("story_points_field")
    if found:
        return replace(config, story_points_field=str(found))
    return replace(config, estimate_pending=found is None and configured)


class Intake:
    """Turns a job's envelope into an Event, normalizing a queued body with this worker's settings."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.normalizers: dict[str, Normalizer] = {
            "jira": jira_normalizer(settings, SiteFactsCache(store, "jira")),
            "linear": partial(linear_event.normalize, config=linear_config(settings)),
        }

    def normalize(self, tracker: str, payload: Mapping[str, Any]) -> Event | None:
        """A delivery body → its Event (None: a type Flowkeeper does not act on); `PayloadError`."""
        return self.normalizers[tracker](payload)

    def event(self, envelope: Mapping[str, Any]) -> Event:
        """The delivery's Event; `PayloadError` when the body does not normalize, `CodecError`
        when the envelope is not one this release understands."""
        if not isinstance(envelope, Mapping) or envelope.get("v") != BODY_PAYLOAD_VERSION:
            return event_from_envelope(envelope)
        tracker, body = str(envelope.get("tracker")), envelope.get("body")
        if tracker not in self.normalizers or not isinstance(body, str):
            raise CodecError(f"job payload names no known tracker or body ({tracker!r})")
        payload = jsontext.loads(body)
        if isinstance(payload, dict):  # a body that needs no cleaning is not walked string by string
            payload = storable_json_text(payload, body)
        event = self.normalize(tracker, payload)
        if event is None:  # the receiver queues only what its quick parse says is acted on
            raise CodecError(f"{envelope['tracker']} delivery {envelope.get('delivery_id')} is not an event")
        return replace(event, delivery_id=envelope.get("delivery_id"))


def settle_malformed(deliveries: Deliveries, envelope: Mapping[str, Any], error: PayloadError, now: datetime) -> str:
    """A queued body the full normalizer refuses: failed for good (a retry reads the same body),
    with the reason the receiver would have answered, where the failed deliveries are listed."""
    tracker, delivery = str(envelope.get("tracker")), str(envelope.get("delivery_id"))
    outcome = f"malformed: {error}"
    log.warning("job.delivery.malformed", extra={"tracker": tracker, "delivery": delivery, "reason": str(error)})
    deliveries.begin(tracker, delivery, now, envelope_item_key(envelope))
    deliveries.finish(tracker, delivery, "failed", outcome, now)
    return outcome
