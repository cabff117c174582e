"""The type of the `make_services` fixture (tests/conftest.py), for test signatures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from integration.services import Services


class MakeServices(Protocol):
    def __call__(self, env: Mapping[str, str] | None = None, *, clients: Mapping[str, Any] | None = None) -> Services:
        """Services from environment-style settings over the test's database; `clients` replaces the trackers."""
        ...
