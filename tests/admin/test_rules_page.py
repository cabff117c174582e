"""The Rules page: what it lists, and toggles that persist and change the very next evaluation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from integration.admin.queries.stats import RuleStats, rule_stats
from integration.app import create_app
from integration.runner import EmbeddedRunner
from integration.services import Services
from integration.store.audit import AuditEntry, AuditFilter, Outcome
from integration.store.store import Store
from tests.admin.helpers import (
    JIRA_SECRET,
    JIRA_URL,
    RULES_DIR,
    base_env,
    captured_jira_request,
    jira_payload,
    login,
    post,
)
from tests.services import MakeServices
from tests.stub import JiraStub

RULE = "started-without-assignee"


@dataclass
class Live:
    app: Flask
    admin: FlaskClient
    services: Services
    tracker: JiraStub

    def deliver(self, key: str) -> list[AuditEntry]:
        """Post a signed webhook for `key`, run the embedded queue, return that item's decisions."""
        payload = jira_payload(key)
        self.tracker.seed(payload["issue"])  # the issue the delivery speaks of, as Jira holds it
        body, headers = captured_jira_request(payload, secret=JIRA_SECRET)
        assert self.app.test_client().post("/webhooks/jira", data=body, headers=headers).status_code == 200
        EmbeddedRunner(self.services).run_pending()
        return self.services.store.audit.page(AuditFilter(item_key=key, rule=RULE))


def start_live(make_services: MakeServices, db_url: str, tracker: JiraStub, rules_dir: Path = RULES_DIR) -> Live:
    """Global dry run off and Jira (the stub) connected: rules write unless a toggle says otherwise."""
    env = base_env(
        db_url,
        FLOWKEEPER_DRY_RUN="0",
        JIRA_URL=JIRA_URL,
        JIRA_USER="bot@example.com",
        JIRA_API_TOKEN="token-1234",
        RULES_DIR=str(rules_dir),
    )
    services = make_services(env, clients={"jira": tracker.client})
    app = create_app(services=services)
    admin = app.test_client()
    login(admin)
    return Live(app, admin, services, tracker)


@pytest.fixture
def live(db_url: str, make_services: MakeServices, jira_stub: JiraStub) -> Live:
    return start_live(make_services, db_url, jira_stub)


def test_rules_page_lists_each_rule_with_source_triggers_and_links(admin: FlaskClient) -> None:
    page = admin.get("/admin/rules").get_data(as_text=True)
    assert "started-without-assignee" in page and "stalled-in-progress" in page
    assert "Work that has started needs an owner" in page
    assert "team.yml:3" in page and "team.yml:14" in page
    assert "comment_created, created, updated" in page
    assert 'href="/admin/audit?rule=started-without-assignee"' in page


def test_decisions_in_the_last_seven_days_and_last_run(app: Flask, admin: FlaskClient) -> None:
    store = app.extensions["flowkeeper"].services.store
    now = datetime.now(UTC)
    entries = [
        AuditEntry(
            at=now - timedelta(days=d),
            tracker="jira",
            action="add_labels",
            outcome=Outcome.WOULD_DO,
            reason="r",
            item_key=f"A-{d}",
            rule=RULE,
        )
        for d in (0, 1, 6, 8, 30)
    ]
    store.audit.record(entries)
    rules = {r["name"]: r for r in admin.get("/admin/rules.json").json}
    assert rules[RULE]["hits_7d"] == 3
    assert datetime.fromisoformat(rules[RULE]["last_run"]) == entries[0].at
    assert rules["stalled-in-progress"]["hits_7d"] == 0 and rules["stalled-in-progress"]["last_run"] is None


def test_toggles_persist_and_show_as_overrides(app: Flask, admin: FlaskClient) -> None:
    response = post(admin, f"/admin/rules/{RULE}/override", field="dry_run", value="1")
    assert response.status_code == 302
    assert app.extensions["flowkeeper"].services.store.overrides.all() == {RULE: {"dry_run": True}}
    rules = {r["name"]: r for r in admin.get("/admin/rules.json").json}
    assert rules[RULE]["override"] == {"dry_run": True} and rules[RULE]["dry_run"] is True
    page = admin.get("/admin/rules").get_data(as_text=True)
    assert "dry run · override" in page and ">override<" in page
    post(admin, f"/admin/rules/{RULE}/override", reset="1")
    assert app.extensions["flowkeeper"].services.store.overrides.all() == {}


