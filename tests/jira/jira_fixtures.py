"""Helpers for the Jira tests: captured fixtures on disk and the reference folder."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from tests.reference import REFERENCE_DIR

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "jira"
REFERENCE = REFERENCE_DIR / "jira"


def load(name: str) -> Any:
    """A fixture as fresh JSON (a deep copy each time, so tests may mutate it)."""
    return copy.deepcopy(json.loads((FIXTURES / name).read_text(encoding="utf-8")))
