"""Transition, reopen, assign and unassign decisions; the actor and `people:` in rules."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from rules.engine import evaluate
from rules.errors import RuleFileError
from rules.model import (
    ActionKind,
    ActorKind,
    Change,
    Closure,
    EvalContext,
    Event,
    EventKind,
    Mention,
    Person,
    Status,
    StatusCategory,
    Tracker,
)
from rules.verdicts import explain
from tests.rules.helpers import NOW, item, load

BOB = Person("u-bob", "Bob", "bob@example.com")
BOT = Person("bot-1", "Release bot", kind=ActorKind.BOT)
TODO = Status("To Do", StatusCategory.TODO)

ON_START = """
version: 1
people:
  lead: { jira: acc-dana, linear: lin-dana, name: Dana }
  helper: { email: helper@example.com }
rules:
  - name: assign-on-start
    description: Whoever starts an unassigned item owns it.
    on: [status_changed]
    when:
      all:
        - changed: { field: status.category, to: in_progress }
        - assignee: { missing: true }
        - actor.kind: human
    then:
      - assign: actor
      - comment: "{{ actor.mention }} you started {{ key }}, so it is yours. FYI {{ people.lead.mention }}"
  - name: close-stale
    description: Stale items are closed as not planned.
    on: [schedule]
    when: { status.category: todo }
    then:
      - transition: { to: canceled, reason: "no activity for 60 days" }
"""


def _start(actor: Person, **fields: object) -> Event:
    moved = item(assignee=None, **fields)
    change = Change("status", "To Do", Status("In Progress", StatusCategory.IN_PROGRESS))
    return Event(Tracker.JIRA, EventKind.UPDATED, moved, NOW, actor=actor, changes=(change,))


def test_starting_an_unassigned_item_assigns_the_mover_and_mentions_them_and_the_lead(tmp_path: Path) -> None:
    rules = load(tmp_path, ON_START)
    event = _start(BOB)
    plan = evaluate(rules, event.item, event, NOW, EvalContext())
    assign = next(a for a in plan.actions if a.kind is ActionKind.ASSIGN)
    comment = next(a for a in plan.actions if a.kind is ActionKind.COMMENT)
    assert assign.assignee == BOB
    assert comment.comment is not None
    mentioned = [s.person for s in comment.comment.segments if isinstance(s, Mention)]
    assert mentioned == [BOB, Person("acc-dana", "Dana")]
    assert comment.comment.plain == "@Bob you started ENG-1, so it is yours. FYI @Dana"


def test_a_bot_moving_the_item_assigns_nobody(tmp_path: Path) -> None:
    rules = load(tmp_path, ON_START)
    event = _start(BOT)
    plan = evaluate(rules, event.item, event, NOW, EvalContext())
    assert [a for a in plan.actions if a.rule == "assign-on-start"] == []


def test_people_resolve_per_tracker(tmp_path: Path) -> None:
    rules = load(tmp_path, ON_START)
    event = _start(BOB, tracker=Tracker.LINEAR)
    event = Event(Tracker.LINEAR, event.kind, event.item, NOW, actor=BOB, changes=event.changes)
    comment = next(a for a in evaluate(rules, event.item, event, NOW, EvalContext()).actions
                   if a.kind is ActionKind.COMMENT)
    assert comment.comment is not None
    assert Person("lin-dana", "Dana") in [s.person for s in comment.comment.segments if isinstance(s, Mention)]


def test_a_close_is_a_transition_with_its_reason_and_is_skipped_when_already_closed(tmp_path: Path) -> None:
    rules = load(tmp_path, ON_START)
    plan = evaluate(rules, item(status=TODO), None, NOW, EvalContext())
    (close,) = plan.actions
    assert close.kind is ActionKind.TRANSITION and close.transition is not None
    assert close.transition.category is StatusCategory.CANCELED
    assert "no activity for 60 days" in close.reason
    verdict = next(v for v in explain(rules, item(status=TODO), None, NOW, EvalContext()) if v.rule == "close-stale")
    assert "no activity for 60 days" in verdict.format_text()


REOPEN = """
version: 1
rules:
  - name: reopen-on-reply
    description: A person answering within 30 days of an automatic close reopens the item.
    on: [comment_created]
    when:
      all:
        - actor.kind: human
        - closed_by_flowkeeper: { newer_than: 30 days }
    then:
      - reopen: { reason: "a person answered after the automatic close" }
