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
# How JSON text carries them: as escapes only (the parser refuses raw control characters in
# strings, and UTF-8 decoding refuses encoded surrogates). `\\u0000`, an escaped backslash, also
# matches: that body is merely walked.
_ESCAPED_UNSTORABLE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_ESCAPED_UNSTORABLE_TEXT = re.compile(_ESCAPED_UNSTORABLE.pattern.decode())


class StorableJSON(dict[str, Any]):
    """A decoded JSON object whose text is storable throughout: `clean` returns it as it is."""


def storable_json(payload: dict[str, Any], text: bytes) -> dict[str, Any]:
    """`payload`, decoded from `text`, marked storable when the text escapes no NUL nor surrogate,
    so a normalizer skips walking every string of a body that needs no cleaning."""
    return StorableJSON(payload) if _ESCAPED_UNSTORABLE.search(text) is None else payload


def storable_json_text(payload: dict[str, Any], text: str) -> dict[str, Any]:
    """`storable_json` for a body kept as text (a queued delivery): neither escaped nor as a character
    itself may the text carry a NUL or a lone surrogate."""
    if _ESCAPED_UNSTORABLE_TEXT.search(text) is None and _UNSTORABLE.search(text) is None:
        return StorableJSON(payload)
    return payload


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
    if isinstance(value, StorableJSON):
        return value
    if isinstance(value, dict):
        return {clean(k, depth + 1): clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v, depth + 1) for v in value]
    return value
