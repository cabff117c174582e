"""Helpers for posting signed deliveries the way Jira and Linear send them."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from webhooks.signatures import sign_hex, sign_hub

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MINIMAL_RULES = FIXTURES / "foundation" / "rules"
JIRA_SECRET = "jira-webhook-secret-1"
LINEAR_SECRET = "lin_wh_secret_1"


def fixture(tracker: str, name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / tracker / "webhooks" / name).read_text(encoding="utf-8"))


def live_jira_fixture(name: str) -> dict[str, Any]:
    """A saved Jira body stamped now, as it would be on the wire (older bodies are refused as replays)."""
    return {**fixture("jira", name), "timestamp": int(time.time() * 1000)}


def jira_request(payload: dict[str, Any] | bytes, delivery: str | None = None,
                 secret: str = JIRA_SECRET, timestamp_ms: int | None = None) -> tuple[bytes, dict[str, str]]:
    """Signed like Jira; a body's `timestamp` is made current (or `timestamp_ms`), as a live delivery's is."""
    if isinstance(payload, dict) and (timestamp_ms is not None or "timestamp" in payload):
        payload = {**payload, "timestamp": timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)}
    body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    return body, {
        "Content-Type": "application/json",
        "X-Hub-Signature": sign_hub(body, secret),
        "X-Atlassian-Webhook-Identifier": delivery or str(uuid.uuid4()),
    }


def linear_request(payload: dict[str, Any], delivery: str | None = None, secret: str = LINEAR_SECRET,
                   timestamp_ms: int | None = None) -> tuple[bytes, dict[str, str]]:
    payload = dict(payload)
    if timestamp_ms is not None or "webhookTimestamp" in payload:
        payload["webhookTimestamp"] = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
    body = json.dumps(payload, ensure_ascii=False).encode()
    return body, {
        "Content-Type": "application/json",
        "Linear-Signature": sign_hex(body, secret),
        "Linear-Delivery": delivery or str(uuid.uuid4()),
        "Linear-Event": str(payload.get("type")),
    }
