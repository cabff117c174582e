"""What the webhook path reads from request headers: Flask's `Headers` or a plain dict (tests)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class HeaderLookup(Protocol):
    """`get` one header (Flask's is case-insensitive) and iterate `(name, value)` pairs.

    Werkzeug's `Headers` is no `Mapping` (it keeps repeated names), so the guard chain
    asks only for these two methods.
    """

    def get(self, key: str, /) -> str | None: ...

    def items(self) -> Iterable[tuple[str, str]]: ...
