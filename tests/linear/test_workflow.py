"""Linear transitions (the team's workflow state of a type) and assignee changes, over mocked HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses

from integration.trackers.base import NoTransition
from integration.trackers.linear.client import LinearClient
from integration.trackers.linear.item import LinearConfig
from integration.trackers.retry import RetryPolicy
from rules.model import Item, Person, Status, StatusCategory, Tracker, TransitionTarget

URL = "https://api.linear.app/graphql"
ITEM = Item(Tracker.LINEAR, "id-ENG-7", "ENG-7", status=Status("Todo", StatusCategory.TODO),
            custom={"team_id": "team-eng"})
STATES = [{"id": "s-backlog", "name": "Backlog", "type": "backlog", "position": 0},
          {"id": "s-todo", "name": "Todo", "type": "unstarted", "position": 1},
          {"id": "s-doing", "name": "In Progress", "type": "started", "position": 2},
          {"id": "s-review", "name": "In Review", "type": "started", "position": 3},
          {"id": "s-done", "name": "Done", "type": "completed", "position": 4},
          {"id": "s-dup", "name": "Duplicate", "type": "duplicate", "position": 6},
          {"id": "s-cancel", "name": "Canceled", "type": "canceled", "position": 5}]


def _client() -> LinearClient:
    return LinearClient(URL, "lin_api_key", config=LinearConfig(), retry=RetryPolicy(tries=1), sleep=lambda s: None)


def _sent(call: Any) -> dict[str, Any]:
    return json.loads(call.request.body)


@pytest.mark.parametrize(("target", "state_id"), [
    (TransitionTarget(StatusCategory.CANCELED), "s-cancel"),
    (TransitionTarget(StatusCategory.DONE), "s-done"),
    (TransitionTarget(StatusCategory.IN_PROGRESS), "s-doing"),
    (TransitionTarget(status="in review"), "s-review"),
    (TransitionTarget(StatusCategory.TODO, status="Gone", reopen=True), "s-todo"),
])
@responses.activate
def test_a_transition_sets_the_teams_state_of_that_type(target: TransitionTarget, state_id: str) -> None:
    state = next(s for s in STATES if s["id"] == state_id)
    responses.post(URL, json={"data": {"team": {"id": "team-eng", "states": {"nodes": STATES}}}})
    responses.post(URL, json={"data": {"issueUpdate": {"success": True, "issue": {
        "id": ITEM.id, "state": {k: state[k] for k in ("id", "name", "type")}}}}})
    now = _client().transition(ITEM, target)
    asked, moved = (_sent(c) for c in responses.calls)
    assert asked["operationName"] == "TeamStates" and asked["variables"] == {"teamId": "team-eng"}
    assert moved["operationName"] == "UpdateIssueState"
    assert moved["variables"] == {"id": ITEM.id, "stateId": state_id}
    assert now.name == state["name"]


@responses.activate
def test_a_team_without_such_a_state_says_which_it_has() -> None:
    responses.post(URL, json={"data": {"team": {"id": "team-eng", "states": {"nodes": STATES[:3]}}}})
    with pytest.raises(NoTransition, match=r"no workflow state to canceled \(states: Backlog \(backlog\), Todo"):
        _client().transition(ITEM, TransitionTarget(StatusCategory.CANCELED))
    assert len(responses.calls) == 1


@responses.activate
def test_assign_by_id_by_email_and_unassign() -> None:
    responses.post(URL, json={"data": {"issueUpdate": {"success": True}}})
    responses.post(URL, json={"data": {"users": {"nodes": [{"id": "u-dana", "name": "Dana", "displayName": "dana",
                                                            "email": "dana@acme.com", "active": True}]}}})
    responses.post(URL, json={"data": {"issueUpdate": {"success": True}}})
    responses.post(URL, json={"data": {"issueUpdate": {"success": True}}})
    client = _client()
    client.assign(ITEM, Person("u-ann", "Ann"))
    client.assign(ITEM, Person("", "Dana", "dana@acme.com"))
    client.assign(ITEM, None)
    sent = [(_sent(c)["operationName"], _sent(c)["variables"]) for c in responses.calls]
    assert sent == [("UpdateIssueAssignee", {"id": ITEM.id, "assigneeId": "u-ann"}),
                    ("UsersByEmail", {"email": "dana@acme.com"}),
                    ("UpdateIssueAssignee", {"id": ITEM.id, "assigneeId": "u-dana"}),
                    ("UpdateIssueAssignee", {"id": ITEM.id, "assigneeId": None})]


@pytest.mark.parametrize(("cycle", "project", "running"), [
    ({"name": "C7", "number": 7, "isActive": True, "isFuture": False}, None, (True, False)),
    ({"name": "C8", "number": 8, "isActive": False, "isFuture": True}, None, (True, False)),
    ({"name": "C6", "number": 6, "isActive": False, "isFuture": False},
     {"name": "Launch", "completedAt": None, "canceledAt": None}, (False, True)),
    (None, {"name": "Old", "completedAt": "2026-01-01T00:00:00.000Z", "canceledAt": None}, (False, False)),
])
def test_whether_the_cycle_and_project_still_run(cycle: Any, project: Any, running: tuple[bool, bool]) -> None:
    from integration.trackers.linear.item import normalize_issue
    from tests.stub import linear_issue

    node = {**linear_issue("ENG-9"), "cycle": cycle, "project": project}
    item = normalize_issue(node, LinearConfig())
    assert (item.sprint_active, item.project_active) == running
