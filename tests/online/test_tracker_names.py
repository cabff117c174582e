"""The name lookups `rules check --online` makes, on Jira's REST v3 and Linear's GraphQL (mocked HTTP)."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses
from graphql import parse, print_ast
from responses import matchers

from integration.trackers.base import TrackerError
from integration.trackers.jira.client import JiraClient
from integration.trackers.linear.client import NAMES_PAGE, LinearClient
from integration.trackers.linear.complexity import MAX_QUERY_COMPLEXITY, estimate
from integration.trackers.linear.ops import document
from tests.online.conftest import JIRA_API, LINEAR_URL, graphql_calls, load
from tests.reference import REFERENCE_DIR

# ---- Jira ---------------------------------------------------------------------------------


def test_status_names_are_every_status_on_the_site(jira: JiraClient, api: responses.RequestsMock) -> None:
    api.get(f"{JIRA_API}/status", json=load("jira/status.200.json"))
    assert jira.status_names() == {"In Progress", "Closed"}


def test_labels_are_paged_until_every_wanted_one_is_found(jira: JiraClient, api: responses.RequestsMock) -> None:
    first = load("jira/label.200.json")  # performance, security; not the last page
    second = {**first, "startAt": 2, "values": ["On-Hold", "ux"], "isLast": False}
    api.get(f"{JIRA_API}/label", json=first, match=[matchers.query_param_matcher({"startAt": "0", "maxResults": "1000"})])
    api.get(f"{JIRA_API}/label", json=second, match=[matchers.query_param_matcher({"startAt": "2", "maxResults": "1000"})])
    # casefolded, as rules compare labels; the name comes back as the rule wrote it; no third page
    assert jira.existing_labels(["security", "on-hold"]) == {"security", "on-hold"}


def test_labels_no_issue_carries_are_absent(jira: JiraClient, api: responses.RequestsMock) -> None:
    last = {**load("jira/label.200.json"), "isLast": True, "total": 2}
    api.get(f"{JIRA_API}/label", json=last)
    assert jira.existing_labels(["security", "blocked"]) == {"security"}


def test_team_keys_are_the_projects_that_answer(jira: JiraClient, api: responses.RequestsMock) -> None:
    api.get(f"{JIRA_API}/project/EX", json=load("jira/project.200.json"))
    api.get(f"{JIRA_API}/project/NOPE", status=404,
            json={"errorMessages": ["No project could be found with key 'NOPE'."], "errors": {}})
    api.get(f"{JIRA_API}/project/ex", json=load("jira/project.200.json"))  # Jira answered with key EX
    assert jira.team_keys(["EX", "NOPE", "ex"]) == {"EX"}


def test_a_failing_site_is_a_tracker_error_without_the_token(jira: JiraClient, api: responses.RequestsMock) -> None:
    api.get(f"{JIRA_API}/status", status=401, json={"errorMessages": ["Client must be authenticated"]})
    with pytest.raises(TrackerError, match="JIRA_API_TOKEN") as caught:
        jira.status_names()
    assert "online-check-token" not in str(caught.value)


def test_the_jira_requests_are_operations_of_the_published_api(jira: JiraClient, api: responses.RequestsMock) -> None:
    spec_path = REFERENCE_DIR / "jira" / "swagger-v3.v3.json"
    if not spec_path.exists():
        pytest.skip("Jira's OpenAPI description is not here (shared/reference is absent on a user's clone)")
    api.get(f"{JIRA_API}/status", json=load("jira/status.200.json"))
    api.get(f"{JIRA_API}/label", json={**load("jira/label.200.json"), "isLast": True})
    api.get(f"{JIRA_API}/project/EX", json=load("jira/project.200.json"))
    jira.status_names()
    jira.existing_labels(["x"])
    jira.team_keys(["EX"])
    paths = json.loads(spec_path.read_text(encoding="utf-8"))["paths"]
    for call in api.calls:
        url = urlsplit(call.request.url)
        template, operation = next(
            (t, ops["get"]) for t, ops in paths.items()
            if "get" in ops and re.fullmatch(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(t)), url.path)
        )
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        assert {k for k, _ in parse_qsl(url.query)} <= declared, template


# ---- Linear -------------------------------------------------------------------------------


def test_workflow_state_names_follow_every_page(linear: LinearClient, api: responses.RequestsMock) -> None:
    api.post(LINEAR_URL, json=load("linear/WorkflowStateNames.page1.json"))
    api.post(LINEAR_URL, json=load("linear/WorkflowStateNames.page2.json"))
    assert linear.status_names() == {"Backlog", "Todo", "In Progress", "In Review", "Done", "Canceled"}
    sent = graphql_calls(api)
    assert [s["operationName"] for s in sent] == ["WorkflowStateNames"] * 2
    assert sent[0]["query"] == print_ast(parse(document("WorkflowStateNames")))
    assert sent[0]["variables"] == {"first": NAMES_PAGE, "after": None}
    assert sent[1]["variables"]["after"] == "c2c3d1f4-states-page-1"


def test_labels_are_asked_for_by_name_ignoring_case(linear: LinearClient, api: responses.RequestsMock) -> None:
    api.post(LINEAR_URL, json=load("linear/LabelsNamed.json"))  # Needs-Design, on-hold
    assert linear.existing_labels(["needs-design", "on-hold", "blocked"]) == {"needs-design", "on-hold"}
    variables = graphql_calls(api)[0]["variables"]
    assert variables["filter"] == {"or": [{"name": {"eqIgnoreCase": n}} for n in ("needs-design", "on-hold", "blocked")]}


def test_no_labels_wanted_asks_nothing(linear: LinearClient, api: responses.RequestsMock) -> None:
    assert linear.existing_labels([]) == set()
    assert len(api.calls) == 0


def test_team_keys_are_the_teams_the_key_sees(linear: LinearClient, api: responses.RequestsMock) -> None:
    api.post(LINEAR_URL, json=load("linear/TeamKeys.json"))  # ENG, DES
    assert linear.team_keys(["ENG", "eng", "PLAT"]) == {"ENG"}


@pytest.mark.parametrize("name", ["WorkflowStateNames", "LabelsNamed", "TeamKeys"])
def test_each_lookup_stays_under_the_complexity_cap(name: str) -> None:
    assert estimate(document(name), {"first": NAMES_PAGE}) <= MAX_QUERY_COMPLEXITY
