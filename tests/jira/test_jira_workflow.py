"""Jira transitions and assignee changes: the requests sent, checked against the OpenAPI spec."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import responses
from jira_openapi import check_calls, operation
from responses import matchers

from integration.trackers.base import NoTransition
from integration.trackers.jira.client import JiraClient
from integration.trackers.jira.normalize import JiraConfig
from rules.model import Item, Person, Status, StatusCategory, Tracker, TransitionTarget

SITE = "https://acme.atlassian.net"
API = f"{SITE}/rest/api/3"
ITEM = Item(tracker=Tracker.JIRA, id="10002", key="ED-1", status=Status("In Progress", StatusCategory.IN_PROGRESS))
RESOLUTION = {"required": True, "name": "Resolution", "key": "resolution", "operations": ["set"],
              "schema": {"type": "resolution", "system": "resolution"}, "hasDefaultValue": False,
              "allowedValues": [{"id": "10000", "name": "Done"}, {"id": "10001", "name": "Won't Do"},
                                {"id": "10002", "name": "Duplicate"}]}


def _to(sid: str, name: str, key: str) -> dict[str, Any]:
    return {"id": sid, "name": name, "self": f"{API}/status/{sid}",
            "statusCategory": {"id": 3, "key": key, "colorName": "green", "name": name}}


def _transition(tid: str, name: str, to: dict[str, Any], fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": tid, "name": name, "to": to, "hasScreen": bool(fields), "isGlobal": True, "isInitial": False,
            "isAvailable": True, "isConditional": False, "fields": fields or {}}


CLASSIC = [_transition("11", "Back to To Do", _to("10000", "To Do", "new")),
           _transition("31", "Review", _to("10001", "In Review", "indeterminate")),
           _transition("41", "Close", _to("10002", "Done", "done"), {"resolution": RESOLUTION})]
TEAM_MANAGED = [_transition("2", "Done", _to("10003", "Done", "done")),
                _transition("5", "Won't do", _to("10004", "Won't Do", "done"))]


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock
        check_calls(mock.calls)


@pytest.fixture
def client(config: JiraConfig) -> JiraClient:
    return JiraClient(SITE, "flowkeeper@acme.com", "token", config=config, sleep=lambda s: None, write_interval=0)


def _offer(api: responses.RequestsMock, transitions: list[dict[str, Any]]) -> None:
    api.get(f"{API}/issue/ED-1/transitions", json={"transitions": transitions},
            match=[matchers.query_param_matcher({"expand": "transitions.fields"})])


def _posted(api: responses.RequestsMock) -> Any:
    return json.loads(api.calls[-1].request.body)


@pytest.mark.parametrize(("transitions", "target", "sent", "status"), [
    (CLASSIC, TransitionTarget(StatusCategory.DONE), {"transition": {"id": "41"},
                                                       "fields": {"resolution": {"id": "10000"}}},
     Status("Done", StatusCategory.DONE, "10002")),
    (CLASSIC, TransitionTarget(StatusCategory.CANCELED), {"transition": {"id": "41"},
                                                           "fields": {"resolution": {"id": "10001"}}},
     Status("Done", StatusCategory.CANCELED, "10002")),
    (CLASSIC, TransitionTarget(StatusCategory.CANCELED, resolution="Duplicate"),
     {"transition": {"id": "41"}, "fields": {"resolution": {"id": "10002"}}}, Status("Done", StatusCategory.CANCELED,
                                                                                    "10002")),
    (TEAM_MANAGED, TransitionTarget(StatusCategory.CANCELED), {"transition": {"id": "5"}},
     Status("Won't Do", StatusCategory.CANCELED, "10004")),
    (TEAM_MANAGED, TransitionTarget(StatusCategory.DONE), {"transition": {"id": "2"}},
     Status("Done", StatusCategory.DONE, "10003")),
    (CLASSIC, TransitionTarget(status="in review"), {"transition": {"id": "31"}},
     Status("In Review", StatusCategory.IN_PROGRESS, "10001")),
    (CLASSIC, TransitionTarget(StatusCategory.TODO, status="Waiting", reopen=True), {"transition": {"id": "11"}},
     Status("To Do", StatusCategory.TODO, "10000")),
])
def test_a_transition_goes_through_the_workflow_with_a_fitting_resolution(
        api: responses.RequestsMock, client: JiraClient, transitions: list[dict[str, Any]],
        target: TransitionTarget, sent: dict[str, Any], status: Status) -> None:
    _offer(api, transitions)
    api.post(f"{API}/issue/ED-1/transitions", status=204)
    assert client.transition(ITEM, target) == status
    assert _posted(api) == sent


def test_no_transition_to_canceled_says_why_and_is_not_retried(api: responses.RequestsMock,
                                                               client: JiraClient) -> None:
    plain_done = [_transition("2", "Done", _to("10003", "Done", "done")),
                  _transition("3", "Start", _to("3", "In Progress", "indeterminate"))]
    _offer(api, plain_done)
    with pytest.raises(NoTransition) as caught:
        client.transition(ITEM, TransitionTarget(StatusCategory.CANCELED))
    assert not caught.value.retryable
    assert "no transition leads to canceled" in str(caught.value)
    assert "Jira has no canceled category" in str(caught.value)
    assert "(available: Done → Done, Start → In Progress)" in str(caught.value)


def test_assign_by_account_id(api: responses.RequestsMock, client: JiraClient) -> None:
    api.put(f"{API}/issue/ED-1/assignee", status=204)
    client.assign(ITEM, Person("5b10ac8d82e05b22cc7d4ef5", "Ana"))
    assert _posted(api) == {"accountId": "5b10ac8d82e05b22cc7d4ef5"}


def test_unassign_sends_a_null_account_id_as_the_operation_documents(client: JiraClient) -> None:
    # The spec's User schema types accountId as a string, but the operation's own text says
    # "`null`, the issue is set to unassigned": the one request checked against the text.
    documented = operation("PUT", "/rest/api/3/issue/ED-1/assignee")["description"]
    assert "`null`, the issue is set to unassigned" in documented
    with responses.RequestsMock() as mock:
        mock.put(f"{API}/issue/ED-1/assignee", status=204)
        client.assign(ITEM, None)
        assert json.loads(mock.calls[0].request.body) == {"accountId": None}


def test_a_person_known_by_email_is_looked_up_once_found(api: responses.RequestsMock, client: JiraClient) -> None:
    api.get(f"{API}/user/search", json=[{"accountId": "acc-dana", "emailAddress": "dana@acme.com",
                                          "displayName": "Dana", "accountType": "atlassian", "active": True}],
            match=[matchers.query_param_matcher({"query": "dana@acme.com"})])
    api.put(f"{API}/issue/ED-1/assignee", status=204)
    client.assign(ITEM, Person("", "Dana", "dana@acme.com"))
    assert _posted(api) == {"accountId": "acc-dana"}


@pytest.mark.parametrize(("sprints", "running"), [
    ([{"id": 1, "name": "S1", "state": "closed"}, {"id": 2, "name": "S2", "state": "active"}], True),
    ([{"id": 3, "name": "S3", "state": "future"}], True),
    ([{"id": 1, "name": "S1", "state": "closed"}], False),
    (None, False),
])
def test_whether_the_sprint_still_runs(config: JiraConfig, sprints: Any, running: bool) -> None:
    from integration.trackers.jira.normalize import normalize_issue
    from tests.stub import jira_issue

    issue = jira_issue("ED-9")
    issue["fields"][config.sprint_field] = sprints
    assert normalize_issue(issue, config).sprint_active is running
