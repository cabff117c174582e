"""`flowkeeper send-sample`: sign a saved webhook body and post it, as the tracker would."""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path

import requests

from integration.settings import Settings
from webhooks.signatures import sign_hex, sign_hub


def prepare(tracker: str, body: bytes, secret: str | None) -> tuple[bytes, dict[str, str]]:
    """A fresh delivery id and timestamp, signed like the real sender."""
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if tracker == "linear":
        payload = json.loads(body)
        if isinstance(payload, dict) and "webhookTimestamp" in payload:
            payload["webhookTimestamp"] = int(time.time() * 1000)
            body = json.dumps(payload, ensure_ascii=False).encode()
        headers.update({"Linear-Delivery": str(uuid.uuid4()), "Linear-Event": str(payload.get("type", "")),
                        "Linear-Timestamp": str(int(time.time() * 1000)), "User-Agent": "Linear-Webhook"})
        if secret:
            headers["Linear-Signature"] = sign_hex(body, secret)
    else:
        payload = json.loads(body)
        if isinstance(payload, dict) and "timestamp" in payload:  # Jira signs its own send time
            payload["timestamp"] = int(time.time() * 1000)
            body = json.dumps(payload, ensure_ascii=False).encode()
        headers["X-Atlassian-Webhook-Identifier"] = str(uuid.uuid4())
        if secret:
            headers["X-Hub-Signature"] = sign_hub(body, secret)
    return body, headers


def send_sample(settings: Settings, tracker: str, file: str, url: str | None = None) -> int:
    secrets = settings.jira_webhook_secrets if tracker == "jira" else settings.linear_webhook_secrets
    secret = secrets[0].reveal() if secrets else None
    if secret is None and not settings.allow_unsigned:
        variable = "JIRA_WEBHOOK_SECRET" if tracker == "jira" else "LINEAR_WEBHOOK_SECRET"
        print(f"flowkeeper: {variable} is not set, so the sample cannot be signed "
              "(and the service would refuse it)", file=sys.stderr)
        return 2
    body, headers = prepare(tracker, Path(file).read_bytes(), secret)
    target = (url or f"http://127.0.0.1:{settings.serve.port}").rstrip("/") + f"/webhooks/{tracker}"
    try:
        response = requests.post(target, data=body, headers=headers, timeout=10)
    except requests.RequestException as error:
        print(f"flowkeeper: could not reach {target}: {type(error).__name__}", file=sys.stderr)
        return 1
    print(f"{response.status_code} {response.text.strip()}")
    return 0 if response.status_code == 200 else 1
