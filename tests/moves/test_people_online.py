"""`rules check --online` resolves the `people:` section against the stub's Jira and Linear."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from integration.people_online import people_problems
from integration.trackers.jira.client import JiraClient
from integration.trackers.jira.normalize import JiraConfig
from integration.trackers.linear.client import LinearClient
from integration.trackers.linear.item import LinearConfig
from rules.loader import load_ruleset
from tests.stub import Stub, running_stub

RULES = """version: 1
people:
  lead: { jira: acc-dana, linear: lin-dana, name: Dana }
  pm: { email: pat@acme.test }
  ghost: { jira: acc-nobody, email: ghost@acme.test }
rules:
  - name: give-to-lead
    description: Unowned bugs go to the lead.
    on: [schedule]
    teams: [ENG]
    when: { type: Bug }
    then:
      - assign: lead
"""


@pytest.fixture
def stub() -> Iterator[Stub]:
    with running_stub() as running:
        requests.post(f"{running.url}/_stub/jira/users", json=[
            {"accountId": "acc-dana", "displayName": "Dana", "emailAddress": "dana@acme.test", "active": True},
            {"accountId": "acc-pat", "displayName": "Pat", "emailAddress": "pat@acme.test", "active": True}],
            timeout=5).raise_for_status()
        requests.post(f"{running.url}/_stub/linear/issues", json={"users": [
            {"id": "lin-dana", "name": "Dana", "displayName": "dana", "email": "dana@acme.test", "active": True}]},
            timeout=5).raise_for_status()
        yield running


def test_each_person_is_looked_up_on_each_tracker(stub: Stub, tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(RULES, encoding="utf-8")
    clients = {"jira": JiraClient(stub.url, "bot@acme.test", "tok", config=JiraConfig(), write_interval=0),
               "linear": LinearClient(f"{stub.url}/graphql", "lin_api_key", config=LinearConfig())}
    assert people_problems(load_ruleset([path]), clients) == [
        "people.ghost: Jira has no user with account id acc-nobody",
        "people.ghost: Linear has no user with email ghost@acme.test",
        "people.pm: Linear has no user with email pat@acme.test",
    ]
