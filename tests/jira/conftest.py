"""Fixtures shared by the Jira tests."""

from __future__ import annotations

import pytest

from integration.trackers.jira.normalize import JiraConfig


@pytest.fixture
def config() -> JiraConfig:
    return JiraConfig(
        site_url="https://acme.atlassian.net",
        story_points_field="customfield_10016",
        field_map={"severity": "customfield_10050"},
        priority_ranks={"1": 1, "2": 2, "3": 3, "4": 4, "5": 5},  # the site's list, as if read already
    )
