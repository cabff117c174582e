"""The guard chain every tracker's webhook passes, one step after another.

size (413) → signature (401) → parse (400) → freshness (401) → triage (400 / 200
ignored) → organization (401) → dedupe + durable enqueue (200 queued / duplicate, 503
when the queue is away). Each step answers with its own status and logs a dotted key.

The triage is the tracker's quick look at the body's outline (event type, item, timestamp):
the item's key, None for "ignored", a 400 with the reason when the outline is missing or of
the wrong type. The verified body is queued as received and the worker normalizes it in
full, with the site facts it knows; a field it cannot read ends the delivery `failed` with
the reason (`malformed: …`), without retries.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from integration.codec import body_envelope
from integration.jsontext import fast_loads
from integration.queue import DeliveryQueue, QueueUnavailable
from integration.settings import Secret
from integration.trackers.errors import PayloadError
from rules.model import Tracker
from webhooks.environ import EnvironHeaders, content_length, read_body
from webhooks.headers import HeaderLookup

log = logging.getLogger("flowkeeper.webhooks")

# Flask's `jsonify` text (compact, sorted keys, ASCII), without needing an app context.
_encode_answer = json.JSONEncoder(ensure_ascii=True, sort_keys=True, separators=(",", ":")).encode

Verifier = Callable[[bytes, str | None, Sequence[Secret]], bool]
FreshnessCheck = Callable[[Mapping[str, Any], HeaderLookup, datetime], str | None]
OrgCheck = Callable[[Mapping[str, Any]], str | None]


@dataclass(frozen=True)
class ReceiverSpec:
    tracker: Tracker
    secrets: tuple[Secret, ...]
    secret_variable: str
    allow_unsigned: bool
    signature_header: str
    verify: Verifier
    delivery_header: str
    triage: Callable[[Mapping[str, Any]], str | None]  # the item's key; None: not acted on (200 ignored)
    fresh: FreshnessCheck | None = None
    check_org: OrgCheck | None = None
    body_identity: Callable[[Mapping[str, Any]], str | None] | None = None  # dedupe key from a signed body
    retry_header: str | None = None  # the tracker's "this is a retry" header, logged when sent
    max_body_bytes: int = 1_048_576


@dataclass(frozen=True)
class Answer:
    """The receiver's answer: the HTTP status, the outcome the webhook counter counts, and the
    JSON body, in Flask's `jsonify` text (compact, sorted keys, ASCII, a newline)."""

    status: int
    outcome: str
    body: bytes


class Refusal(Exception):
    def __init__(self, status: int, key: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.key, self.reason = status, key, reason


def _answer(spec: ReceiverSpec, status: int, outcome: str, reason: str | None = None, **extra: str) -> Answer:
    level = logging.INFO if status < 400 else logging.WARNING
    log.log(level, "webhook.%s.%s", spec.tracker.value, outcome,
            extra={"tracker": spec.tracker.value, "outcome": outcome, **extra})
    body: dict[str, str] = {"status": outcome, **extra}
    if reason:
        body["reason"] = reason
    return Answer(status, outcome, answer_text(body))


def answer_text(body: dict[str, str]) -> bytes:
    """Flask's `jsonify` text of an answer: orjson's when it holds no escape (then the two agree byte
    for byte), the standard library's otherwise (non-ASCII, quotes, control characters, a lone surrogate)."""
    try:
        text = orjson.dumps(body, option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:  # a lone surrogate
        text = b"\\"
    return text if text.isascii() and b"\\" not in text else (_encode_answer(body) + "\n").encode()


def _read_body(spec: ReceiverSpec, environ: dict[str, Any]) -> bytes:
    """The body, refused over the cap. A declared length is read as such: asking the stream for the
    cap instead makes it allocate a buffer of the cap (1 MB) for every delivery."""
    length = content_length(environ)
    if length is not None and length > spec.max_body_bytes:
        raise Refusal(413, "too_large", f"body over {spec.max_body_bytes} bytes")
    body = read_body(environ, length, spec.max_body_bytes)
    if len(body) > spec.max_body_bytes:
        raise Refusal(413, "too_large", f"body over {spec.max_body_bytes} bytes")
    return body


def _check_signature(spec: ReceiverSpec, body: bytes, headers: HeaderLookup) -> None:
    if not spec.secrets:
        if spec.allow_unsigned:
            return
        raise Refusal(401, "no_secret", f"{spec.secret_variable} is not set: unsigned webhooks are refused "
                                        "(set FLOWKEEPER_ALLOW_UNSIGNED=1 to accept them)")
    if not spec.verify(body, headers.get(spec.signature_header), spec.secrets):
        raise Refusal(401, "bad_signature", f"{spec.signature_header} does not match the body")


def parse_payload(body: bytes) -> dict[str, Any]:
    """The body's JSON object, parsed once for every guard (orjson's value where it is `json`'s)."""
    done, payload = fast_loads(body)
    if not done:
        payload = _json_or_payload_error(body)
    if not isinstance(payload, dict):
        raise PayloadError(f"body must be a JSON object (got {type(payload).__name__})")
    return payload


def _json_or_payload_error(body: bytes) -> Any:
    """The standard library's value for the body, or the 400 reason that says what is wrong."""
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise PayloadError("body is not UTF-8") from None
    except RecursionError:  # the parser's own bound: nothing deeper ever reaches a normalizer
        raise PayloadError("JSON nested too deeply") from None
    except json.JSONDecodeError as error:
        raise PayloadError(f"body is not JSON ({error.msg} at line {error.lineno} column {error.colno})") from None


def delivery_id_of(spec: ReceiverSpec, headers: HeaderLookup, body: bytes) -> str:
    """The tracker's delivery id; a body hash when an old sender omits it (retries resend the same body)."""
    given = (headers.get(spec.delivery_header) or "").strip()
    return given[:128] if given else "sha256:" + hashlib.sha256(body).hexdigest()


def receive(spec: ReceiverSpec, environ: dict[str, Any], queue: DeliveryQueue, now: datetime | None = None) -> Answer:
    """The answer to one delivery, read from its WSGI environ."""
    now = now or datetime.now(UTC)
    headers = EnvironHeaders(environ)
    if spec.retry_header and (retry := headers.get(spec.retry_header)):
        log.info("webhook.%s.retry", spec.tracker.value, extra={"retry": retry[:8]})
    try:
        body = _read_body(spec, environ)
        _check_signature(spec, body, headers)
        payload = parse_payload(body)
        if spec.fresh and (stale := spec.fresh(payload, headers, now)):
            raise Refusal(401, "stale", stale)
        item_key = spec.triage(payload)
    except Refusal as refusal:
        return _answer(spec, refusal.status, refusal.key, refusal.reason)
    except PayloadError as error:
        return _answer(spec, 400, "malformed", str(error))
    identity = spec.body_identity(payload) if spec.body_identity else None
    delivery_id = identity or delivery_id_of(spec, headers, body)
    if item_key is None:
        return _answer(spec, 200, "ignored", delivery=delivery_id)
    if spec.check_org and (refused := spec.check_org(payload)):
        return _answer(spec, 401, "wrong_organization", refused, delivery=delivery_id)
    envelope = body_envelope(spec.tracker.value, delivery_id, body.decode("utf-8"), item_key, now)
    try:
        queued = queue.submit(spec.tracker.value, delivery_id, envelope, now)
    except QueueUnavailable as error:
        return _answer(spec, 503, "unavailable", f"queue unavailable ({error}); retry later")
    return _answer(spec, 200, "queued" if queued else "duplicate", delivery=delivery_id, item=item_key)
