"""A delivery's headers and body read straight from the WSGI environ.

Building Werkzeug's `Request` for a delivery (its stream wrapper, its header object, the app's
size limit looked up on every read) cost some 60 k instructions a request; the receiver needs
three headers and the body, read here as Werkzeug reads them: a declared length is read as
such, a body with no length only where the server ends the stream (`wsgi.input_terminated`,
gunicorn's chunked bodies), and a body that ends before its declared length is Werkzeug's
`ClientDisconnected` (400), as a client gone mid-body always was.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from werkzeug.exceptions import ClientDisconnected

_SPECIAL = {"CONTENT_TYPE": "Content-Type", "CONTENT_LENGTH": "Content-Length"}
_KEYS: dict[str, str] = {}  # header name → environ key, for the few names the receiver asks for


class EnvironHeaders:
    """The request's headers as the guard chain reads them (`HeaderLookup`): case-insensitive `get`,
    and `items` with Werkzeug's names (`Linear-Timestamp` for `HTTP_LINEAR_TIMESTAMP`)."""

    __slots__ = ("environ",)

    def __init__(self, environ: dict[str, Any]) -> None:
        self.environ = environ

    def get(self, key: str, /) -> str | None:
        name = _KEYS.get(key)
        if name is None:
            name = key.upper().replace("-", "_")
            name = _KEYS[key] = name if name in _SPECIAL else "HTTP_" + name
        value = self.environ.get(name)
        return value if isinstance(value, str) else None

    def items(self) -> Iterator[tuple[str, str]]:
        for key, value in self.environ.items():
            if key.startswith("HTTP_") and key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                yield key[5:].replace("_", "-").title(), value
            elif key in _SPECIAL and value:
                yield _SPECIAL[key], value


def content_length(environ: dict[str, Any]) -> int | None:
    """The declared length as Werkzeug reads it: None when absent or chunked, 0 when not a plain
    non-negative integer."""
    transfer = environ.get("HTTP_TRANSFER_ENCODING")
    declared = environ.get("CONTENT_LENGTH")
    if declared is None or (transfer is not None and "chunked" in _tokens(transfer)):
        return None
    declared = declared.strip(" \t")
    return int(declared) if declared.isascii() and declared.isdigit() else 0


def _tokens(header: str) -> list[str]:
    return [token.strip() for token in header.lower().split(",")]


def read_body(environ: dict[str, Any], length: int | None, cap: int) -> bytes:
    """The body: `length` bytes when declared, else up to `cap + 1` from a stream the server ends
    (nothing from one it does not: Werkzeug's safe fallback)."""
    stream: IO[bytes] = environ["wsgi.input"]
    if length is None:
        return stream.read(cap + 1) if "wsgi.input_terminated" in environ else b""
    if length == 0:
        return b""
    try:
        body = stream.read(length)
        while len(body) < length:
            more = stream.read(length - len(body))
            if not more:
                raise ClientDisconnected()
            body += more
    except (OSError, ValueError) as error:
        raise ClientDisconnected() from error
    return body
