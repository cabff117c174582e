"""Shared parts for the `rules check --online` / `rules simulate` tests: clients on mocked HTTP, rule files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses

from integration.trackers.jira.client import JiraClient
from integration.trackers.jira.normalize import JiraConfig
from integration.trackers.linear.client import LinearClient
from integration.trackers.linear.item import LinearConfig
from integration.trackers.retry import RetryPolicy
from rules.loader import load_ruleset
from rules.ruleset import RuleSet

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "online"
SITE = "https://acme.atlassian.net"
JIRA_API = f"{SITE}/rest/api/3"
LINEAR_URL = "https://api.linear.app/graphql"
TOKEN = "ATATT3xFfGF0-online-check-token"
LINEAR_KEY = "lin_api_ONLINECHECKKEY"
QUICK = RetryPolicy(tries=2, base_delay=0.0)


def load(name: str) -> Any:
    """A fixture answer (a fresh copy each call, safe to change)."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def write_rules(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "rules.yml"
    path.write_text(text, encoding="utf-8")
    return path


def rules_from(folder: Path, text: str) -> RuleSet:
    return load_ruleset([write_rules(folder, text)])


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def jira() -> JiraClient:
    return JiraClient(SITE, "flowkeeper@acme.com", TOKEN, config=JiraConfig(site_url=SITE),
                      retry=QUICK, sleep=lambda _s: None, write_interval=0)


@pytest.fixture
def linear() -> LinearClient:
    return LinearClient(LINEAR_URL, LINEAR_KEY, config=LinearConfig(), retry=QUICK, sleep=lambda _s: None)


def graphql_calls(mock: responses.RequestsMock) -> list[dict[str, Any]]:
    """The JSON bodies sent to Linear, in order (operation name, variables)."""
    return [json.loads(call.request.body) for call in mock.calls]
