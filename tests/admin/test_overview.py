"""Overview and Setup: connections, the credential test, queue health, rule errors, webhook setup."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import redis as redis_lib
import responses
from flask import Flask
from flask.testing import FlaskClient
from rq import Queue, SimpleWorker

from integration.app import create_app
from integration.queue import QUEUE_NAME
from integration.runner import EmbeddedRunner
from tests.admin.helpers import (
    JIRA_SECRET,
    JIRA_TOKEN,
    JIRA_URL,
    LINEAR_KEY,
    RULES_DIR,
    base_env,
    captured_jira_request,
    jira_payload,
    login,
    post,
)

JIRA_ENV = {"JIRA_URL": JIRA_URL, "JIRA_USER": "bot@example.com", "JIRA_API_TOKEN": JIRA_TOKEN}


def logged_in(env: dict[str, str]) -> FlaskClient:
    client = create_app(env).test_client()
    assert login(client, env["ADMIN_PASSWORD"]).status_code == 302
    return client


def test_overview_shows_mode_trackers_and_rule_files(admin: FlaskClient) -> None:
    page = admin.get("/admin/").get_data(as_text=True)
    assert "Dry run" in page and "FLOWKEEPER_DRY_RUN is on" in page
    assert page.count("not configured") == 2
    assert "none received yet" in page and "never — run <code>flowkeeper sync</code>" in page
    assert "All rule files loaded without errors." in page and "team.yml" in page
    assert "Embedded queue" in page


def test_last_webhook_and_its_outcome(app: Flask, admin: FlaskClient) -> None:
    body, headers = captured_jira_request(jira_payload("GBL-7"), delivery="delivery-7", secret=JIRA_SECRET)
    app.test_client().post("/webhooks/jira", data=body, headers=headers)
    tracker = admin.get("/admin/overview.json").json["trackers"][0]
    assert tracker["name"] == "jira"
    assert tracker["last_delivery"]["state"] == "pending" and tracker["last_delivery"]["item_key"] == "GBL-7"
    EmbeddedRunner(app.extensions["flowkeeper"].services).run_pending()
    tracker = admin.get("/admin/overview.json").json["trackers"][0]
    assert tracker["last_delivery"]["state"] == "done"
    assert "started-without-assignee:add_labels:would_do" in tracker["last_delivery"]["outcome"]
    assert admin.get("/admin/overview.json").json["queue"]["deliveries"] == {"done": 1}


def test_a_broken_rule_file_shows_its_errors_while_the_last_good_set_runs(
    db_url: str, tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules)
    app = create_app(base_env(db_url, RULES_DIR=str(rules)))
    client = app.test_client()
    login(client)
    source = app.extensions["flowkeeper"].services.rules
    source.check_every = 0
    (rules / "broken.yml").write_text(
        "version: 1\nrules:\n  - name: oops\n    when: {status.category: doing}\n"
    )
    facts = client.get("/admin/overview.json").json["rules"]
    assert facts["rules"] == 2  # the last good set keeps running
    assert facts["errors"] and all(e.startswith(str(rules / "broken.yml") + ":") for e in facts["errors"])
    page = client.get("/admin/").get_data(as_text=True)
    assert "The last reload failed" in page and "broken.yml:" in page
    banner = page.index('id="rules-reload-failed"')
    assert banner < page.index('class="summary"')  # at the top, above the cards, not below the fold
    assert '<div class="stat stat-bad" id="rules-card">' in page
    assert "reload failed: running the last good set" in page


def test_a_healthy_rule_set_has_no_banner_and_a_plain_rules_card(db_url: str) -> None:
    client = create_app(base_env(db_url, RULES_DIR=str(RULES_DIR))).test_client()
    login(client)
    page = client.get("/admin/").get_data(as_text=True)
    assert 'id="rules-reload-failed"' not in page and '<div class="stat " id="rules-card">' in page


@responses.activate
def test_test_button_calls_myself_and_records_the_account(db_url: str) -> None:
    responses.get(
        f"{JIRA_URL}/rest/api/3/myself",
        json={"accountId": "acc-1", "displayName": "Flowkeeper Bot", "accountType": "atlassian"},
    )
    client = logged_in(base_env(db_url, **JIRA_ENV))
    response = post(client, "/admin/connections/jira/test")
    assert response.status_code == 302
    page = client.get("/admin/").get_data(as_text=True)
    assert "Jira: connected as Flowkeeper Bot." in page
    assert "signed in as Flowkeeper Bot" in page
    post(client, "/admin/connections/jira/test")
    assert len(responses.calls) == 2  # a fresh client each time: nothing cached answers


@responses.activate
def test_failed_test_shows_the_error_without_the_token(db_url: str) -> None:
    responses.get(
        f"{JIRA_URL}/rest/api/3/myself",
        status=401,
        json={"errorMessages": [f"Client must be authenticated (token {JIRA_TOKEN} rejected)"]},
    )
    client = logged_in(base_env(db_url, **JIRA_ENV))
    post(client, "/admin/connections/jira/test")
    page = client.get("/admin/").get_data(as_text=True)
    assert "the credentials did not work" in page
    assert JIRA_TOKEN not in page
    assert client.get("/admin/overview.json").json["trackers"][0]["last_test"]["ok"] is False


@responses.activate
def test_linear_test_button_asks_for_the_viewer(db_url: str) -> None:
    responses.post(
        "https://api.linear.app/graphql",
        json={
            "data": {
                "viewer": {
                    "id": "user-1",
                    "name": "flowkeeper",
                    "displayName": "Flowkeeper",
                    "organization": {"id": "org-1", "name": "Acme", "urlKey": "acme"},
                }
            }
        },
    )
    client = logged_in(base_env(db_url, LINEAR_API_KEY=LINEAR_KEY))
    post(client, "/admin/connections/linear/test")
    assert "Linear: connected as Flowkeeper." in client.get("/admin/").get_data(as_text=True)
    assert b"viewer" in responses.calls[0].request.body


def test_test_button_for_an_unconfigured_tracker(admin: FlaskClient) -> None:
    post(admin, "/admin/connections/linear/test")
    assert "Linear is not configured." in admin.get("/admin/").get_data(as_text=True)
    assert post(admin, "/admin/connections/github/test").status_code == 404


def test_queue_health_from_rq_registries_and_heartbeats(db_url: str, redis_url: str) -> None:
    connection = redis_lib.Redis.from_url(redis_url)
    Queue(QUEUE_NAME, connection=connection).enqueue("builtins.print", "waiting")
    worker = SimpleWorker([QUEUE_NAME], connection=connection, name="worker-overview")
    worker.register_birth()
    try:
        client = logged_in(base_env(db_url, REDIS_URL=redis_url))
        queue = client.get("/admin/overview.json").json["queue"]
        assert queue["backend"] == "redis"
        assert {
            "name": QUEUE_NAME,
            "queued": 1,
            "started": 0,
            "failed": 0,
            "scheduled": 0,
            "deferred": 0,
        } in queue["queues"]
        assert [h["name"] for h in queue["heartbeats"] if h["kind"] == "worker"] == ["worker-overview"]
        page = client.get("/admin/").get_data(as_text=True)
        assert "worker-overview" in page and "RQ on Redis" in page
    finally:
        worker.register_death()


def test_no_worker_running_is_called_out(db_url: str, redis_url: str) -> None:
    client = logged_in(base_env(db_url, REDIS_URL=redis_url))
    assert "No worker or scheduler is running" in client.get("/admin/").get_data(as_text=True)


def scheduler_line(client: FlaskClient) -> str:
    page = client.get("/admin/").get_data(as_text=True)
    found = re.search(r'<p id="scheduler-status"[^>]*>(.*?)</p>', page, re.S)
    assert found is not None, page
    return " ".join(re.sub(r"<[^>]+>", "", found.group(1)).split())


def test_the_scheduler_line_says_why_nothing_is_swept_without_credentials(db_url: str) -> None:
    line = scheduler_line(logged_in(base_env(db_url)))
    assert line.startswith("Sweeps: No sweeps are scheduled: no tracker has credentials"), line
    assert "No sweep has run yet." in line


def test_the_scheduler_line_says_what_the_in_process_clock_does_and_the_last_sweep(db_url: str) -> None:
    client = logged_in(base_env(db_url, **JIRA_ENV))
    line = scheduler_line(client)
    assert ("The clock inside this process checks for due sweeps every 30 s: 1 sweep scheduled "
            "(stalled-in-progress on jira every 30 minutes).") in line, line
    runs = client.application.extensions["flowkeeper"].services.store.sweep_runs
    started = datetime.now(UTC)
    runs.create("run-1", "stalled-in-progress", "jira", "embedded", started, {}, False)
    assert "Sweeping stalled-in-progress on jira now (planning, 0 candidates so far" in scheduler_line(client)
    runs.move(runs.get("run-1"), "done", started, reason="nothing to write (4 candidates)", finished=True)
    line = scheduler_line(client)
    assert re.search(r"Last sweep: stalled-in-progress on jira, \d+ s ago — done: nothing to write \(4 candidates\)\.",
                     line), line


def test_with_redis_and_no_clock_the_scheduler_line_says_nothing_is_swept(db_url: str, redis_url: str) -> None:
    line = scheduler_line(logged_in(base_env(db_url, REDIS_URL=redis_url, **JIRA_ENV)))
    assert "No clock is running, so nothing is swept: start one `flowkeeper cron`" in line, line


def test_warnings_for_risky_configuration(db_url: str) -> None:
    env = base_env(db_url, ADMIN_PASSWORD="short", FLOWKEEPER_ALLOW_UNSIGNED="1", **JIRA_ENV)
    env.pop("SECRET_KEY")
    env.pop("JIRA_WEBHOOK_SECRET")
    warnings = logged_in(env).get("/admin/overview.json").json["warnings"]
    assert any(w.startswith("SECRET_KEY is not set") for w in warnings)
    assert any(w.startswith("ADMIN_PASSWORD is shorter") for w in warnings)
    assert any(w.startswith("FLOWKEEPER_ALLOW_UNSIGNED=1") for w in warnings)


def test_linear_webhooks_without_a_key_say_what_a_key_would_add(db_url: str) -> None:
    env = base_env(db_url, LINEAR_WEBHOOK_SECRET="lin_wh_secret")
    env.pop("LINEAR_API_KEY", None)
    page = logged_in(env).get("/admin/").get_data(as_text=True)
    assert "LINEAR_API_KEY is not set: Flowkeeper mirrors what they carry" in page
    assert "A key adds blocking relations" in page


def test_last_sync_time_comes_from_sync_or_reconcile(app: Flask, admin: FlaskClient) -> None:
    store = app.extensions["flowkeeper"].services.store
    synced, reconciled = datetime(2026, 11, 20, 8, 0, tzinfo=UTC), datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    store.service.put("linear.sync.last", {"at": synced.isoformat(), "items": 120}, synced)
    store.service.put("linear.reconcile.last", {"at": reconciled.isoformat(), "items": 3}, reconciled)
    facts = admin.get("/admin/overview.json").json
    trackers = {t["name"]: t for t in facts["trackers"]}
    assert trackers["linear"]["last_sync"] == reconciled.isoformat() and trackers["jira"]["last_sync"] is None
    assert facts["mirror"]["last_sync"] == reconciled.isoformat()


def test_setup_shows_webhook_urls_events_and_whether_secrets_are_set(db_url: str) -> None:
    client = logged_in(base_env(db_url, FLOWKEEPER_BASE_URL="https://fk.example.com", **JIRA_ENV))
    page = client.get("/admin/setup").get_data(as_text=True)
    assert "https://fk.example.com/webhooks/jira" in page and "https://fk.example.com/webhooks/linear" in page
    assert "Issue: created" in page and "Comment: created" in page and "Issue labels" in page
    rows = dict(re.findall(r"<code>(\w+)</code></td><td>[^<]*</td>\s*<td><span class=\"\w+\">([^<]+)<", page))
    assert rows["JIRA_API_TOKEN"] == "set" and rows["LINEAR_API_KEY"] == "not set"
    assert JIRA_TOKEN not in page and JIRA_SECRET not in page


def test_setup_without_a_public_url_uses_this_pages_address(admin: FlaskClient) -> None:
    page = admin.get("/admin/setup").get_data(as_text=True)
    assert '<code class="copy">http://localhost/webhooks/jira</code>' in page
    assert "set <code>FLOWKEEPER_BASE_URL</code>" in page
