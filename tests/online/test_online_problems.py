"""`rules check --online`: names the rules use, checked on the trackers they apply to (mocked HTTP)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import responses

from integration.rules_cli_reads import find_problems, online_problems
from integration.trackers.jira.client import JiraClient
from integration.trackers.linear.client import LinearClient
from tests.online.conftest import JIRA_API, LINEAR_URL, load, rules_from

RULES = """
version: 1
rules:
  - name: stalled-in-review
    description: Reviews that wait get flagged.
    trackers: [jira]
    on: [schedule]
    when:
      all:
        - status.name: In Review
        - labels: { none_of: [on-hold, security] }
    then:
      - flag: { label: review-stalled, comment: "{{ key }} waits for review." }
  - name: design-before-build
    description: Linear work in progress needs its design first.
    trackers: [linear]
    teams: [ENG, PLAT]
    on: [updated]
    when:
      all:
        - status.name: { in: [In Progress, Doing] }
        - labels: { contains: needs-design }
    then:
      - add_labels: [design-first]
"""


def jira_statuses(*extra: str) -> list[dict[str, Any]]:
    """The reference answer (In Progress, Closed) plus statuses this site also has."""
    base = load("jira/status.200.json")
    return base + [{**base[0], "id": str(20000 + n), "name": name} for n, name in enumerate(extra)]


def answer_jira(api: responses.RequestsMock, statuses: list[dict[str, Any]], labels: list[str]) -> None:
    api.get(f"{JIRA_API}/status", json=statuses)
    api.get(f"{JIRA_API}/label", json={**load("jira/label.200.json"), "values": labels, "isLast": True})


def answer_linear(api: responses.RequestsMock, teams: dict[str, Any] | None = None) -> None:
    api.post(LINEAR_URL, json=load("linear/WorkflowStateNames.page1.json"))
    api.post(LINEAR_URL, json=load("linear/WorkflowStateNames.page2.json"))
    api.post(LINEAR_URL, json=load("linear/LabelsNamed.json"))
    api.post(LINEAR_URL, json=teams or load("linear/TeamKeys.json"))


def test_a_renamed_status_an_unknown_team_and_an_unused_label_are_reported(
    tmp_path: Path, api: responses.RequestsMock, jira: JiraClient, linear: LinearClient
) -> None:
    ruleset = rules_from(tmp_path, RULES)
    answer_jira(api, jira_statuses("In Code Review"), ["performance", "security"])
    answer_linear(api)
    check = online_problems(SimpleNamespace(clients={"jira": jira, "linear": linear}))
    assert check(ruleset) == [
        ("status 'In Review' used by rule 'stalled-in-review' does not exist in Jira — renamed? "
         "(closest: 'In Code Review')"),
        "label 'on-hold' used by rule 'stalled-in-review' is on no Jira issue — misspelt?",
        "status 'Doing' used by rule 'design-before-build' does not exist in Linear — renamed? (closest: 'Done')",
        ("team 'PLAT' used by rule 'design-before-build' is not a Linear team the service account can see"
         " — misspelt?"),
    ]


def test_names_every_tracker_knows_are_no_problem(
    tmp_path: Path, api: responses.RequestsMock, jira: JiraClient, linear: LinearClient
) -> None:
    ruleset = rules_from(tmp_path, RULES.replace("Doing", "In Review").replace("PLAT", "DES"))
    answer_jira(api, jira_statuses("in review"), ["On-Hold", "security"])  # case is ignored, as rules ignore it
    answer_linear(api)
    assert find_problems(ruleset, {"jira": jira, "linear": linear}) == []


def test_a_tracker_without_credentials_is_one_line_and_is_not_asked(
    tmp_path: Path, api: responses.RequestsMock, jira: JiraClient
) -> None:
    ruleset = rules_from(tmp_path, RULES)
    answer_jira(api, jira_statuses("In Review"), ["on-hold", "security"])
    assert find_problems(ruleset, {"jira": jira}) == [
        ("Linear is not connected (set LINEAR_API_KEY): the names rule 'design-before-build' uses were not "
         "checked there"),
    ]
    assert all(call.request.url.startswith(JIRA_API) for call in api.calls)


def test_a_tracker_that_fails_is_reported_and_the_other_checks_go_on(
    tmp_path: Path, api: responses.RequestsMock, jira: JiraClient
) -> None:
    ruleset = rules_from(tmp_path, RULES.replace("trackers: [linear]", "trackers: [jira]"))
    api.get(f"{JIRA_API}/status", status=503, json={"errorMessages": ["Service Unavailable"]})
    api.get(f"{JIRA_API}/label", json={**load("jira/label.200.json"), "values": ["on-hold", "security"],
                                      "isLast": True})
    api.get(f"{JIRA_API}/project/ENG", json={**load("jira/project.200.json"), "key": "ENG"})
    api.get(f"{JIRA_API}/project/PLAT", status=404, json={"errorMessages": ["No project could be found"]})
    problems = find_problems(ruleset, {"jira": jira})
    assert problems[0].startswith("Jira: could not read the statuses (Jira GET /rest/api/3/status → 503")
    assert problems[0].endswith("status names were not checked")
    assert problems[1:] == [
        "label 'needs-design' used by rule 'design-before-build' is on no Jira issue — misspelt?",
        ("team 'PLAT' used by rule 'design-before-build' is not a Jira project the service account can see"
         " — misspelt?"),
    ]


def test_a_team_key_on_either_tracker_of_a_two_tracker_rule_is_fine(
    tmp_path: Path, api: responses.RequestsMock, jira: JiraClient, linear: LinearClient
) -> None:
    ruleset = rules_from(tmp_path, """
