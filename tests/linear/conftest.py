"""Shared helpers for the Linear tests: captured payloads and the reference schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.reference import REFERENCE_DIR

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "linear"
REFERENCE = REFERENCE_DIR / "linear"


def load_webhook(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "webhooks" / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture
def webhook() -> Any:
    """A loader of captured deliveries (a fresh copy each call, safe to mutate)."""
    return load_webhook


@pytest.fixture(scope="session")
def linear_schema() -> Any:
    """Linear's published schema, parsed once; skips only where the reference folder is absent."""
    from graphql import build_schema

    path = REFERENCE / "schema.graphql"  # ../shared/reference/linear next to the checkout
    if not path.exists():
        pytest.skip(
            "Linear's schema.graphql is not here (shared/reference/linear is absent on a user's clone)"
        )
    return build_schema(path.read_text(encoding="utf-8"))
