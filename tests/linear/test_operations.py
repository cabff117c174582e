"""Every GraphQL operation Flowkeeper sends is valid against Linear's published schema."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse, specified_rules, validate
from graphql.validation import NoDeprecatedCustomRule

from integration.trackers.linear.client import max_page_size
from integration.trackers.linear.complexity import MAX_QUERY_COMPLEXITY, estimate
from integration.trackers.linear.ops import document, operation_names

OPERATIONS = operation_names()


def test_the_operations_exist() -> None:
    assert {
        "Viewer",
        "Teams",
        "SearchIssues",
        "GetIssue",
        "IssueActivity",
        "FindMarkedComment",
        "FindLabels",
        "CreateLabel",
        "UpdateIssueLabels",
        "CreateComment",
    } <= set(OPERATIONS)


@pytest.mark.parametrize("name", OPERATIONS)
def test_operation_is_valid_and_uses_nothing_deprecated(name: str, linear_schema: Any) -> None:
    errors = validate(linear_schema, parse(document(name)), [*specified_rules, NoDeprecatedCustomRule])
    assert [e.message for e in errors] == []


def test_the_validation_catches_unknown_and_deprecated_fields(linear_schema: Any) -> None:
    rules = [*specified_rules, NoDeprecatedCustomRule]
    unknown = validate(linear_schema, parse("query { viewer { id nickname } }"), rules)
    deprecated = validate(linear_schema, parse('query { issue(id: "x") { boardOrder } }'), rules)
    assert "nickname" in unknown[0].message and "deprecated" in deprecated[0].message


def test_labels_are_only_ever_changed_as_a_diff() -> None:
    for name in OPERATIONS:
        assert "labelIds:" not in document(name).replace("addedLabelIds", "").replace("removedLabelIds", "")


@pytest.mark.parametrize(
    ("name", "variables"),
    [
        ("SearchIssues", {"first": max_page_size(1000)}),
        ("GetIssue", {}),
        ("FindLabels", {"first": 50}),
        ("IssueActivity", {"first": 50}),
        ("Teams", {"first": 100}),
    ],
)
def test_each_query_stays_under_the_complexity_cap(name: str, variables: dict) -> None:
    assert estimate(document(name), variables) <= MAX_QUERY_COMPLEXITY


def test_complexity_estimate_counts_fields_objects_and_pages() -> None:
    # 0.1 per scalar, 1 per object, connection contents × first
    assert estimate("query { viewer { id name } }") == pytest.approx(1.2)
    assert estimate("query { issues(first: 10) { nodes { id } } }") == pytest.approx(1 + 10 * 1.1)
    assert estimate("query($n: Int) { issues(first: $n) { nodes { id } } }", {"n": 100}) == pytest.approx(111)
    assert (
        max_page_size(1000) < 1000
        and estimate(document("SearchIssues"), {"first": max_page_size(1000)}) <= 10_000
    )
