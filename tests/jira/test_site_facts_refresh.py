"""Site facts (the story points field, the priority order) are read again within the hour, no restart needed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses
from jira_openapi import check_calls

from integration.trackers.jira.client import SITE_FACTS_TTL_S, JiraClient
from integration.trackers.jira.normalize import JiraConfig

SITE = "https://acme.atlassian.net"
API = f"{SITE}/rest/api/3"
STORY_POINTS = {"id": "customfield_10016", "name": "Story point estimate", "custom": True}
PRIORITIES = {"startAt": 0, "maxResults": 50, "total": 1, "isLast": True,
              "values": [{"id": "1", "name": "Highest"}]}


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock
        check_calls(mock.calls)


def test_a_story_points_field_created_after_start_is_seen_after_the_refresh(api: responses.RequestsMock) -> None:
    now = [1000.0]
    client = JiraClient(SITE, "u", "t", config=JiraConfig(site_url=SITE), clock=lambda: now[0])
    api.get(f"{API}/field", json=[{"id": "summary", "name": "Summary", "custom": False}])
    api.get(f"{API}/priority/search", json=PRIORITIES)
    assert client.site_facts()["story_points_field"] == ""  # the site has no estimate field yet

    api.replace(responses.GET, f"{API}/field", json=[STORY_POINTS])
    now[0] += SITE_FACTS_TTL_S - 1
    assert client.site_facts()["story_points_field"] == ""  # within the hour: no new request
    assert [c.request.url.split("?")[0] for c in api.calls].count(f"{API}/field") == 1

    now[0] += 2
    assert client.site_facts()["story_points_field"] == "customfield_10016"
    assert [c.request.url.split("?")[0] for c in api.calls].count(f"{API}/field") == 2


def test_a_configured_field_is_kept_across_refreshes(api: responses.RequestsMock) -> None:
    now = [0.0]
    config = JiraConfig(site_url=SITE, story_points_field="customfield_10099")
    client = JiraClient(SITE, "u", "t", config=config, clock=lambda: now[0])
    api.get(f"{API}/priority/search", json=PRIORITIES)
    assert client.site_facts()["story_points_field"] == "customfield_10099"
    now[0] += SITE_FACTS_TTL_S + 1
    facts = client.site_facts()
    assert facts["story_points_field"] == "customfield_10099" and facts["priority_ranks"] == {"1": 1}
    urls = [c.request.url.split("?")[0] for c in api.calls]
    assert f"{API}/field" not in urls and urls.count(f"{API}/priority/search") == 2
