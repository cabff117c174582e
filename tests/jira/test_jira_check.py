"""`flowkeeper jira check`: credentials, per-project permissions, webhook setup."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses
from jira_fixtures import load
from jira_openapi import check_calls
from responses import matchers

from integration.trackers.jira.check import Verdict, check_passed, render, run_check
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


def test_all_good(config: JiraConfig, api: responses.RequestsMock) -> None:
    client = JiraClient(SITE, "u", "t", config=config, sleep=lambda s: None)
    api.get(f"{API}/myself", json=load("rest/myself.200.json"))
    _permissions(api, "ED", "BROWSE_PROJECTS,ADD_COMMENTS,EDIT_ISSUES", denied=set())
    lines = run_check(client, ["ED"], webhook_url="https://flowkeeper.acme.com/")
    assert [line.verdict for line in lines] == [Verdict.OK, Verdict.OK, Verdict.INFO]
    assert check_passed(lines)
    text = render(lines)
    assert "acting as Mia Krystof (5b10a2844c20165700ede21g)" in text
    assert "URL: https://flowkeeper.acme.com/webhooks/jira" in text
    assert (
        "jira:issue_created, jira:issue_updated, jira:issue_deleted, comment_created, comment_updated" in text
    )
    assert 'JQL filter: project in ("ED")' in text


def test_missing_comment_permission_fails_and_names_it(
    config: JiraConfig, api: responses.RequestsMock
) -> None:
    client = JiraClient(SITE, "u", "t", config=config, sleep=lambda s: None)
    api.get(f"{API}/myself", json=load("rest/myself.200.json"))
    _permissions(api, "ED", "BROWSE_PROJECTS,ADD_COMMENTS,EDIT_ISSUES", denied={"ADD_COMMENTS"})
    _permissions(api, "OPS", "BROWSE_PROJECTS,ADD_COMMENTS,EDIT_ISSUES", denied=set())
    lines = run_check(client, ["ED", "OPS"])
    assert lines[1].verdict is Verdict.FAIL and "ADD_COMMENTS (comment)" in lines[1].detail
    assert lines[2].verdict is Verdict.OK
    assert not check_passed(lines)


def test_quiet_edits_without_admin_rights_only_warn(config: JiraConfig, api: responses.RequestsMock) -> None:
    client = JiraClient(SITE, "u", "t", config=config, notify_users=False, sleep=lambda s: None)
    api.get(f"{API}/myself", json=load("rest/myself.200.json"))
    keys = "BROWSE_PROJECTS,ADD_COMMENTS,EDIT_ISSUES,ADMINISTER_PROJECTS"
    _permissions(api, "ED", keys, denied={"ADMINISTER_PROJECTS"})
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
