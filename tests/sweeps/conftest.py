"""Fixtures for the sweep tests: a world per tracker on a fresh database, with fakes behind `responses`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import responses

from tests.sweeps.world import World, write_rules

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # business days: Mon 2 … Fri 6, Mon 9 … Fri 13 March

LADDER_RULES = """
version: 1
rules:
  - name: stalled-in-progress
    description: In progress without human activity climbs a ladder of nudges.
    on: [schedule, updated, comment_created]
    when:
      all:
        - status.category: in_progress
        - last_activity: { older_than: 2 business days }
        - labels: { none_of: [on-hold] }
    then:
      - comment: "{{ assignee.mention }} {{ key }} has had no activity for {{ last_activity | age }}. Anything in the way?"
    escalate:
      - after: 5 business days
        then:
          - flag: { label: stalled, comment: "{{ key }} is stalled: labelled for the board." }
      - after: 8 business days
        then:
          - flag: { label: escalated, comment: "{{ key }} has been stalled for {{ last_activity | age }}: escalating to the lead." }
    repeat_after: 2 business days
"""


@pytest.fixture
def make_world(tmp_path: Path, db_url: str) -> Iterator[Callable[..., World]]:
    """`make_world("jira")`: a World over a fresh database, its HTTP mocked until the test ends."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        def make(tracker: str, rules: str = LADDER_RULES, now: datetime = MONDAY, **options: Any) -> World:
            folder = write_rules(tmp_path / f"rules-{tracker}", rules)
            return World(tracker, options.pop("db_url", db_url), folder, now, mock, **options)
        yield make
