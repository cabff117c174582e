"""The service as an operator runs it: real gunicorn, a real `flowkeeper worker`, the stub tracker, Redis.

And as a newcomer runs it: `flowkeeper serve` on the embedded default, `send-sample`, `replay`.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from integration.store.audit import AuditFilter
from integration.store.store import Store
from tests.foundation.helpers import (
    JIRA_SECRET,
    LINEAR_SECRET,
    MINIMAL_RULES,
    fixture,
    jira_request,
    linear_request,
)
from tests.processes import flowkeeper, free_port, process, stub_tracker, wait_http, wait_until
from tests.stub import Stub, jira_issue, linear_issue

pytestmark = pytest.mark.e2e


def unassigned_in_progress_jira() -> dict[str, Any]:
    payload = copy.deepcopy(fixture("jira", "jira_issue_created.cloud-2024.json"))
    payload["issue"]["fields"]["assignee"] = None
    payload["issue"]["fields"]["status"] = {"name": "In Progress", "id": "3",
                                            "statusCategory": {"key": "indeterminate", "name": "In Progress"}}
    return payload


@pytest.fixture
def stack(tmp_path: Path, redis_url: str) -> Iterator[dict[str, Any]]:
    """gunicorn + one worker + the stub tracker, all separate processes, live writes to the stub."""
    stub_port, web_port = free_port(), free_port()
    db_url = f"sqlite:///{tmp_path / 'flowkeeper.sqlite'}"
    env = {
        "DATABASE_URL": db_url, "REDIS_URL": redis_url, "RULES_DIR": str(MINIMAL_RULES),
        "JIRA_URL": f"http://127.0.0.1:{stub_port}", "JIRA_USER": "bot@acme.test", "JIRA_API_TOKEN": "tok-e2e",
        "JIRA_WEBHOOK_SECRET": JIRA_SECRET, "LINEAR_API_KEY": "lin_api_e2e",
        "LINEAR_API_URL": f"http://127.0.0.1:{stub_port}/graphql", "LINEAR_WEBHOOK_SECRET": LINEAR_SECRET,
        "FLOWKEEPER_DRY_RUN": "0", "WEB_CONCURRENCY": "2",
    }
    subprocess.run(flowkeeper("db", "upgrade"), env={**os.environ, **env}, check=True,
                   capture_output=True)
    with process(stub_tracker(stub_port), env, tmp_path / "stub.log") as stub_proc, \
         process(flowkeeper("serve", "--port", str(web_port), "--host", "127.0.0.1"), env,
                 tmp_path / "web.log") as web, \
         process(flowkeeper("worker"), env, tmp_path / "worker.log"):
        stub = Stub(f"http://127.0.0.1:{stub_port}")
        wait_http(f"{stub.url}/_stub/requests", proc=stub_proc)
        wait_http(f"http://127.0.0.1:{web_port}/healthz", proc=web)
        yield {"web": f"http://127.0.0.1:{web_port}", "stub": stub, "db": db_url, "logs": tmp_path}


def test_signed_jira_webhook_is_written_back_once_by_a_real_worker(stack: dict[str, Any]) -> None:
    stub: Stub = stack["stub"]
    stub.seed_jira(jira_issue("KAN-22"))
    body, headers = jira_request(unassigned_in_progress_jira(), delivery="e2e-1")
    first = requests.post(f"{stack['web']}/webhooks/jira", data=body, headers=headers, timeout=5)
    again = requests.post(f"{stack['web']}/webhooks/jira", data=body, headers=headers, timeout=5)
    assert (first.status_code, first.json()["status"]) == (200, "queued")
    assert again.json()["status"] == "duplicate"
    wait_until(lambda: stub.state()["jira_issues"]["KAN-22"]["fields"]["labels"] == ["needs-owner"])
    wait_until(lambda: len(stub.state()["jira_comments"].get("KAN-22", [])) == 1)
    store = Store.connect(stack["db"])
    wait_until(lambda: store.audit.count(AuditFilter(item_key="KAN-22", outcome="done")) == 2)
    # the job marks its delivery done just after it records the audit: wait for it, do not race it
    wait_until(lambda: store.deliveries.state_of("jira", "e2e-1") == "done")


def test_signed_linear_webhook_reaches_the_stub(stack: dict[str, Any]) -> None:
    stub: Stub = stack["stub"]
    stub.seed_linear([linear_issue("KOR-11", team_id="eeaa0cbd-xxxx-xxxx-xxxx-1c701c3485f1")])
    payload = copy.deepcopy(fixture("linear", "issue_update.state_change.2021.json"))
    payload["data"]["state"] = {"id": "s-started", "name": "In Progress", "color": "#fff", "type": "started"}
    payload["data"].pop("assignee", None)
    payload["data"]["assigneeId"] = None
    body, headers = linear_request(payload, delivery=str(uuid.uuid4()))
    response = requests.post(f"{stack['web']}/webhooks/linear", data=body, headers=headers, timeout=5)
    assert response.json()["status"] == "queued"
    store = Store.connect(stack["db"])
    wait_until(lambda: store.audit.count(AuditFilter(item_key="KOR-11")) > 0, timeout=30)
    decisions = {(e.action, e.outcome.value) for e in store.audit.page(AuditFilter(item_key="KOR-11"))}
    assert ("comment", "done") in decisions, decisions


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """`flowkeeper serve` exactly as the README runs it: no Redis, no credentials, dry run."""
    port = free_port()
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'fk.sqlite'}", "PORT": str(port), "REDIS_URL": "",
           "JIRA_WEBHOOK_SECRET": JIRA_SECRET, "LINEAR_WEBHOOK_SECRET": LINEAR_SECRET,
           "RULES_DIR": str(MINIMAL_RULES)}
    with process(flowkeeper("serve", "--host", "127.0.0.1"), env, tmp_path / "serve.log") as proc:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc=proc)
        yield {"url": f"http://127.0.0.1:{port}", "env": env, "db": env["DATABASE_URL"], "dir": tmp_path}


def test_embedded_default_serves_health_and_send_sample_lands_in_the_audit_log(embedded: dict[str, Any]) -> None:
    assert requests.get(f"{embedded['url']}/healthz", timeout=5).json()["status"] == "ok"
    sample = embedded["dir"] / "jira.json"
    sample.write_text(json.dumps(unassigned_in_progress_jira()), encoding="utf-8")
    env = {**os.environ, **embedded["env"]}
    sent = subprocess.run(flowkeeper("send-sample", "jira", str(sample)), env=env, capture_output=True, text=True)
    assert sent.returncode == 0 and '"queued"' in sent.stdout
    linear = subprocess.run(
        flowkeeper("send-sample", "linear", str(Path(__file__).parents[1] / "fixtures/linear/webhooks/"
                                                 "issue_create.cloud-2024.json")),
        env=env, capture_output=True, text=True)
    assert linear.returncode == 0, linear.stdout + linear.stderr
    store = Store.connect(embedded["db"])
    wait_until(lambda: store.audit.count(AuditFilter(item_key="KAN-22", outcome="would_do")) == 2)
    wait_until(lambda: store.deliveries.counts().get("done", 0) == 2)


def test_replay_prints_each_decision(tmp_path: Path) -> None:
    sample = tmp_path / "jira.json"
    sample.write_text(json.dumps(unassigned_in_progress_jira()), encoding="utf-8")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'r.sqlite'}", "REDIS_URL": "",
           "RULES_DIR": str(MINIMAL_RULES)}
    run = subprocess.run(flowkeeper("replay", str(sample)), env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "KAN-22" in run.stdout
    assert "[would_do] started-without-assignee comment" in run.stdout
    assert "[would_do] started-without-assignee add_labels" in run.stdout
