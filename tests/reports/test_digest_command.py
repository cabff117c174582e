"""`flowkeeper digest` and the clock's digest job, end to end on a store and a digest file."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from integration.reports.cli import register
from integration.reports.jobs import deliver_due_digests
from integration.store.audit import AuditFilter
from integration.store.store import Store
from tests.reports.builder import Builder, day


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="flowkeeper")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


@pytest.fixture
def env(store: Store, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    Builder(store).item("ENG-1", -3, [(-2, "In Progress")], assignee="ann")
    digests = tmp_path / "digests.yml"
    digests.write_text(f"digests:\n  - team: ENG\n    schedule: '0 8 * * 1'\n"
                       f"    post: {{file: '{tmp_path}/out/{{team}}.md'}}\n", encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("FLOWKEEPER_DIGESTS", str(digests))
    monkeypatch.setenv("FLOWKEEPER_DIGEST_ALLOW", str(tmp_path / "out"))
    return tmp_path


def test_digest_prints_without_posting(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["digest", "--team", "OPS"]) == 0
    out = capsys.readouterr().out
    assert "**Flowkeeper weekly digest — OPS**" in out and "**WIP: 0 in progress**" in out
    assert not (env / "out").exists()


def test_digest_post_is_dry_run_by_default(env: Path, store: Store,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["digest", "--post"]) == 0
    assert "ENG → file" in capsys.readouterr().out
    assert not (env / "out" / "ENG.md").exists()
    [entry] = store.audit.page(AuditFilter(rule="digest:ENG"))
    assert entry.outcome.value == "would_do" and entry.action == "digest_file"


def test_the_clock_job_delivers_a_due_digest_once(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWKEEPER_DRY_RUN", "0")
    monday = day(14).replace(hour=8, minute=30)  # half an hour after the weekly tick
    first = deliver_due_digests(monday)
    second = deliver_due_digests(monday.replace(hour=9))
    assert "done — wrote the digest" in first
    assert "skipped — already delivered for this period" in second
    assert deliver_due_digests(day(15)) == "no digest due"  # Tuesday: the tick is 16 hours old
    assert "**WIP: 1 in progress**" in (env / "out" / "ENG.md").read_text(encoding="utf-8")


def test_a_broken_digest_file_is_reported(env: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    (env / "digests.yml").write_text("digests: [{team: ENG, schedule: sometimes}]", encoding="utf-8")
    assert _run(["digest", "--post"]) == 2
    assert "digests[0].schedule: not a cron expression: 'sometimes'" in capsys.readouterr().err