def test_unknown_rule_or_bad_toggle_is_refused(admin: FlaskClient) -> None:
    assert post(admin, "/admin/rules/no-such-rule/override", field="enabled", value="0").status_code == 404
    assert post(admin, f"/admin/rules/{RULE}/override", field="labels", value="0").status_code == 400
    assert post(admin, f"/admin/rules/{RULE}/override", field="enabled", value="maybe").status_code == 400


def test_dry_run_toggle_changes_the_next_evaluation(live: Live) -> None:
    first = live.deliver("GBL-1")
    assert {e.outcome for e in first} == {Outcome.DONE}
    assert ("add_labels", "GBL-1", ("needs-owner",)) in live.tracker.writes()
    post(live.admin, f"/admin/rules/{RULE}/override", field="dry_run", value="1")
    second = live.deliver("GBL-2")
    assert second and {e.outcome for e in second} == {Outcome.WOULD_DO}
    assert all(e.reason.startswith("rule in dry run") for e in second)
    assert ("add_labels", "GBL-2", ("needs-owner",)) not in live.tracker.writes()
    assert ("add_labels", "GBL-2", ("stalled",)) in live.tracker.writes()  # the other rule is untouched


def test_disable_toggle_stops_the_rule_on_the_next_event(live: Live) -> None:
    post(live.admin, f"/admin/rules/{RULE}/override", field="enabled", value="0")
    assert live.deliver("GBL-3") == []
    assert ("add_labels", "GBL-3", ("needs-owner",)) not in live.tracker.writes()
    post(live.admin, f"/admin/rules/{RULE}/override", field="enabled", value="1")
    assert {e.outcome for e in live.deliver("GBL-4")} == {Outcome.DONE}


def test_global_dry_run_is_explained_on_the_page(admin: FlaskClient) -> None:
    page = admin.get("/admin/rules").get_data(as_text=True)
    assert "Global dry run is on" in page
    assert "dry run · global" in page


def test_rules_json_is_stable_for_scripts(admin: FlaskClient) -> None:
    rule = next(r for r in admin.get("/admin/rules.json").json if r["name"] == RULE)
    assert rule["file"] == {"enabled": True, "dry_run": False}
    assert rule["trackers"] == ["jira", "linear"] and rule["teams"] == []
    assert rule["source"] == "team.yml" and rule["line"] == 3


def test_rules_page_on_a_fresh_app_has_no_overrides(db_url: str) -> None:
    client = create_app(base_env(db_url)).test_client()
    login(client)
    assert all(r["override"] == {} for r in client.get("/admin/rules.json").json)


def test_go_live_override_wins_over_a_dry_run_rule_file(
    db_url: str, tmp_path: Path, make_services: MakeServices, jira_stub: JiraStub
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    text = (RULES_DIR / "team.yml").read_text()
    (rules / "team.yml").write_text(
        text.replace(
            "    on: [created, updated, comment_created]\n",
            "    on: [created, updated, comment_created]\n    dry_run: true\n",
            1,
        )
    )
    live = start_live(make_services, db_url, jira_stub, rules)
    page = live.admin.get("/admin/rules").get_data(as_text=True)
    assert "dry run · rule file" in page
    assert {e.outcome for e in live.deliver("GBL-5")} == {Outcome.WOULD_DO}
    post(live.admin, f"/admin/rules/{RULE}/override", field="dry_run", value="0")
    assert {e.outcome for e in live.deliver("GBL-6")} == {Outcome.DONE}
    assert ("add_labels", "GBL-6", ("needs-owner",)) in live.tracker.writes()
    live.services.store.engine.dispose()


def test_rule_statistics_on_both_databases(any_store: Store) -> None:
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    any_store.audit.record(
        [
            AuditEntry(
                at=now - timedelta(days=d),
                tracker="jira",
                action="comment",
                outcome=Outcome.DONE,
                reason="r",
                rule=rule,
            )
            for d, rule in ((0, "a"), (3, "a"), (9, "a"), (2, "b"), (1, None))
        ]
    )
    stats = rule_stats(any_store, ["a", "b", "c"], now - timedelta(days=7))
    assert stats == {
        "a": RuleStats(2, now),
        "b": RuleStats(1, now - timedelta(days=2)),
        "c": RuleStats(0, None),
    }