version: 1
rules:
  - name: both
    description: Applies to Jira project EX and Linear team ENG.
    teams: [EX, ENG, NOPE]
    on: [updated]
    when: { status.category: in_progress }
    then:
      - add_labels: [seen]
""")
    api.get(f"{JIRA_API}/project/ENG", status=404, json={"errorMessages": ["No project could be found"]})
    api.get(f"{JIRA_API}/project/EX", json=load("jira/project.200.json"))
    api.get(f"{JIRA_API}/project/NOPE", status=404, json={"errorMessages": ["No project could be found"]})
    api.post(LINEAR_URL, json=load("linear/TeamKeys.json"))
    assert find_problems(ruleset, {"jira": jira, "linear": linear}) == [
        ("team 'NOPE' used by rule 'both' is not a Jira project or a Linear team the service account can see"
         " — misspelt?"),
    ]


def test_a_tracker_without_credentials_where_no_rule_names_anything_is_no_problem(
    tmp_path: Path, api: responses.RequestsMock, jira: JiraClient
) -> None:
    ruleset = rules_from(tmp_path, """
version: 1
rules:
  - name: review-labels
    description: Jira reviews carry a reviewer label.
    trackers: [jira]
    on: [updated]
    when: { labels: { contains: security } }
    then:
      - add_labels: [reviewed]
  - name: anywhere
    description: Applies to both trackers and names no status, label or team.
    on: [updated]
    when: { status.category: in_progress }
    then:
      - add_labels: [seen]
""")
    api.get(f"{JIRA_API}/label", json={**load("jira/label.200.json"), "isLast": True})
    assert find_problems(ruleset, {"jira": jira}) == []


CUSTOM_RULES = """
version: 1
rules:
  - name: bug-needs-severity
    description: A bug needs a severity.
    trackers: [jira]
    on: [updated]
    when:
      all:
        - custom.severity: { missing: true }
        - custom.impact: { missing: true }
        - custom.sevrity: { missing: true }
    then:
      - add_labels: [needs-severity]
"""


def test_custom_fields_must_be_mapped_and_exist_on_the_site(tmp_path: Path, api: responses.RequestsMock) -> None:
    from integration.trackers.jira.normalize import JiraConfig
    from tests.online.conftest import SITE, TOKEN

    config = JiraConfig(site_url=SITE, field_map={"severity": "customfield_10050", "impact": "customfield_10099"})
    jira = JiraClient(SITE, "flowkeeper@acme.com", TOKEN, config=config, sleep=lambda _s: None, write_interval=0)
    api.get(f"{JIRA_API}/field", json=load("jira/field.200.json"))
    problems = find_problems(rules_from(tmp_path, CUSTOM_RULES), {"jira": jira})
    assert problems == [
        ("custom.sevrity used by rule 'bug-needs-severity' is not in JIRA_FIELD_MAP (it maps impact, severity) "
         "(closest: 'severity')"),
        ("JIRA_FIELD_MAP maps impact to 'customfield_10099', which this Jira site does not have "
         "(used by rule 'bug-needs-severity')"),
    ]


def test_a_field_mapped_by_its_name_is_found(tmp_path: Path, api: responses.RequestsMock) -> None:
    from integration.trackers.jira.normalize import JiraConfig
    from tests.online.conftest import SITE, TOKEN

    config = JiraConfig(site_url=SITE, field_map={"severity": "Severity", "impact": "customfield_10016"})
    jira = JiraClient(SITE, "flowkeeper@acme.com", TOKEN, config=config, sleep=lambda _s: None, write_interval=0)
    api.get(f"{JIRA_API}/field", json=load("jira/field.200.json"))
    rules = CUSTOM_RULES.replace("        - custom.sevrity: { missing: true }\n", "")
    assert find_problems(rules_from(tmp_path, rules), {"jira": jira}) == []
