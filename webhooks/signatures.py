"""HMAC signature checks over the raw request body, constant-time, against several secrets."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from integration.settings import Secret


def _matches(body: bytes, given_hex: str, secrets: Sequence[Secret]) -> bool:
    given = given_hex.strip().lower().encode()  # bytes: a non-ASCII header is no 500
    ok = False
    for secret in secrets:  # check every secret: timing must not reveal which one matched
        expected = hmac.digest(secret.reveal().encode(), body, "sha256").hex().encode()
        ok |= hmac.compare_digest(expected, given)
    return ok


def verify_hub_signature(body: bytes, header: str | None, secrets: Sequence[Secret]) -> bool:
    """Jira's `X-Hub-Signature: sha256=<hex>`.

    Jira Cloud signs with SHA-256 only, so any other prefix (`sha1=` included) is refused:
    accepting a weaker algorithm the sender never uses only widens what a forger can try.
    """
    if not header or "=" not in header:
        return False
    algorithm, _, given = header.partition("=")
    if algorithm.strip().lower() != "sha256":
        return False
    return _matches(body, given, secrets)


def verify_hex_signature(body: bytes, header: str | None, secrets: Sequence[Secret]) -> bool:
    """Linear's `Linear-Signature: <hex>` (no prefix)."""
    return bool(header) and _matches(body, header or "", secrets)


def sign_hub(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sign_hex(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
