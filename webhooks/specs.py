"""Each tracker's receiver settings: which header, which check, which normalizer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import Any

from integration.settings import Settings
from integration.trackers.factory import jira_config, linear_config
from integration.trackers.jira import normalize as jira_normalize
from integration.trackers.linear import normalize as linear_normalize
from rules.model import Event, Tracker
from webhooks.headers import HeaderLookup
from webhooks.receiver import ReceiverSpec
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


def organization_check(expected: Callable[[], str | None]) -> Callable[[Event], str | None]:
    def check(event: Event) -> str | None:
        wanted = expected()
        if wanted and event.organization_id and event.organization_id != wanted:
            return "delivery is for another Linear organization than the connected one"
        return None

    return check


def jira_spec(settings: Settings) -> ReceiverSpec:
    return ReceiverSpec(
        tracker=Tracker.JIRA,
        secrets=settings.jira_webhook_secrets,
        secret_variable="JIRA_WEBHOOK_SECRET",
        allow_unsigned=settings.allow_unsigned,
        signature_header="X-Hub-Signature",
        verify=verify_hub_signature,
        delivery_header="X-Atlassian-Webhook-Identifier",
        normalize=partial(jira_normalize.normalize, config=jira_config(settings)),
        max_body_bytes=settings.max_body_bytes,
    )


def linear_spec(settings: Settings, organization: Callable[[], str | None]) -> ReceiverSpec:
    return ReceiverSpec(
        tracker=Tracker.LINEAR,
        secrets=settings.linear_webhook_secrets,
        secret_variable="LINEAR_WEBHOOK_SECRET",
        allow_unsigned=settings.allow_unsigned,
        signature_header="Linear-Signature",
        verify=verify_hex_signature,
        delivery_header="Linear-Delivery",
        normalize=partial(linear_normalize.normalize, config=linear_config(settings)),
        fresh=linear_freshness,
        check_org=organization_check(organization),
        max_body_bytes=settings.max_body_bytes,
    )
