"""A real sweep against the stub tracker, over HTTP, with actions/stale's exempt-milestones and
exempt-all-milestones: items in the named fix versions / project milestones (or in any) are left
alone, the rest are flagged — on Jira and on Linear, read through the real clients and normalizers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from integration.services import Services, build_services
from integration.settings import load_settings
from integration.settings_sweeps import SweepSettings
from integration.sweeps.dispatch import run_inline
from integration.sweeps.sweep import Sweeper
from tests.stub import Stub, jira_issue, linear_issue, running_stub

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)  # every seeded item was last touched on 2 March
RULE = """
  - name: {name}
    description: Quiet work in progress is flagged {label}, unless its milestones exempt it.
    on: schedule
    teams: [ENG]
    dry_run: false
    when:
      all:
        - status.category: in_progress
        - last_activity: {{ older_than: 7 days }}
        - milestones: {milestones}
    then:
      - flag: {{ label: {label}, comment: "{{{{ key }}}} has been quiet, in no exempt milestone." }}
"""
RULES = "version: 1\nrules:" + "".join([
    RULE.format(name="stale-but-milestones", label="stale", milestones="{ none_of: [v2.0, release 3] }"),
    RULE.format(name="stale-without-any-milestone", label="unplanned", milestones="{ missing: true }")])
# key → its fix versions (Jira) / project milestone (Linear: the first)
PLANNED = {"ENG-1": ["v2.0"], "ENG-2": [], "ENG-3": ["Release 3"], "ENG-4": ["Beta"]}


@pytest.fixture
def stub() -> Iterator[Stub]:
    with running_stub() as running:
        yield running


def _services(stub: Stub, db_url: str, tmp_path: Path, tracker: str) -> Services:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "stale.yml").write_text(RULES, encoding="utf-8")
    env = {"DATABASE_URL": db_url, "RULES_DIR": str(folder), "FLOWKEEPER_DRY_RUN": "0"}
    if tracker == "jira":
        env |= {"JIRA_URL": stub.url, "JIRA_USER": "bot@acme.test", "JIRA_API_TOKEN": "tok"}
    else:
        env |= {"LINEAR_API_KEY": "lin_api_key", "LINEAR_API_URL": f"{stub.url}/graphql"}
    return build_services(load_settings(env))


def _seed(stub: Stub, tracker: str) -> None:
    if tracker == "jira":
        issues = []
        for n, (key, versions) in enumerate(PLANNED.items()):
            issue = jira_issue(key)
            issue["fields"]["fixVersions"] = [{"id": str(10000 + n), "name": v, "released": False} for v in versions]
            issues.append(issue)
        stub.seed_jira(*issues)
    else:
        nodes: list[dict[str, Any]] = []
        for key, versions in PLANNED.items():
            node = linear_issue(key)
            node["projectMilestone"] = {"name": versions[0]} if versions else None
            nodes.append(node)
        stub.seed_linear(nodes)


def _labels(stub: Stub, tracker: str) -> dict[str, list[str]]:
    state = stub.state()
    if tracker == "jira":
        return {k: sorted(i["fields"]["labels"]) for k, i in state["jira_issues"].items()}
    return {i["identifier"]: sorted(n["name"] for n in i["labels"]["nodes"]) for i in state["linear_issues"].values()}


@pytest.mark.parametrize("tracker", ["jira", "linear"])
def test_a_sweep_spares_items_in_exempt_milestones(stub: Stub, db_url: str, tmp_path: Path, tracker: str) -> None:
    _seed(stub, tracker)
    services = _services(stub, db_url, tmp_path, tracker)
    sweeper = Sweeper(services, SweepSettings(), clock=lambda: NOW)
    for rule in ("stale-but-milestones", "stale-without-any-milestone"):
        started = sweeper.start(rule, tracker, "manual", force=True)
        assert started.run_id is not None
        run_inline(sweeper, started.next, sleep=lambda _s: None)
    assert _labels(stub, tracker) == {"ENG-1": [], "ENG-2": ["stale", "unplanned"], "ENG-3": [],
                                      "ENG-4": ["stale"]}
    beta = services.clients[tracker].get_item("ENG-4")
    assert beta.milestones == ("Beta",) and "milestones" not in beta.unknown
    mirrored = services.store.mirror.get(tracker, beta.id)  # what the sweep read is what the mirror keeps
    assert mirrored is not None and mirrored.milestones == ("Beta",)
