"""Small helpers every admin view shares: the services, the clock, scrubbing and formatting.

Kept free of view logic so the views read top-down and the helpers are testable alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, request

from integration.services import Services

Clock = Callable[[], datetime]


def services() -> Services:
    return current_app.extensions["flowkeeper"].services  # type: ignore[no-any-return]


def now() -> datetime:
    """The admin pages' clock; tests replace it through `app.config["ADMIN_CLOCK"]`."""
    clock: Clock | None = current_app.config.get("ADMIN_CLOCK")
    return clock() if clock else datetime.now(UTC)


def scrub(text: object, secrets: list[str] | None = None) -> str:
    """Any configured secret inside `text` (an error, a traceback) becomes ***."""
    value = str(text)
    for secret in services().settings.secrets() if secrets is None else secrets:
        if len(secret) >= 4:
            value = value.replace(secret, "***")
    return value


def safe_url(url: object) -> str | None:
    """Only http(s) links from tracker data are rendered: a `javascript:` URL is untrusted input."""
    if not isinstance(url, str):
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in {"http", "https"} and parts.netloc else None


def fields(obj: object, *names: str) -> dict[str, Any]:
    """The named attributes of `obj`, as the entries of a JSON answer."""
    return {name: getattr(obj, name) for name in names}


def wants_json() -> bool:
    accept = request.accept_mimetypes
    return request.path.endswith(".json") or (accept.best == "application/json")


def ago(when: datetime | None, reference: datetime | None = None) -> str:
    """'3 h ago' style ages for tables: precise enough to scan, short enough to fit."""
    if when is None:
        return "never"
    delta = (reference or now()) - when
    return f"{short_duration(delta)} ago" if delta >= timedelta(0) else f"in {short_duration(-delta)}"


def short_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400 * 2:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def utc(when: datetime | None) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if when else "—"


def parse_day(raw: str | None) -> datetime | None:
    """A `YYYY-MM-DD` (or full ISO) filter value as an aware UTC datetime; None when empty or bad."""
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def int_arg(name: str, default: int | None = None, minimum: int = 0, maximum: int = 10**12) -> int | None:
    raw = request.args.get(name, "")
    try:
        return max(minimum, min(maximum, int(raw)))
    except ValueError:
        return default


def clean_arg(name: str, limit: int = 128) -> str | None:
    value = request.args.get(name, "").strip()
    return value[:limit] or None


def template_helpers() -> dict[str, Any]:
    return {"ago": ago, "utc": utc, "safe_url": safe_url, "scrub": scrub, "short_duration": short_duration}
