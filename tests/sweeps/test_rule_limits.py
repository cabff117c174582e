"""A rule's own sweep limits, and the blast radius compared with the exact share of the scope."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from integration.settings_sweeps import SweepSettings
from integration.stubtracker.site import Issue
from integration.sweeps.blast import blast_limit, hold_reason, write_budget
from rules.errors import RuleFileError
from rules.ruleset import SweepLimits
from tests.rules.helpers import load
from tests.stub import ADA
from tests.sweeps.world import World

START = datetime(2026, 3, 2, 9, tzinfo=UTC)
RULES = """
version: 1
rules:
  - name: stalled
    description: In progress for 5 days without human activity gets a label.
    on: schedule
    when:
      all:
        - status.category: in_progress
        - last_activity: { older_than: 5 days }
    then:
      - add_labels: [stalled]
    sweep: SWEEP
"""


def test_the_limit_is_the_exact_share_not_rounded_up() -> None:
    settings = SweepSettings(blast_items=3, blast_share=0.5)
    assert blast_limit(settings, 7) == 3.5  # 4 changes are more than 3.5: held; 3 are not
    assert blast_limit(settings, 4) == 3.0
    assert "limit of 3.5 (the larger of 3 items and 50% of 7" in hold_reason(4, 7, settings)


def test_a_rules_own_limits_win_part_by_part() -> None:
    settings = SweepSettings(write_budget=200, blast_items=25, blast_share=0.1)
    mine = SweepLimits(write_budget=5, blast_items=None, blast_share=0.5)
    assert write_budget(settings, mine) == 5 and write_budget(settings, SweepLimits()) == 200
    assert blast_limit(settings, 100, mine) == 50 and blast_limit(settings, 100, SweepLimits()) == 25


def test_rule_file_sweep_block(tmp_path: Path) -> None:
    (rule,) = load(tmp_path, RULES.replace("SWEEP", "{ write_budget: 10, blast_radius: { items: 3, share: 50% } }")).rules
    assert rule.sweep_limits == SweepLimits(10, 3, 0.5)
    with pytest.raises(RuleFileError, match="at most 100%"):
        load(tmp_path, RULES.replace("SWEEP", "{ blast_radius: { share: 150% } }"))
    with pytest.raises(RuleFileError, match="write_budget"):
        load(tmp_path, RULES.replace("SWEEP", "{ write_budget: -1 }"))


def population(world: World, stalled: int, fresh: int) -> None:
    for n in range(1, stalled + fresh + 1):
        when = START - timedelta(days=10 if n <= stalled else 1)
        world.site.add(Issue(id=str(10000 + n), key=f"ENG-{n}", team="ENG", status="In Progress",
                                 category="in_progress", updated=when, created=when, assignee=ADA))


@pytest.mark.parametrize(("stalled", "state"), [(4, "held"), (3, "done")])
def test_a_sweep_holds_more_than_the_rules_exact_share(make_world: Callable[..., World], stalled: int,
                                                       state: str) -> None:
    rules = RULES.replace("SWEEP", "{ blast_radius: { items: 3, share: 50% } }")
    world = make_world("jira", rules, now=START)
    population(world, stalled, 7 - stalled)
    run = world.sweep("stalled")
    assert run is not None and run.state == state
    flagged = [i.key for i in world.site.issues.values() if "stalled" in i.labels]
    assert len(flagged) == (0 if state == "held" else stalled)


def test_a_rules_write_budget_defers_the_rest(make_world: Callable[..., World]) -> None:
    world = make_world("linear", RULES.replace("SWEEP", "{ write_budget: 2 }"), now=START)
    population(world, 3, 0)
    run = world.sweep("stalled")
    assert run is not None and "wait for the next run" in (run.reason or "")
    assert sum("stalled" in i.labels for i in world.site.issues.values()) == 2


@pytest.mark.parametrize("tracker", ["jira", "linear"])
@pytest.mark.parametrize(("order", "first"), [("newest_created", "ENG-3"), ("oldest_created", "ENG-1")])
def test_a_rules_sweep_order_decides_where_the_write_budget_goes(make_world: Callable[..., World], tracker: str,
                                                                 order: str, first: str) -> None:
    world = make_world(tracker, RULES.replace("SWEEP", f"{{ order: {order}, write_budget: 1 }}"), now=START)
    for n in (1, 2, 3):  # ENG-1 created first; updated the other way round
        created, updated = START - timedelta(days=40 - n), START - timedelta(days=6 + n)
        world.site.add(Issue(id=str(10000 + n), key=f"ENG-{n}", team="ENG", status="In Progress",
                                 category="in_progress", updated=updated, created=created, assignee=ADA))
    world.sweep("stalled")
    assert [i.key for i in world.site.issues.values() if "stalled" in i.labels] == [first]
