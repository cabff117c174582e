"""Pure pieces: the pushed-down IssueFilter and the rate-limit reserve."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from integration.trackers.linear.filter import by_ids, to_filter, to_sort
from integration.trackers.linear.ratelimit import RateBudget, pause_needed
from rules.model import SearchQuery, StatusCategory

CUTOFF = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_empty_query_is_every_issue() -> None:
    assert to_filter(SearchQuery()) == {}


def test_bounds_are_anded_and_flags_ored_back_in() -> None:
    query = SearchQuery(
        teams=("ENG",),
        status_categories=(StatusCategory.TODO, StatusCategory.IN_PROGRESS),
        updated_before=CUTOFF,
        labels_none_of=("wontfix",),
        always_include_labels=("stalled",),
    )
    assert to_filter(query) == {
        "or": [
            {
                "and": [
                    {"team": {"key": {"in": ["ENG"]}}},
                    {"state": {"type": {"in": ["triage", "backlog", "unstarted", "started"]}}},
                    {"updatedAt": {"lte": "2025-03-01T12:00:00Z"}},
                    {"labels": {"every": {"name": {"nin": ["wontfix"]}}}},
                ]
            },
            {"labels": {"some": {"name": {"eqIgnoreCase": "stalled"}}}},
        ]
    }


def test_state_names_labels_any_and_a_rules_own_filter() -> None:
    query = SearchQuery(status_names=("In Review",), labels_any_of=("bug", "Defect"), extra='{"priority": {"lte": 2}}')
    assert to_filter(query) == {
        "and": [
            {"state": {"name": {"eqIgnoreCase": "In Review"}}},  # rules compare names ignoring case
            {"labels": {"some": {"or": [{"name": {"eqIgnoreCase": "bug"}}, {"name": {"eqIgnoreCase": "Defect"}}]}}},
            {"priority": {"lte": 2}},
        ]
    }


PLANNING = SearchQuery(
    field_in=(("milestones", ("Beta launch", "GA")), ("parent", ("eng-2",)), ("sprint.state", ("active", "Completed")),
              ("project.state", ("Started", "paused"))),
    field_empty=(("milestones", False), ("parent", True)),
)


def test_milestones_parent_cycle_and_project_state_push_down() -> None:
    assert to_filter(PLANNING) == {"and": [
        {"projectMilestone": {"or": [{"name": {"eqIgnoreCase": "Beta launch"}}, {"name": {"eqIgnoreCase": "GA"}}]}},
        {"parent": {"team": {"key": {"eqIgnoreCase": "eng"}}, "number": {"eq": 2}}},
        {"cycle": {"or": [{"isActive": {"eq": True}},
                          {"or": [{"completedAt": {"gt": "1970-01-01T00:00:00Z"}}, {"isPast": {"eq": True}}]}]}},
        {"project": {"status": {"type": {"in": ["paused", "started"]}}}},
        {"projectMilestone": {"null": False}},
        {"parent": {"null": True}},
    ]}


def test_the_planning_filter_is_an_issue_filter_of_linears_schema(linear_schema: Any) -> None:
    from graphql.utilities import validate_input_value

    errors: list[Any] = []
    validate_input_value(to_filter(PLANNING), linear_schema.get_type("IssueFilter"), lambda *e: errors.append(e))
    assert errors == []
    validate_input_value({"cycle": {"isActive": {"eq": "yes"}}}, linear_schema.get_type("IssueFilter"),
                         lambda *e: errors.append(e))
    assert errors, "the check itself catches a wrong filter"


def test_a_parent_that_is_no_identifier_or_an_unknown_cycle_state_narrows_nothing() -> None:
    assert to_filter(SearchQuery(field_in=(("parent", ("ENG-2", "not a key")), ("sprint.state", ("runnning",))))) == {}


def test_unknown_category_does_not_narrow_and_done_covers_completed() -> None:
    assert to_filter(SearchQuery(status_categories=(StatusCategory.UNKNOWN,))) == {}
    assert to_filter(SearchQuery(status_categories=(StatusCategory.CANCELED,))) == {
        "state": {"type": {"in": ["canceled", "duplicate"]}}
    }


def test_bad_extra_filter_is_named() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        to_filter(SearchQuery(extra="{priority"))
    with pytest.raises(ValueError, match="JSON object"):
        to_filter(SearchQuery(extra="[1]"))


def test_budget_headers_and_reserve() -> None:
    headers = {
        "x-ratelimit-requests-limit": "2500",
        "X-RateLimit-Requests-Remaining": "2000",
        "X-RateLimit-Requests-Reset": "1000000",
        "X-RateLimit-Complexity-Limit": "3000000",
        "X-RateLimit-Complexity-Remaining": "160000",
        "X-RateLimit-Complexity-Reset": "1060000",
        "X-Complexity": "2251",
    }
    budget = RateBudget.from_headers(headers)
    assert budget.last_complexity == 2251 and budget.requests_remaining == 2000
    assert pause_needed(budget, next_cost=5000, now_ms=1_000_000) == 0.0
    # 160,000 − 20,000 falls below the 5 % reserve of 3,000,000 (150,000): wait for the later reset
    assert pause_needed(budget, next_cost=20_000, now_ms=1_000_000) == pytest.approx(60.0)
    assert pause_needed(RateBudget(), next_cost=9_000, now_ms=0) == 0.0  # no headers yet: no guessing


def test_the_rules_sweep_order_is_the_searchs_sort() -> None:
    assert to_sort(SearchQuery()) == [{"updatedAt": {"order": "Ascending"}}]
    assert to_sort(SearchQuery(order="newest_created")) == [{"createdAt": {"order": "Descending"}}]


def test_reading_many_issues_again_filters_by_their_ids_as_linears_schema_has_it(linear_schema: Any) -> None:
    from graphql.utilities import validate_input_value

    errors: list[Any] = []
    validate_input_value(by_ids(["id-1", "id-2"]), linear_schema.get_type("IssueFilter"), lambda *e: errors.append(e))
    assert errors == [] and by_ids(["id-1", "id-2"]) == {"id": {"in": ["id-1", "id-2"]}}
