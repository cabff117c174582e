"""`flowkeeper rules check --online` as a process, against the stub tracker's Jira and Linear."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.online.conftest import write_rules
from tests.processes import flowkeeper
from tests.stub import Stub, jira_issue, linear_issue, running_stub

RULES = """
version: 1
rules:
  - name: stalled-in-review
    description: Reviews that wait get flagged.
    trackers: [jira]
    teams: [ENG]
    on: [schedule]
    when:
      all:
        - status.name: In Review
        - labels: { none_of: [on-hold] }
    then:
      - flag: { label: review-stalled, comment: "{{ key }} waits for review." }
  - name: design-before-build
    description: Linear work in progress needs its design first.
    trackers: [linear]
    teams: [DES, PLAT]
    on: [updated]
    when:
      all:
        - status.name: In Progress
        - labels: { contains: needs-design }
    then:
      - add_labels: [design-first]
"""


@pytest.fixture
def stub() -> Iterator[Stub]:
    with running_stub() as running:
        running.seed_jira(jira_issue("ENG-1", status="In Progress", labels=("on-hold",)))
        running.seed_linear([linear_issue("DES-1", labels=(("label-1", "Needs-Design"),))])
        yield running


def run_check(stub: Stub, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    path = write_rules(tmp_path / "rules", RULES)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("JIRA_", "LINEAR_", "RULES_", "REDIS_"))}
    full = {**base, "DATABASE_URL": f"sqlite:///{tmp_path / 'fk.sqlite'}", **env}
    return subprocess.run(flowkeeper("rules", "check", "--online", str(path)), env=full, capture_output=True,
                          text=True, timeout=60, check=False)


def test_names_missing_on_the_trackers_fail_the_check(stub: Stub, tmp_path: Path) -> None:
    done = run_check(stub, tmp_path, JIRA_URL=stub.url, JIRA_USER="bot@acme.test", JIRA_API_TOKEN="tok-online",
                     LINEAR_API_KEY="lin_api_online", LINEAR_API_URL=f"{stub.url}/graphql")
    assert done.stdout == (
        "FAIL: 2 rules in 1 files are valid, but 2 problems found on the trackers (above)\n"
    )
    assert done.stderr.splitlines() == [
        "status 'In Review' used by rule 'stalled-in-review' does not exist in Jira — renamed?",
        "team 'PLAT' used by rule 'design-before-build' is not a Linear team the service account can see — misspelt?",
    ]
    assert done.returncode == 1
    asked = {(r["method"], r["path"], (r.get("json") or {}).get("operationName")) for r in stub.requests()}
    assert asked == {
        ("GET", "/rest/api/3/status", None), ("GET", "/rest/api/3/label", None),
        ("GET", "/rest/api/3/project/ENG", None), ("POST", "/graphql", "WorkflowStateNames"),
        ("POST", "/graphql", "LabelsNamed"), ("POST", "/graphql", "TeamKeys"),
    }


def test_without_credentials_each_tracker_is_one_line(stub: Stub, tmp_path: Path) -> None:
    done = run_check(stub, tmp_path)
    assert done.stderr.splitlines() == [
        ("Jira is not connected (set JIRA_URL, JIRA_USER and JIRA_API_TOKEN): the names rule 'stalled-in-review' "
         "uses were not checked there"),
        ("Linear is not connected (set LINEAR_API_KEY): the names rule 'design-before-build' uses were not "
         "checked there"),
    ]
    assert done.returncode == 1 and stub.requests() == []
