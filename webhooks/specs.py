"""Each tracker's receiver settings: which header, which check, which quick look at the body.

The quick look is the tracker package's `triage`: the body's outline (event type, item,
timestamp) gives the item's key, "ignored" or a 400 with the reason; every other field is
read by the worker's normalizer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from integration.settings import Secret, Settings
from integration.trackers.errors import PayloadError
from integration.trackers.jira import normalize as jira_normalize
from integration.trackers.linear import event as linear_event
from rules.model import Tracker
from webhooks.headers import HeaderLookup
from webhooks.receiver import FreshnessCheck, ReceiverSpec
from webhooks.signatures import verify_hex_signature, verify_hub_signature

LINEAR_WINDOW_SECONDS = 60


def delivery_timestamp_ms(payload: Mapping[str, Any], headers: HeaderLookup) -> int | None:
    """When Linear signed this delivery (unix ms): body `webhookTimestamp`, else the header."""
    value: Any = payload.get("webhookTimestamp")
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == "linear-timestamp"), None)
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def linear_freshness(payload: Mapping[str, Any], headers: HeaderLookup, now: datetime) -> str | None:
    """Linear's replay guard: the delivery's timestamp within 60 s of our clock, either way."""
    stamp = delivery_timestamp_ms(payload, headers)
    if stamp is None:
        return None  # old envelopes carry none; the signature and dedupe still hold
    skew = abs(now.timestamp() * 1000 - stamp) / 1000
    if skew > LINEAR_WINDOW_SECONDS:
        return f"webhookTimestamp is {skew:.0f} s away from this server's clock (limit {LINEAR_WINDOW_SECONDS} s)"
    return None


def jira_freshness(max_age: timedelta) -> FreshnessCheck:
    """Jira's replay guard: the body's own signed `timestamp` within `max_age` of our clock.

    The delivery identifier is an unsigned header, so a captured body re-posted under a
    new identifier passes the dedupe; its timestamp cannot be changed without the secret.
    Jira retries for about 30 minutes, so a bound of hours never refuses a real retry.
    """

    def check(payload: Mapping[str, Any], headers: HeaderLookup, now: datetime) -> str | None:
        stamp = payload.get("timestamp")
        if stamp is None:
            return None  # Jira Cloud always signs one; commands are still deduplicated by comment
        if isinstance(stamp, bool) or not isinstance(stamp, int | float):
            raise PayloadError("timestamp must be a number of milliseconds")
        age = now.timestamp() - stamp / 1000
        if abs(age) > max_age.total_seconds():
            hours = max_age.total_seconds() / 3600
            return (f"timestamp is {abs(age) / 3600:.1f} h {'old' if age > 0 else 'in the future'} "
                    f"(limit {hours:g} h, FLOWKEEPER_WEBHOOK_MAX_AGE)")
        return None

    return check


def linear_body_identity(payload: Mapping[str, Any]) -> str | None:
    """A delivery id for Linear bodies without `webhookTimestamp` (older envelopes).

    Nothing signed bounds such a body's age, and `Linear-Delivery` is an unsigned header,
    so the body's own identity is the dedupe key: one change is accepted once, whatever
    delivery id it is re-posted under.
    """
    if "webhookTimestamp" in payload:
        return None
    data = payload.get("data")
    data = data if isinstance(data, Mapping) else {}
    parts = [payload.get("type"), payload.get("action"), data.get("id"), data.get("updatedAt")]
    digest = hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:40]
    return f"body:{digest}"


def organization_check(expected: Callable[[], str | None]) -> Callable[[Mapping[str, Any]], str | None]:
    def check(payload: Mapping[str, Any]) -> str | None:
        wanted, given = expected(), payload.get("organizationId")
        if wanted and given and str(given) != wanted:
            return "delivery is for another Linear organization than the connected one"
        return None

    return check


def _receiver(settings: Settings, tracker: Tracker, secrets: tuple[Secret, ...]) -> partial[ReceiverSpec]:
    """What every tracker's receiver shares: its secrets and the variable that names them
    (JIRA_WEBHOOK_SECRET, LINEAR_WEBHOOK_SECRET), unsigned deliveries allowed or not, the size cap."""
    return partial(ReceiverSpec, tracker=tracker, secrets=secrets,
                   secret_variable=f"{tracker.value.upper()}_WEBHOOK_SECRET",
                   allow_unsigned=settings.allow_unsigned, max_body_bytes=settings.max_body_bytes)


def jira_spec(settings: Settings) -> ReceiverSpec:
    return _receiver(settings, Tracker.JIRA, settings.jira_webhook_secrets)(
        signature_header="X-Hub-Signature",
        verify=verify_hub_signature,
        delivery_header="X-Atlassian-Webhook-Identifier",
        retry_header="X-Atlassian-Webhook-Retry",
        triage=jira_normalize.triage,
        fresh=jira_freshness(settings.webhooks.max_age),
    )


def linear_spec(settings: Settings, organization: Callable[[], str | None]) -> ReceiverSpec:
    return _receiver(settings, Tracker.LINEAR, settings.linear_webhook_secrets)(
        signature_header="Linear-Signature",
        verify=verify_hex_signature,
        delivery_header="Linear-Delivery",
        triage=linear_event.triage,
        fresh=linear_freshness,
        check_org=organization_check(organization),
        body_identity=linear_body_identity,
    )
