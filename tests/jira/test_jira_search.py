"""Search pushdown: SearchQuery → bounded JQL, and a sweep that reads only the pages it needs."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import responses
from jira_openapi import check_calls

from integration.stubtracker.app import create_stub_app
from integration.stubtracker.jql import JqlError
from integration.stubtracker.jql import search as jql_search
from integration.stubtracker.site import Issue, Site
from integration.stubtracker.state import StubState
from integration.trackers.jira.client import JiraClient
from integration.trackers.jira.jql import (
    UnboundedQuery,
    jql_datetime,
    label_problem,
    minutes_since,
    search_fields,
    to_jql,
)
from integration.trackers.jira.normalize import JiraConfig
from rules.model import SearchQuery, StatusCategory
from tests.stub import serve

SITE = "https://acme.atlassian.net"
NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
FLAG = "flowkeeper-stale"
CATEGORIES = {"To Do": "todo", "In Progress": "in_progress", "Done": "done"}


def test_stale_sweep_jql_carries_every_bound() -> None:
    query = SearchQuery(
        teams=("ED", "OPS"),
        status_categories=(StatusCategory.IN_PROGRESS,),
        updated_before=NOW - timedelta(days=5),
        labels_none_of=("on-hold",),
        always_include_labels=(FLAG,),
    )
    assert to_jql(query) == (
        'project in ("ED", "OPS") AND ((statusCategory in ("In Progress") AND updated <= "2025-03-10 02:01"'
        ' AND (labels is EMPTY OR labels not in ("on-hold"))) OR labels in ("flowkeeper-stale"))'
        " ORDER BY updated ASC, key ASC"
    )


def test_values_are_quoted_and_escaped() -> None:
    query = SearchQuery(teams=("ED",), status_names=('Waiting "QA"', "Back\\log"), extra="type = Bug")
    assert to_jql(query) == (
        'project in ("ED") AND status in ("Waiting \\"QA\\"", "Back\\\\log") AND (type = Bug)'
        " ORDER BY updated ASC, key ASC"
    )


def test_unknown_category_cannot_narrow_and_canceled_means_done() -> None:
    assert "statusCategory" not in to_jql(
        SearchQuery(teams=("ED",), status_categories=(StatusCategory.UNKNOWN,))
    )
    jql = to_jql(SearchQuery(teams=("ED",), status_categories=(StatusCategory.CANCELED, StatusCategory.DONE)))
    assert 'statusCategory in ("Done")' in jql


def test_an_unbounded_query_is_refused_rather_than_narrowed_to_flagged_items() -> None:
    with pytest.raises(UnboundedQuery):
        to_jql(SearchQuery())
    with pytest.raises(UnboundedQuery, match="teams"):
        to_jql(SearchQuery(always_include_labels=(FLAG,)))


def test_a_team_scoped_rule_with_nothing_to_push_down_searches_the_whole_team() -> None:
    # a rule on last_activity alone: every item of the team is a candidate, not only flagged ones
    query = SearchQuery(teams=("OPS",), always_include_labels=("stale",))
    assert to_jql(query) == 'project in ("OPS") ORDER BY updated ASC, key ASC'


def test_fix_versions_and_parent_push_down_as_jql() -> None:
    query = SearchQuery(teams=("ED",), field_in=(("milestones", ("Release 3", "v2.0")), ("parent", ("ED-7",)),
                                                 ("sprint.state", ("active",))),
                        field_empty=(("milestones", False), ("parent", True)), always_include_labels=(FLAG,))
    assert to_jql(query) == (
        'project in ("ED") AND ((fixVersion in ("Release 3", "v2.0") AND parent in ("ED-7")'
        ' AND fixVersion is not EMPTY AND parent is EMPTY) OR labels in ("flowkeeper-stale"))'
        " ORDER BY updated ASC, key ASC"
    )  # a sprint's state is not pushed into JQL: the site may have no sprints at all


def test_the_search_asks_for_fix_versions_and_sub_tasks(config: JiraConfig) -> None:
    assert {"fixVersions", "subtasks", "parent", config.sprint_field} <= set(search_fields(config))


def test_date_bound_is_widened_past_every_time_zone() -> None:
    assert jql_datetime(datetime(2025, 3, 10, 0, 0)) == "2025-03-10 14:01"  # naive means UTC
    assert (
        jql_datetime(datetime(2025, 3, 10, 0, 0, tzinfo=timezone(timedelta(hours=2)))) == "2025-03-10 12:01"
    )


def test_search_fields_are_explicit_and_include_configured_custom_fields(config: JiraConfig) -> None:
    fields = search_fields(config)
    assert "*all" not in fields and len(fields) == len(set(fields))
    assert {"summary", "status", "labels", "updated", "customfield_10016", "customfield_10050"} <= set(fields)


@pytest.mark.parametrize(
    ("label", "ok"),
    [("stale", True), ("needs review", False), ("", False), ("x" * 256, False), ("ünïcode-ok", True)],
)
def test_label_names_jira_accepts(label: str, ok: bool) -> None:
    assert (label_problem(label) is None) is ok


def _site() -> tuple[list[Issue], set[str]]:
    """10,000 issues; exactly 100 are candidates for 'In Progress, no activity for 5 days'."""
    old, recent = NOW - timedelta(days=20), NOW - timedelta(days=1)
    issues: list[Issue] = []
    expected: set[str] = set()

    def add(project: str, category: str, labels: list[str], updated: datetime, candidate: bool) -> None:
        n = len(issues) + 1
        issue = Issue(str(n), f"{project}-{n}", project, category, CATEGORIES[category], updated,
                      datetime(2024, 1, 1, tzinfo=UTC), title=f"Issue {project}-{n}", labels=labels)
        issues.append(issue)
        if candidate:
            expected.add(issue.key)

    for n in range(80):
        add("ED", "In Progress", ["backend"] if n % 2 else [], old, True)  # stale
    for _ in range(15):
        add("ED", "In Progress", [FLAG], recent, True)  # flagged: our own label bumped `updated`
    for _ in range(5):
        add("ED", "Done", [FLAG], recent, True)  # flagged and moved on: the flag must clear
    for _ in range(10):
        add("ED", "In Progress", ["on-hold"], old, False)  # excluded by label
    for _ in range(50):
        add("OPS", "In Progress", [], old, False)  # another team's
    while len(issues) < 10_000:
        n = len(issues)
        add(
            "ED" if n % 2 else "OPS",
            ("To Do", "In Progress", "Done")[n % 3],
            [],
            recent if n % 3 == 1 else old,
            False,
        )
    return issues, expected


@pytest.mark.parametrize("page_size", [50, 100])
def test_sweep_over_ten_thousand_issues_reads_only_candidate_pages(
    config: JiraConfig, page_size: int
) -> None:
    issues, expected = _site()
    assert len(issues) == 10_000 and len(expected) == 100
    state = StubState()
    site = Site(state, "jira", SITE)
    for issue in issues:
        site.add(issue)
    client = JiraClient(SITE, "u", "token", config=config, sleep=lambda s: None)
    query = SearchQuery(
        teams=("ED",),
        status_categories=(StatusCategory.IN_PROGRESS,),
        updated_before=NOW - timedelta(days=5),
        labels_none_of=("on-hold",),
        always_include_labels=(FLAG,),
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        serve(create_stub_app(state), api, SITE)
        found = [item.key for item in client.iter_search(query, page_size=page_size)]
        check_calls(api.calls)
    assert sorted(found) == sorted(expected)
    assert [r["path"] for r in state.requests] == ["/rest/api/3/search/jql"] * math.ceil(100 / page_size)


def test_the_stub_refuses_jql_it_does_not_understand(config: JiraConfig) -> None:
    client = JiraClient(SITE, "u", "token", config=config, sleep=lambda s: None)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        serve(create_stub_app(StubState()), api, SITE)
        with pytest.raises(Exception, match="400"):
            client.search(SearchQuery(teams=("ED",), extra="assignee was currentUser()"))


def test_the_rules_sweep_order_is_the_searchs_order() -> None:
    assert to_jql(SearchQuery(teams=("ED",))).endswith("ORDER BY updated ASC, key ASC")
    assert to_jql(SearchQuery(teams=("ED",), order="newest_created")).endswith("ORDER BY created DESC, key ASC")


def test_a_follow_ups_bound_is_relative_to_jiras_clock_and_covers_skew_and_the_pages() -> None:
    since = NOW - timedelta(minutes=20)
    assert minutes_since(since, NOW) == 20 + 5 + 10
    assert minutes_since(NOW + timedelta(minutes=30), NOW) == 1  # a bound in the future still reads the last minute
    query = SearchQuery(teams=("ED",), changed_since=since)
    assert to_jql(query, since_minutes=35) == 'project in ("ED") AND updated >= "-35m" ORDER BY updated ASC, key ASC'
    assert 'updated >= "2025-03-13 21:39"' in to_jql(query)  # without one: a date widened by fourteen hours


def test_the_stub_reads_relative_dates_from_its_clock() -> None:
    def issue(minutes_ago: int) -> dict[str, Any]:
        return {"key": f"ED-{minutes_ago}", "fields": {"updated": (NOW - timedelta(minutes=minutes_ago)).strftime(
            "%Y-%m-%dT%H:%M:%S.000+0000")}}

    issues = [issue(5), issue(30), issue(60 * 25)]
    found = {i["key"] for i in jql_search(issues, 'updated >= "-31m"', NOW)}
    assert found == {"ED-5", "ED-30"}
    assert {i["key"] for i in jql_search(issues, 'updated < "-1d"', NOW)} == {"ED-1500"}
    assert {i["key"] for i in jql_search(issues, 'updated >= "-1d 1h"', NOW)} == {"ED-5", "ED-30", "ED-1500"}
    assert {i["key"] for i in jql_search(issues, 'updated >= "-1w"', NOW)} == {"ED-5", "ED-30", "ED-1500"}
    with pytest.raises(JqlError):
        jql_search(issues, 'updated >= "-20x"', NOW)


def _follow_up_site(count: int) -> StubState:
    state = StubState(now=NOW)
    site = Site(state, "jira", SITE)
    for n in range(1, count + 1):
        updated = NOW - timedelta(minutes=n)
        site.add(Issue(str(10000 + n), f"ED-{n}", "ED", "In Progress", "in_progress", updated, updated))
    return state


def test_every_page_of_a_follow_up_sends_the_first_pages_jql(config: JiraConfig) -> None:
    state = _follow_up_site(30)
    clock = [NOW]
    client = JiraClient(SITE, "u", "token", config=config, sleep=lambda s: None, wall_clock=lambda: clock[0])
    query = SearchQuery(teams=("ED",), changed_since=NOW - timedelta(minutes=20))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        serve(create_stub_app(state), api, SITE)
        first = client.search(query, None, 10)
        clock[0] = NOW + timedelta(minutes=3)  # the next page is read later: the bound must not move
        second = client.search(query, first.next_token, 10)
        check_calls(api.calls)
    jqls = {r["query"]["jql"] for r in state.requests}
    assert jqls == {'project in ("ED") AND updated >= "-35m" ORDER BY updated ASC, key ASC'}
    assert state.requests[1]["query"]["nextPageToken"] == "10"  # Jira's own token, as Jira gave it
    assert len(first.items) == len(second.items) == 10


def test_many_issues_are_read_in_one_bulk_fetch_and_a_deleted_one_is_left_out(config: JiraConfig) -> None:
    state = _follow_up_site(120)
    client = JiraClient(SITE, "u", "token", config=config, sleep=lambda s: None)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        serve(create_stub_app(state), api, SITE)
        wanted = [client.get_item(f"ED-{n}") for n in range(1, 106)]
        state.jira_issues.pop("ED-7")
        state.requests.clear()
        found = client.get_items(wanted)
        check_calls(api.calls)
    assert sorted(i.key for i in found) == sorted(f"ED-{n}" for n in range(1, 106) if n != 7)
    assert [r["path"] for r in state.requests] == ["/rest/api/3/issue/bulkfetch"] * 2  # 100 a request
    assert found[0].status_changed_at is not None and not found[0].is_partial
