"""Milestones (Jira fix versions, Linear project milestones), the cycle's and the project's
state, the parent and the sub-task count: what a policy such as actions/stale's
`exempt-milestones` / `exempt-all-milestones` reads, in conditions, templates and pushdown."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from rules.calendar import BusinessCalendar
from rules.engine import evaluate
from rules.errors import RuleFileError
from rules.itemjson import item_from_dict
from rules.model import EvalContext, Text
from rules.templates import check_template
from tests.rules.helpers import NOW, item, one_rule


def fires(tmp_path: Path, condition: str, **fields: object) -> bool:
    rules = one_rule(tmp_path, condition)
    return bool(evaluate(rules, item(**fields), None, NOW, EvalContext()).actions)


@pytest.mark.parametrize(("milestones", "exempt"), [
    ((), False), (("v2.0",), True), (("V2.0 ", "Backlog"), False), (("Release 3", "v2.0"), True)])
def test_exempt_milestones_spares_items_in_the_named_milestones(tmp_path: Path, milestones: tuple[str, ...],
                                                                exempt: bool) -> None:
    condition = "milestones: { none_of: [v2.0, Release 4] }"
    assert fires(tmp_path, condition, milestones=milestones) is not exempt


@pytest.mark.parametrize(("milestones", "exempt"), [((), False), (("v2.0",), True)])
def test_exempt_all_milestones_spares_any_item_with_a_milestone(tmp_path: Path, milestones: tuple[str, ...],
                                                                exempt: bool) -> None:
    assert fires(tmp_path, "milestones: { missing: true }", milestones=milestones) is not exempt


def test_milestone_names_may_hold_spaces_and_compare_ignoring_case(tmp_path: Path) -> None:
    assert fires(tmp_path, "milestones: { any_of: [Release 3] }", milestones=("release 3",))
    assert fires(tmp_path, "milestones: 'Release 3'", milestones=("Release 3", "v2"))
    assert not fires(tmp_path, "milestones: { all_of: [Release 3, v9] }", milestones=("Release 3", "v2"))
    assert fires(tmp_path, "milestones: { matches: '^v2\\.' }", milestones=("v2.1",))


@pytest.mark.parametrize(("state", "condition", "holds"), [
    ("active", "sprint.state: active", True),
    ("upcoming", "sprint.state: [active, upcoming]", True),
    ("completed", "sprint.state: { not_in: [active, upcoming] }", True),
    (None, "sprint.state: { missing: true }", True),
    ("completed", "sprint.state: ACTIVE", False),
])
def test_the_cycle_or_sprint_state(tmp_path: Path, state: str | None, condition: str, holds: bool) -> None:
    assert fires(tmp_path, condition, sprint="Cycle 7", sprint_state=state) is holds


@pytest.mark.parametrize(("state", "holds"), [("started", False), ("paused", True), ("canceled", True),
                                              (None, False)])
def test_the_project_state(tmp_path: Path, state: str | None, holds: bool) -> None:
    assert fires(tmp_path, "project.state: [paused, canceled]", project_state=state) is holds


def test_parent_and_sub_task_count(tmp_path: Path) -> None:
    assert fires(tmp_path, "parent: eng-7", parent="ENG-7")
    assert not fires(tmp_path, "parent: { in: [ENG-8] }", parent="ENG-7")
    assert fires(tmp_path, "subtasks: { gt: 0 }", subtasks=2)
    assert not fires(tmp_path, "subtasks: { gt: 0 }", subtasks=0)
    assert not fires(tmp_path, "subtasks: { gt: 0 }", subtasks=None)
    assert fires(tmp_path, "subtasks: { missing: true }", subtasks=None)


def test_an_unknown_field_skips_the_rule_instead_of_guessing(tmp_path: Path) -> None:
    rules = one_rule(tmp_path, "milestones: { missing: true }")
    partial = item(milestones=(), unknown=frozenset({"milestones"}))
    plan = evaluate(rules, partial, None, NOW, EvalContext())
    assert not plan.actions and "milestones" in plan.no_actions[0].reason


def test_a_bad_state_list_is_a_file_error(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="milestones"):
        one_rule(tmp_path, "milestones: { none_of: [] }")


def test_the_pushdown_carries_milestones_parent_and_states(tmp_path: Path) -> None:
    rules = one_rule(tmp_path, "all: [ { milestones: { any_of: [v2, v3] } }, { parent: [ENG-1] }, "
                               "{ sprint.state: active }, { project.state: { in: [started] } }, "
                               "{ milestones: { present: true } }, { subtasks: { gt: 1 } } ]")
    query = rules.rules[0].pushdown(NOW)
    assert query.field_in == (("milestones", ("v2", "v3")), ("parent", ("ENG-1",)), ("sprint.state", ("active",)),
                              ("project.state", ("started",)))
    assert query.field_empty == (("milestones", False),)


def test_none_of_milestones_pushes_nothing_down(tmp_path: Path) -> None:
    """A JQL `fixVersion not in` drops items with no version, and names a version that may not exist."""
    query = one_rule(tmp_path, "milestones: { none_of: [v2] }").rules[0].pushdown(NOW)
    assert (query.field_in, query.field_empty) == ((), ())


def test_templates_read_the_new_fields() -> None:
    body = check_template("{{ key }} in {{ milestones | join(', ') }}, parent {{ parent }}, "
                          "{{ subtasks }} sub-tasks, cycle {{ sprint_state }}, project {{ project_state }}").render(
        item(milestones=("v2", "Release 3"), parent="ENG-7", subtasks=3, sprint_state="active",
             project_state="paused"), NOW, BusinessCalendar(), _Rule())
    assert body.segments == (Text("ENG-1 in v2, Release 3, parent ENG-7, 3 sub-tasks, cycle active, "
                                  "project paused"),)


class _Rule:
    name = "r"
    description = "d"


def test_rule_tests_and_explain_items_take_the_new_fields() -> None:
    built = item_from_dict({"milestones": ["v2"], "subtasks": 2, "sprint_state": "upcoming",
                            "project_state": "planned", "parent": "ENG-7"})
    assert (built.milestones, built.subtasks, built.sprint_state, built.project_state) == (
        ("v2",), 2, "upcoming", "planned")


def test_the_readme_exempt_milestones_example_means_what_it_says(tmp_path: Path) -> None:
    import re

    import yaml

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "exempt-milestones" in b)
    when = yaml.safe_load(block)["when"]
    rules = one_rule(tmp_path, json.dumps(when)[1:-1])
    quiet = {"last_activity_at": NOW - timedelta(days=15)}
    acts = [bool(evaluate(rules, item(milestones=m, **quiet), None, NOW, EvalContext()).actions)
            for m in ((), ("Release 3",), ("v3.0",))]
    assert acts == [True, False, True]


def test_the_mirror_keeps_the_new_fields_and_reads_older_rows_without_them(tmp_path: Path) -> None:
    from integration.codec import from_jsonable, to_jsonable
    from rules.model import Item

    planned = item(milestones=("v2.0", "Release 3"), subtasks=2, sprint_state="active", project_state="paused")
    assert from_jsonable(Item, to_jsonable(planned)) == planned
    older = {k: v for k, v in to_jsonable(planned).items()
             if k not in ("milestones", "subtasks", "sprint_state", "project_state")}
    read = from_jsonable(Item, older)  # a row written before these fields existed
    assert (read.milestones, read.subtasks, read.sprint_state, read.project_state) == ((), None, None, None)
    assert fires(tmp_path, "milestones: { none_of: [v2.0] }", **{f: getattr(read, f) for f in ("milestones",)})
