"""Errors a receiver answers with a specific status."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from integration.trackers.sanitise import clean

F = TypeVar("F", bound=Callable[..., Any])

# OSError: datetime.fromtimestamp on a timestamp out of the platform's range. A normalizer does no I/O.
_SHAPE_ERRORS = (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError, RecursionError,
                 OSError)


class PayloadError(ValueError):
    """The delivery is well signed but not a payload we can understand: a 400 with this reason."""


def shape_errors_are_payload_errors(normalize: F) -> F:
    """A normalizer's entry: its input's text made storable (see `sanitise`), and a field of an
    unexpected type deep in a delivery made a malformed payload (400), not a crash (500)."""

    @functools.wraps(normalize)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            if args:
                args = (clean(args[0]), *args[1:])
            return normalize(*args, **kwargs)
        except PayloadError:
            raise
        except _SHAPE_ERRORS as error:
            detail = str(error)[:120]
            problem = f"{type(error).__name__}: {detail}"
            raise PayloadError(f"a field has an unexpected type or value ({problem})") from None

    return wrapped  # type: ignore[return-value]
