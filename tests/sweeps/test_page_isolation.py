"""One item whose judging fails never stops a sweep page for the other items."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

import integration.judge as judge_module
from integration.stubtracker.site import Issue
from tests.stub import ADA
from tests.sweeps.world import World

RULE = "stalled-in-progress"


def test_a_failing_item_is_counted_and_the_rest_of_the_page_is_flagged(make_world: Callable[..., World],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    world = make_world("jira")
    issues = [world.site.add(Issue(id=f"1000{n}", key=f"ENG-{n}", team="ENG", status="In Progress",
                                       category="in_progress", updated=world.clock.now, created=world.clock.now,
                                       assignee=ADA)) for n in (1, 2, 3)]
    real = judge_module.evaluate

    def evaluate(rules: Any, item: Any, *args: Any) -> Any:
        if item.key == "ENG-2":
            raise IndexError("damaged item data")  # what an unforeseen value would do deep in a rule
        return real(rules, item, *args)

    monkeypatch.setattr(judge_module, "evaluate", evaluate)
    world.at(datetime(2026, 3, 9, 12, tzinfo=UTC))
    run = world.sweep(RULE)
    assert run is not None and run.state == "done"
    assert [i.labels for i in issues] == [["stalled"], [], ["stalled"]]
    assert run.stats.get("failed_items") == 1