"""


def _reply(closed_days_ago: int, status: Status, who: Person = BOB) -> tuple[Event, EvalContext]:
    closed = item(status=status)
    event = Event(Tracker.JIRA, EventKind.COMMENT_CREATED, closed, NOW, actor=who)
    closure = Closure("close-stale", NOW - timedelta(days=closed_days_ago), Status("In Review",
                      StatusCategory.IN_PROGRESS), Status("Won't Do", StatusCategory.CANCELED))
    return event, EvalContext(closure=closure)


@pytest.mark.parametrize(("days", "who", "status", "reopens"), [
    (3, BOB, Status("Won't Do", StatusCategory.CANCELED), True),
    (45, BOB, Status("Won't Do", StatusCategory.CANCELED), False),  # too long ago
    (3, BOT, Status("Won't Do", StatusCategory.CANCELED), False),  # bots do not count
    (3, BOB, Status("Done", StatusCategory.DONE), False),  # a person closed it since
])
def test_reopen_on_human_reply(tmp_path: Path, days: int, who: Person, status: Status, reopens: bool) -> None:
    rules = load(tmp_path, REOPEN)
    event, context = _reply(days, status, who)
    plan = evaluate(rules, event.item, event, NOW, context)
    if not reopens:
        assert plan.actions == ()
        return
    (reopen,) = plan.actions
    assert reopen.transition is not None and reopen.transition.reopen
    assert reopen.transition.status == "In Review"
    assert "a person answered" in reopen.reason


ASSIGNING = """
version: 1
people:
  lead: { jira: acc-dana, name: Dana }
rules:
  - name: give-to-lead
    description: Unowned bugs go to the lead.
    on: [schedule]
    when: { type: Bug }
    then:
      - assign: lead
  - name: drop-owner
    description: Owners of blocked items are released.
    on: [schedule]
    when: { labels: { contains: abandoned } }
    then:
      - unassign: { reason: "no update after the warning" }
"""


def test_assign_to_a_named_person_and_skip_with_a_reason_when_already_so(tmp_path: Path) -> None:
    rules = load(tmp_path, ASSIGNING)
    plan = evaluate(rules, item(type="Bug", assignee=None), None, NOW, EvalContext())
    assert [(a.kind, a.assignee) for a in plan.actions] == [(ActionKind.ASSIGN, Person("acc-dana", "Dana"))]
    already = evaluate(rules, item(type="Bug", assignee=Person("acc-dana", "Dana")), None, NOW, EvalContext())
    assert already.actions == ()
    assert "already assigned to Dana" in {n.reason for n in already.no_actions if n.rule == "give-to-lead"}


def test_unassign_skips_an_unassigned_item_and_says_why(tmp_path: Path) -> None:
    rules = load(tmp_path, ASSIGNING)
    plan = evaluate(rules, item(labels=("abandoned",)), None, NOW, EvalContext())
    assert [(a.kind.value, a.reason.endswith("no update after the warning")) for a in plan.actions] == [
        ("unassign", True)]
    none = evaluate(rules, item(labels=("abandoned",), assignee=None), None, NOW, EvalContext())
    assert none.actions == () and "already unassigned" in {n.reason for n in none.no_actions}


@pytest.mark.parametrize(("body", "message"), [
    ("      - assign: leed\n", "'leed' is not actor, reporter, nobody or a name in people: (did you mean 'lead'?)"),
    ("      - comment: \"{{ people.leed.mention }}\"\n", "people.leed, which people: does not define"),
    ("      - transition: { to: done, status: Done }\n", "give either 'to'"),
])
def test_mistakes_are_load_errors_with_the_line(tmp_path: Path, body: str, message: str) -> None:
    text = ASSIGNING.split("  - name: drop-owner")[0].replace("      - assign: lead\n", body)
    with pytest.raises(RuleFileError) as caught:
        load(tmp_path, text)
    assert message in str(caught.value)
    assert "rules.yml:10:" in str(caught.value)


def test_one_name_means_one_person_across_files(tmp_path: Path) -> None:
    from rules.loader import load_ruleset
    from tests.rules.helpers import write_rules

    first = write_rules(tmp_path, ASSIGNING, "a.yml")
    second = write_rules(tmp_path, "version: 1\npeople:\n  lead: { jira: someone-else }\n", "b.yml")
    with pytest.raises(RuleFileError) as caught:
        load_ruleset([first, second])
    assert "'lead' is already defined differently in" in str(caught.value)
    shared = write_rules(tmp_path, "version: 1\npeople:\n  lead: { jira: acc-dana, name: Dana }\n", "b.yml")
    assert load_ruleset([first, shared]).rule("give-to-lead") is not None


def test_actor_kind_never_holds_in_a_sweep(tmp_path: Path) -> None:
    text = REOPEN.replace("on: [comment_created]", "on: [schedule]")
    with pytest.raises(RuleFileError) as caught:
        load(tmp_path, text)
    assert "'actor.kind' never holds in a sweep" in str(caught.value)


def test_a_named_transition_target_is_checked_online_like_status_conditions(tmp_path: Path) -> None:
    from rules.referenced_names import names_to_check

    text = ASSIGNING.replace("      - assign: lead\n", "      - transition: { status: In Review }\n")
    assert names_to_check(load(tmp_path, text)).status_names == {"In Review": {"give-to-lead"}}
