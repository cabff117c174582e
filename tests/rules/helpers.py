"""Small builders for rule tests: a rule file on disk and an Item with sensible defaults."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rules.loader import load_ruleset
from rules.model import Item, Person, Status, StatusCategory, Tracker
from rules.ruleset import RuleSet

NOW = datetime(2026, 3, 13, 12, 0, tzinfo=UTC)  # a Friday
ADA = Person("u-ada", "Ada Lovelace", "ada@example.com")


def write_rules(tmp_path: Path, body: str, name: str = "rules.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
    return path


def load(tmp_path: Path, body: str) -> RuleSet:
    return load_ruleset([write_rules(tmp_path, body)])


def item(**changes: Any) -> Item:
    base = Item(Tracker.JIRA, "10001", "ENG-1", title="Fix login", team="ENG",
                status=Status("In Progress", StatusCategory.IN_PROGRESS), assignee=ADA,
                created_at=datetime(2026, 2, 1, tzinfo=UTC),
                updated_at=datetime(2026, 3, 12, tzinfo=UTC),
                last_activity_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    return base.with_fields(**changes)
