"""A serving process's long-lived objects, set aside from the garbage collector's full passes."""

from __future__ import annotations

import gc


def settle_heap() -> None:
    """Move every object alive now (modules, the app, its compiled statements and templates) into the
    collector's permanent generation, once the process is ready to serve: they live as long as it
    does, and a full collection, which a report's many rows set off several times, would otherwise
    walk them all again each time."""
    gc.freeze()
