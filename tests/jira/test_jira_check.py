"""`flowkeeper jira check`: credentials, per-project permissions, webhook setup."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses
from jira_fixtures import load
from jira_openapi import check_calls
from responses import matchers

from integration.trackers.checklines import Verdict, check_passed, render
from integration.trackers.jira.check import run_check
from integration.trackers.jira.client import JiraClient
from integration.trackers.jira.normalize import JiraConfig

SITE = "https://acme.atlassian.net"
API = f"{SITE}/rest/api/3"


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock
        check_calls(mock.calls)


def _permissions(api: responses.RequestsMock, project: str, keys: str, denied: set[str]) -> None:
    granted = {k: {"key": k, "havePermission": k not in denied} for k in keys.split(",")}
    api.get(
        f"{API}/mypermissions",
        json={"permissions": granted},
        match=[matchers.query_param_matcher({"projectKey": project, "permissions": keys})],
    )


FIELDS = [
    {"id": "summary", "name": "Summary", "custom": False},
    {"id": "customfield_10016", "name": "Story point estimate", "custom": True},
    {"id": "customfield_10028", "name": "Story Points", "custom": True},
]


def test_all_good(api: responses.RequestsMock) -> None:
    client = JiraClient(SITE, "u", "t", config=JiraConfig(site_url=SITE), sleep=lambda s: None)
    api.get(f"{API}/myself", json=load("rest/myself.200.json"))
    api.get(f"{API}/field", json=FIELDS)
    _permissions(api, "ED", "BROWSE_PROJECTS,ADD_COMMENTS,EDIT_ISSUES", denied=set())
    lines = run_check(client, ["ED"], webhook_url="https://flowkeeper.acme.com/webhooks/jira")
    assert [line.verdict for line in lines] == [Verdict.OK, Verdict.OK, Verdict.OK, Verdict.INFO]
    assert check_passed(lines)
    text = render(lines)
    assert "acting as Mia Krystof (5b10a2844c20165700ede21g)" in text
    assert "URL: https://flowkeeper.acme.com/webhooks/jira\n" in text
    assert "Events: Issue: created, updated, deleted; Comment: created, updated" in text
    assert 'JQL filter: project in ("ED")' in text
    assert "customfield_10016 (Story point estimate), found by name" in text


def test_story_points_field_set_in_the_environment_is_named(api: responses.RequestsMock) -> None:
    config = JiraConfig(site_url=SITE, story_points_field="customfield_10028")
    client = JiraClient(SITE, "u", "t", config=config, sleep=lambda s: None)
    api.get(f"{API}/myself", json=load("rest/myself.200.json"))
    api.get(f"{API}/field", json=FIELDS)
    _permissions(api, "ED", "BROWSE_PROJECTS,ADD_COMMENTS,EDIT_ISSUES", denied=set())
    text = render(run_check(client, ["ED"]))
    assert "customfield_10028 (Story Points), from JIRA_STORY_POINTS_FIELD" in text


def test_no_estimate_field_warns_and_names_the_variable(api: responses.RequestsMock) -> None:
    client = JiraClient(SITE, "u", "t", config=JiraConfig(site_url=SITE), sleep=lambda s: None)
    api.get(f"{API}/myself", json=load("rest/myself.200.json"))
    api.get(f"{API}/field", json=FIELDS[:1])
    _permissions(api, "ED", "BROWSE_PROJECTS,ADD_COMMENTS,EDIT_ISSUES", denied=set())
    lines = run_check(client, ["ED"])
    assert lines[2].verdict is Verdict.WARN and "set JIRA_STORY_POINTS_FIELD=customfield_NNNNN" in lines[2].detail
    assert check_passed(lines)


def test_missing_comment_permission_fails_and_names_it(
    config: JiraConfig, api: responses.RequestsMock
) -> None:
    client = JiraClient(SITE, "u", "t", config=config, sleep=lambda s: None)
    api.get(f"{API}/myself", json=load("rest/myself.200.json"))
    _permissions(api, "ED", "BROWSE_PROJECTS,ADD_COMMENTS,EDIT_ISSUES", denied={"ADD_COMMENTS"})
    _permissions(api, "OPS", "BROWSE_PROJECTS,ADD_COMMENTS,EDIT_ISSUES", denied=set())
    api.get(f"{API}/field", json=FIELDS)
    lines = run_check(client, ["ED", "OPS"])
    assert lines[1].verdict is Verdict.FAIL and "ADD_COMMENTS (comment)" in lines[1].detail
    assert lines[2].verdict is Verdict.OK
    assert not check_passed(lines)


def test_quiet_edits_without_admin_rights_only_warn(config: JiraConfig, api: responses.RequestsMock) -> None:
    client = JiraClient(SITE, "u", "t", config=config, notify_users=False, sleep=lambda s: None)
    api.get(f"{API}/myself", json=load("rest/myself.200.json"))
    keys = "BROWSE_PROJECTS,ADD_COMMENTS,EDIT_ISSUES,ADMINISTER_PROJECTS"
    _permissions(api, "ED", keys, denied={"ADMINISTER_PROJECTS"})
    api.get(f"{API}/field", json=FIELDS)
    lines = run_check(client, ["ED"])
    assert lines[1].verdict is Verdict.WARN and "JIRA_NOTIFY_USERS=0" in lines[1].detail
    assert check_passed(lines)


def test_bad_credentials_stop_the_check_without_showing_the_token(
    config: JiraConfig, api: responses.RequestsMock
) -> None:
    client = JiraClient(SITE, "u", "s3cret-token", config=config, sleep=lambda s: None)
    api.get(f"{API}/myself", status=401, body="Unauthorized")
    lines = run_check(client, ["ED"])
    assert len(lines) == 1 and lines[0].verdict is Verdict.FAIL
    assert "check JIRA_USER and JIRA_API_TOKEN" in lines[0].detail and "s3cret-token" not in render(lines)
