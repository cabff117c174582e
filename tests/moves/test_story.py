"""The stale story on each tracker, against the stub: warned → closed → a person replies → reopened.

Sweeps and the webhook pipeline run in this process as a worker runs them, on one clock
that moves forward by days; the tracker is the stub tracker on a loopback port.
"""

from __future__ import annotations

import copy
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from integration.services import Services, build_services
from integration.settings import load_settings
from integration.settings_sweeps import SweepSettings
from integration.store.audit import AuditFilter
from integration.sweeps.dispatch import run_inline
from integration.sweeps.sweep import Sweeper
from integration.trackers.jira.normalize import JiraConfig
from integration.trackers.jira.normalize import normalize as normalize_jira
from integration.trackers.linear.event import normalize as normalize_linear
from integration.trackers.linear.item import LinearConfig
from tests.foundation.helpers import fixture
from tests.stub import Stub, jira_issue, linear_issue, running_stub

START = datetime.now(UTC).replace(microsecond=0)
QUIET_SINCE = START - timedelta(days=61)
RULES = """
version: 1
rules:
  - name: stale
    description: Quiet open work is marked stale, then closed as not planned a week later.
    on: [schedule, updated, comment_created]
    when:
      all:
        - status.category: [todo, in_progress]
        - last_activity: { older_than: 60 days }
    then:
      - flag: { label: stale, comment: "No activity for {{ last_activity | age }}: closing in 7 days." }
    escalate:
      - after: 67 days
        then:
          - comment: "Closed after {{ last_activity | age }} without activity. Reply to reopen."
          - transition: { to: canceled, reason: "stale for 67 days" }
  - name: reopen-on-reply
    description: A person answering within 30 days of an automatic close reopens the item.
    on: [comment_created]
    when:
      all:
        - actor.kind: human
        - closed_by_flowkeeper: { newer_than: 30 days }
    then:
      - reopen: { reason: "a person answered after the automatic close" }
      - comment: "{{ actor.mention }} thanks, reopened."
"""


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def stub() -> Iterator[Stub]:
    with running_stub() as running:
        yield running


def _services(stub: Stub, db_url: str, tmp_path: Path) -> Services:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "rules.yml").write_text(textwrap.dedent(RULES).lstrip(), encoding="utf-8")
    env = {"DATABASE_URL": db_url, "RULES_DIR": str(folder), "FLOWKEEPER_DRY_RUN": "0",
           "JIRA_URL": stub.url, "JIRA_USER": "bot@acme.test", "JIRA_API_TOKEN": "tok",
           "LINEAR_API_KEY": "lin_api_key", "LINEAR_API_URL": f"{stub.url}/graphql"}
    return build_services(load_settings(env))


def _sweep(services: Services, clock: Clock, tracker: str) -> None:
    sweeper = Sweeper(services, SweepSettings(), clock=clock)
    started = sweeper.start("stale", tracker, "manual", force=True)
    assert started.run_id is not None, started.message
    run_inline(sweeper, started.next, sleep=lambda _s: None)


def _deliver(services: Services, clock: Clock, tracker: str, payload: dict[str, Any]) -> str:
    event = (normalize_jira(payload, JiraConfig()) if tracker == "jira" else normalize_linear(payload, LinearConfig()))
    assert event is not None
    pipeline = replace(services.pipeline(), clock=clock)
    return pipeline.handle(replace(event, delivery_id=str(uuid.uuid4()), occurred_at=clock.now))


def _jira_reply(key: str, issue_id: str) -> dict[str, Any]:
    payload = copy.deepcopy(fixture("jira", "comment_created.derived.json"))
    payload["issue"]["key"], payload["issue"]["id"] = key, issue_id
    payload["comment"]["body"] = "We still need this, the SDK update shipped."
    return payload


def _linear_reply(identifier: str) -> dict[str, Any]:
    payload = copy.deepcopy(fixture("linear", "comment_create.2023.json"))
    data = payload["data"]
    data["issueId"] = data["issue"]["id"] = f"uuid-{identifier}"
    data["body"] = "We still need this."
    payload["url"] = f"https://linear.app/stub/issue/{identifier}#comment-{data['id']}"
    return payload


def _status(stub: Stub, tracker: str) -> str:
    state = stub.state()
    if tracker == "jira":
        fields = state["jira_issues"]["ENG-1"]["fields"]
        resolution = (fields.get("resolution") or {}).get("name")
        return fields["status"]["name"] + (f" ({resolution})" if resolution else "")
    return str(state["linear_issues"]["uuid-ENG-1"]["state"]["name"])


def _comments(stub: Stub, tracker: str) -> list[str]:
    state = stub.state()
    if tracker == "jira":
        return [str(c["body"]) for c in state["jira_comments"].get("ENG-1", [])]
    return [str(c["body"]) for c in state["linear_comments"].get("uuid-ENG-1", [])]


def _labels(stub: Stub, tracker: str) -> list[str]:
    state = stub.state()
    if tracker == "jira":
        return list(state["jira_issues"]["ENG-1"]["fields"]["labels"])
    return [n["name"] for n in state["linear_issues"]["uuid-ENG-1"]["labels"]["nodes"]]


@pytest.mark.parametrize("tracker", ["jira", "linear"])
def test_stale_warn_close_reply_reopen(tracker: str, stub: Stub, db_url: str, tmp_path: Path) -> None:
    quiet = QUIET_SINCE.strftime("%Y-%m-%dT%H:%M:%S.000")
    if tracker == "jira":
        issue = jira_issue("ENG-1", status="To Do", category="new", updated=f"{quiet}+0000")
        issue["fields"]["status"]["id"] = "10000"
        stub.seed_jira(issue)
        before = "To Do"
    else:
        issue = {**linear_issue("ENG-1", state_type="unstarted"), "updatedAt": f"{quiet}Z"}
        stub.seed_linear([issue])
        before = "Todo"
    services, clock = _services(stub, db_url, tmp_path), Clock()

    _sweep(services, clock, tracker)  # day 61: warned
    assert _labels(stub, tracker) == ["stale"] and _status(stub, tracker) == before
    assert any("No activity for 61 days: closing in 7 days." in c for c in _comments(stub, tracker))

    clock.now += timedelta(days=7)  # day 68: closed as not planned
    _sweep(services, clock, tracker)
    assert _status(stub, tracker) == ("Done (Won't Do)" if tracker == "jira" else "Canceled")
    assert any("Closed after 68 days without activity" in c for c in _comments(stub, tracker))

    clock.now += timedelta(days=2)  # a person replies: reopened where it was, the stale mark gone
    reply = _jira_reply("ENG-1", issue["id"]) if tracker == "jira" else _linear_reply("ENG-1")
    outcome = _deliver(services, clock, tracker, reply)
    assert "reopen-on-reply:transition:done" in outcome
    assert _status(stub, tracker) == before
    assert _labels(stub, tracker) == []
    assert any("thanks, reopened." in c for c in _comments(stub, tracker))
    assert len(_comments(stub, tracker)) == 3
    moves = [e for e in services.store.audit.page(AuditFilter(item_key="ENG-1")) if e.action == "transition"]
    assert [e.reason.split(":")[0] for e in reversed(moves)] == [
        f"moved from {before} to {'Done' if tracker == 'jira' else 'Canceled'}",
        f"moved from {'Done' if tracker == 'jira' else 'Canceled'} to {before}"]
    assert "a person answered after the automatic close" in moves[0].reason
