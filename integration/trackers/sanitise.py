"""Tracker text that every store can keep: no NUL characters, no lone surrogates.

JSON may carry `\\u0000` and unpaired `\\ud800`-style escapes. SQLite stores them, but
PostgreSQL refuses both (NUL in text, invalid UTF-8), so an item whose title had one would
fail its jobs forever there. Every normalizer's input passes through here first, so the
Items, Events and mirror rows built from it are the same on both stores: NUL is dropped,
a lone surrogate becomes U+FFFD (the replacement character).
"""

from __future__ import annotations

import re
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def clean_text(value: str) -> str:
    if _UNSTORABLE.search(value) is None:
        return value
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", value)


def clean(value: Any, depth: int = 0) -> Any:
    """Strings (keys too) cleaned throughout a decoded JSON value; other values as they are."""
    if isinstance(value, str):
        return clean_text(value)
    if depth > 200:  # the JSON parser's own nesting bound keeps real payloads far below this
        return value
    if isinstance(value, dict):
        return {clean(k, depth + 1): clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v, depth + 1) for v in value]
    return value
