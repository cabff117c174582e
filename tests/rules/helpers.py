"""Small builders for rule tests: a rule file on disk and an Item with sensible defaults."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rules.loader import load_ruleset
from rules.model import Item, Person, Status, StatusCategory, Tracker
from rules.ruleset import RuleSet
from rules.triggers import TRIGGERS

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


def every_trigger_rules() -> str:
    """A rule file with one rule per trigger, and one on every trigger, each holding on
    unassigned work in progress: drives every event kind against every trigger."""
    body = ["version: 1", "rules:"]
    for n, on in enumerate([[t] for t in TRIGGERS] + [list(TRIGGERS)]):
        body += [f"  - name: r{n}-{on[0] if len(on) == 1 else 'all'}".replace("_", "-"),
                 "    description: holds on unassigned work in progress",
                 f"    on: [{', '.join(on)}]",
                 "    when:",
                 "      all:",
                 "        - status.category: in_progress",
                 "        - assignee: { missing: true }",
                 "    then:",
                 f"      - flag: {{ label: flag-{n}, comment: 'needs an owner' }}"]
    return "\n".join(body) + "\n"


def one_rule(tmp_path: Path, condition: str, timezone: str = "UTC", extra: str = "") -> RuleSet:
    """A rule set of one scheduled rule `r` that labels `hit` when `condition` holds."""
    return load(tmp_path, f"""
        version: 1
        rules:
          - name: r
            description: test rule
            on: schedule
            timezone: {timezone}
            when: {{ {condition} }}
            then: [ {{ add_labels: [hit] }} ]
            {extra}
        """)
