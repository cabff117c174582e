"""A WIP limit across items through the webhook pipeline: marks go on and come off the whole group
in the same job, one note goes to the item that tipped it, and a sweep reaches the same verdicts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from integration.services import Services, build_services
from integration.settings import load_settings
from integration.settings_sweeps import SweepSettings
from integration.sweeps.dispatch import run_inline
from integration.sweeps.sweep import Sweeper
from rules.model import Change, Event, EventKind, Person, Tracker
from tests.stub import Stub, jira_issue, running_stub

NOW = datetime.now(UTC).replace(microsecond=0)
ADA = {"accountId": "u-ada", "displayName": "Ada", "accountType": "atlassian", "active": True}
POLICY = Path(__file__).resolve().parents[2] / "examples" / "policies" / "wip-limit.yml"


@pytest.fixture
def stub() -> Iterator[Stub]:
    with running_stub() as running:
        yield running


def _issue(key: str, status: str, category: str, started: str) -> dict[str, object]:
    issue = jira_issue(key, status=status, category=category, assignee=ADA)
    issue["fields"]["statuscategorychangedate"] = started  # type: ignore[index]
    return issue


def _services(stub: Stub, db_url: str, tmp_path: Path) -> Services:
    folder = tmp_path / "rules"
    folder.mkdir()
    text = POLICY.read_text(encoding="utf-8").replace("dry_run: true", "dry_run: false\n  teams: [ENG]")
    (folder / "wip.yml").write_text(text, encoding="utf-8")
    env = {"DATABASE_URL": db_url, "RULES_DIR": str(folder), "FLOWKEEPER_DRY_RUN": "0",
           "JIRA_URL": stub.url, "JIRA_USER": "bot@acme.test", "JIRA_API_TOKEN": "tok"}
    return build_services(load_settings(env))


def _moved(services: Services, key: str, old: str, new: str) -> str:
    client = services.clients["jira"]
    item = client.get_item(key)
    event = Event(Tracker.JIRA, EventKind.UPDATED, item, NOW, delivery_id=str(uuid.uuid4()),
                  actor=Person("u-ada", "Ada"), changes=(Change("status", old, new),))
    return replace(services.pipeline(), clock=lambda: NOW).handle(event)


def _labels(stub: Stub) -> dict[str, list[str]]:
    return {k: list(i["fields"]["labels"]) for k, i in sorted(stub.state()["jira_issues"].items())}


def _notes(stub: Stub) -> dict[str, int]:
    return {k: len(v) for k, v in stub.state()["jira_comments"].items()}


def test_going_over_marks_the_whole_group_and_coming_back_clears_it(stub: Stub, db_url: str,
                                                                    tmp_path: Path) -> None:
    stub.seed_jira(*(_issue(f"ENG-{n}", "In Progress", "indeterminate", f"2026-03-0{n}T10:00:00.000+0000")
                     for n in (1, 2, 3)), _issue("ENG-4", "To Do", "new", "2026-03-04T10:00:00.000+0000"))
    services = _services(stub, db_url, tmp_path)
    for n in (1, 2, 3, 4):  # the mirror knows the team's work, as after `flowkeeper sync`
        services.store.mirror.upsert(services.clients["jira"].get_item(f"ENG-{n}"), NOW)

    stub.seed_jira(_issue("ENG-4", "In Progress", "indeterminate", "2026-03-09T10:00:00.000+0000"))
    outcome = _moved(services, "ENG-4", "To Do", "In Progress")
    assert "over-wip-limit:add_labels:done" in outcome
    assert _labels(stub) == {f"ENG-{n}": ["over-wip"] for n in (1, 2, 3, 4)}
    assert _notes(stub) == {"ENG-4": 1}, "one note, on the item started last"

    done = stub.state()["jira_issues"]["ENG-2"]  # ENG-2 is finished: Ada is back at the limit
    done["fields"]["status"] = {"name": "Done", "id": "10002", "statusCategory": {"key": "done", "name": "Done"}}
    stub.seed_jira(done)
    _moved(services, "ENG-2", "In Progress", "Done")
    assert _labels(stub) == {f"ENG-{n}": [] for n in (1, 2, 3, 4)}
    assert _notes(stub) == {"ENG-4": 1}

    sweeper = Sweeper(services, SweepSettings(), clock=lambda: NOW)
    started = sweeper.start("over-wip-limit", "jira", "manual", force=True)
    assert started.run_id is not None
    run_inline(sweeper, started.next, sleep=lambda _s: None)
    assert _labels(stub) == {f"ENG-{n}": [] for n in (1, 2, 3, 4)}, "the sweep agrees: nobody is over"
