"""The soak workload: many signed Jira deliveries with duplicates and out-of-order updates.

Shared by the soak test (bounded, in CI) and `bench/e2e.py` (timings). Every item is in
progress without an assignee in every update, so the rule's episode never ends: whatever
the order and however often a delivery repeats, each item must get exactly one comment.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tests.foundation.helpers import JIRA_SECRET
from tests.stub import jira_issue
from webhooks.signatures import sign_hub

SOAK_RULES = (
    __import__("pathlib").Path(__file__).resolve().parents[1] / "fixtures" / "reliability" / "soak_rules"
)


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    key: str
    body: bytes
    headers: dict[str, str]
    duplicate: bool = False


def item_key(n: int) -> str:
    return f"SOAK-{n + 1}"


def seed_issues(items: int) -> list[dict[str, Any]]:
    return [jira_issue(item_key(n), assignee=None) for n in range(items)]


_SOAK_START_MS = (int(time.time()) - 3600) * 1000


def _payload(key: str, issue_id: str, sequence: int) -> dict[str, Any]:
    # later updates carry later times, whatever order they arrive in; recent, as on the wire
    stamp = _SOAK_START_MS + sequence * 1000
    updated = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime(stamp / 1000))
    fields = {
        "summary": f"Soak item {key} (update {sequence})",
        "labels": [],
        "assignee": None,
        "status": {
            "name": "In Progress",
            "id": "3",
            "statusCategory": {"key": "indeterminate", "name": "In Progress"},
        },
        "issuetype": {"name": "Story", "subtask": False},
        "project": {"key": "SOAK", "id": "10000", "name": "Soak"},
        "priority": {"name": "Medium", "id": "3"},
        "created": "2026-03-01T09:00:00.000+0000",
        "updated": updated,
        "statuscategorychangedate": "2026-03-01T10:00:00.000+0000",
        "reporter": None,
        "duedate": None,
        "resolution": None,
        "issuelinks": [],
        "parent": None,
        "description": None,
    }
    return {
        "timestamp": stamp,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": {"accountId": "acc-ada", "displayName": "Ada", "accountType": "atlassian"},
        "issue": {
            "id": issue_id,
            "key": key,
            "self": f"https://acme.atlassian.net/rest/api/3/issue/{issue_id}",
            "fields": fields,
        },
        "changelog": {
            "id": str(sequence),
            "items": [
                {
                    "field": "summary",
                    "fieldtype": "jira",
                    "fieldId": "summary",
                    "from": None,
                    "fromString": "old",
                    "to": None,
                    "toString": fields["summary"],
                }
            ],
        },
    }


def workload(deliveries: int, items: int, unique: int | None = None, seed: int = 8) -> list[Delivery]:
    """`deliveries` posts: `unique` updates spread over `items`, shuffled, the rest re-sent duplicates.

    Trackers resend a delivery they think failed (Jira for ~30 min, Linear for hours), so a
    storm of retries of the same deliveries is the normal shape of a bad day.
    """
    rng = random.Random(seed)
    unique = min(deliveries, unique or int(deliveries / 1.1))
    out: list[Delivery] = []
    for n in range(unique):
        index = n % items
        key, issue_id = item_key(index), f"1{index + 1:04d}"
        body = json.dumps(_payload(key, issue_id, n // items)).encode()
        delivery_id = f"soak-{n}"
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature": sign_hub(body, JIRA_SECRET),
            "X-Atlassian-Webhook-Identifier": delivery_id,
        }
        out.append(Delivery(delivery_id, key, body, headers))
    rng.shuffle(out)  # out of order
    originals = list(out)
    for _ in range(deliveries - unique):
        original = rng.choice(originals)
        out.append(Delivery(original.delivery_id, original.key, original.body, original.headers, True))
    head, tail = out[: unique // 10], out[unique // 10 :]
    rng.shuffle(tail)  # resends arrive anywhere after the first tenth, mixed with first sends
    return head + tail


@dataclass
class Sent:
    statuses: dict[str, int] = field(default_factory=dict)  # answer status → count
    outcomes: dict[str, int] = field(default_factory=dict)  # queued / duplicate / … → count
    sent_at: dict[str, float] = field(default_factory=dict)  # delivery id → first send (monotonic)
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def send_all(url: str, items: list[Delivery], threads: int = 8) -> Sent:
    """Post every delivery from `threads` threads; count answers.

    Plain http.client: gunicorn's sync workers close every connection anyway, and the
    client's own CPU would otherwise be a good part of what the test measures.
    """
    sent = Sent()
    host, _, port = url.removeprefix("http://").partition(":")

    def post(delivery: Delivery) -> None:
        with sent.lock:
            sent.sent_at.setdefault(delivery.delivery_id, time.monotonic())
        connection = http.client.HTTPConnection(host, int(port or 80), timeout=30)
        try:
            connection.request("POST", "/webhooks/jira", body=delivery.body, headers=delivery.headers)
            response = connection.getresponse()
            status, body = response.status, response.read()
        finally:
            connection.close()
        try:
            outcome = str(json.loads(body).get("status", "?"))
        except ValueError:
            outcome = "?"
        with sent.lock:
            sent.statuses[str(status)] = sent.statuses.get(str(status), 0) + 1
            sent.outcomes[outcome] = sent.outcomes.get(outcome, 0) + 1

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(post, items):
            pass
    sent.seconds = time.monotonic() - started
    return sent
