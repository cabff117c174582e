"""What the Held page and `flowkeeper held list` show for held writes: what each would write."""

from __future__ import annotations

from integration.sweeps.planner import describe
from rules.model import (
    Action,
    ActionKind,
    CommentBody,
    Item,
    Person,
    Plan,
    StatusCategory,
    Text,
    Tracker,
    TransitionTarget,
)

ITEM = Item(Tracker.JIRA, "1", "ENG-1")


def test_a_held_write_shows_labels_comment_text_target_and_assignee() -> None:
    plan = Plan(ITEM, (
        Action(ActionKind.ADD_LABELS, "r", "why", labels=("stale", "closed-as-stale")),
        Action(ActionKind.COMMENT, "r", "why", comment=CommentBody((Text("Closed after 68 days. Reply to reopen."),))),
        Action(ActionKind.TRANSITION, "r", "why", transition=TransitionTarget(StatusCategory.CANCELED,
                                                                               note="stale for 67 days")),
        Action(ActionKind.ASSIGN, "r", "why", assignee=Person("acc-dana", "Dana")),
        Action(ActionKind.UNASSIGN, "r", "why"),
    ))
    assert describe(plan) == ("add_labels stale closed-as-stale; comment: Closed after 68 days. Reply to reopen.; "
                              "transition: to canceled (stale for 67 days); assign: to Dana; unassign")


def test_a_long_comment_is_cut_with_an_ellipsis() -> None:
    long = Action(ActionKind.COMMENT, "r", "why", comment=CommentBody((Text("x" * 1000),)))
    assert describe(Plan(ITEM, (long,))) == "comment: " + "x" * 299 + "…"
