"""The embedded receiver under a locked SQLite file and a full disk: a fast 503, and /healthz says why."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from integration import health
from integration.app import create_app
from integration.store.migrate import upgrade
from tests.foundation.helpers import JIRA_SECRET, MINIMAL_RULES, fixture, jira_request

JIRA_UPDATED = "jira_issue_updated.status_change.cloud-2024.json"


@pytest.fixture
def embedded_env(tmp_path: Path) -> dict[str, str]:
    upgrade(f"sqlite:///{tmp_path / 'fk.sqlite'}")  # as `flowkeeper serve` does before it listens
    return {"DATABASE_URL": f"sqlite:///{tmp_path / 'fk.sqlite'}", "REDIS_URL": "",
            "JIRA_WEBHOOK_SECRET": JIRA_SECRET, "RULES_DIR": str(MINIMAL_RULES)}


def test_a_locked_database_is_a_503_within_seconds_not_the_30_s_busy_wait(embedded_env: dict[str, str],
                                                                          tmp_path: Path) -> None:
    client = create_app(embedded_env).test_client()
    other = sqlite3.connect(tmp_path / "fk.sqlite", isolation_level=None)  # another process's writer
    other.execute("BEGIN IMMEDIATE")
    try:
        body, headers = jira_request(fixture("jira", JIRA_UPDATED), delivery="busy-1")
        started = time.monotonic()
        response = client.post("/webhooks/jira", data=body, headers=headers)
        took = time.monotonic() - started
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert (response.status_code, response.json["status"]) == (503, "unavailable")
    assert took < 4.5, f"answered after {took:.1f} s; Linear gives up after 5 s"
    again = client.post("/webhooks/jira", data=body, headers=headers)  # the tracker's retry
    assert (again.status_code, again.json["status"]) == (200, "queued")


def test_health_reports_a_full_disk(embedded_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    client = create_app(embedded_env).test_client()
    ok = client.get("/healthz")
    assert ok.status_code == 200 and ok.json["disk"] == "ok"
    monkeypatch.setattr(health, "free_bytes", lambda folder: 3 * 1024 * 1024)
    full = client.get("/healthz")
    assert full.status_code == 503 and full.json["status"] == "unavailable"
    assert full.json["disk"].startswith("full (3 MB free")


def test_postgres_health_has_no_disk_line() -> None:
    assert health.disk_check("postgresql+psycopg://u@127.0.0.1:5432/db") is None
