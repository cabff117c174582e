"""The embedded default's in-process clock, and the `sweep`, `sync` and `held` commands."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest

from integration.clock.embedded import EmbeddedScheduler
from integration.services import utcnow
from integration.settings_sweeps import SweepSettings
from integration.store.audit import AuditFilter
from integration.sweeps.cli import main
from tests.sweeps.world import World, add_stalled, stalled_rules

RULES = stalled_rules("schedule: every 30 minutes", "trackers: [jira]")



def test_embedded_scheduler_runs_due_sweeps_in_process(make_world: Callable[..., World]) -> None:
    world = make_world("jira", rules=RULES, now=utcnow())
    add_stalled(world, 3, "Fix thing {n}")
    settings = SweepSettings(reconcile_every=timedelta(hours=6))
    clock = EmbeddedScheduler(world.services, settings, clock=world.clock)

    done = clock.tick()
    assert any("started" in d for d in done) and any("reconcile" in d for d in done)
    assert world.site.writes == 6
    assert clock.tick() == []  # neither the sweep nor the reconcile is due again yet
    world.later(minutes=31)
    assert any("started" in d for d in clock.tick())  # the next half hour: a run, with nothing left to write
    assert world.site.writes == 6 and len(world.services.store.sweep_runs.recent()) == 2


def test_embedded_scheduler_thread_starts_and_stops(make_world: Callable[..., World]) -> None:
    world = make_world("jira", rules=RULES, now=utcnow())
    add_stalled(world, 1, "Fix thing {n}")
    clock = EmbeddedScheduler(world.services, SweepSettings(reconcile_every=None), poll_seconds=0.05)
    clock.start()
    deadline = time.monotonic() + 20
    while world.site.writes < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    clock.stop(timeout=10)
    assert world.site.writes == 2 and clock._thread is not None and not clock._thread.is_alive()


def test_the_in_process_clock_says_at_start_up_why_it_registered_no_sweeps(
        make_world: Callable[..., World], caplog: pytest.LogCaptureFixture) -> None:
    world = make_world("jira", rules=RULES.replace("on: [schedule]", "on: [updated]"), now=utcnow())
    clock = EmbeddedScheduler(world.services, SweepSettings(reconcile_every=None), poll_seconds=60)
    with caplog.at_level("WARNING", logger="flowkeeper.sweeps.embedded"):
        clock.start()
        clock.stop(timeout=10)
    assert "the in-process clock registered no sweeps: no rule has the `schedule` trigger" in caplog.text


@pytest.fixture
def cli_env(make_world: Callable[..., World], monkeypatch: pytest.MonkeyPatch, db_url: str) -> World:
    world = make_world("jira", rules=RULES, now=utcnow())
    for name, value in {"DATABASE_URL": db_url, "RULES_DIR": str(world.services.settings.rules_dir),
                        "JIRA_URL": "https://acme.atlassian.net", "JIRA_USER": "flowkeeper@example.com",
                        "JIRA_API_TOKEN": "jira-token", "FLOWKEEPER_DRY_RUN": "0",
                        "FLOWKEEPER_BLAST_RADIUS_ITEMS": "1", "FLOWKEEPER_BLAST_RADIUS_SHARE": "0"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("REDIS_URL", raising=False)
    return world


def test_sweep_command_dry_run_then_hold_then_approve(cli_env: World, capsys: pytest.CaptureFixture[str]) -> None:
    world = cli_env
    add_stalled(world, 2, "Fix thing {n}")
    assert main(["sweep", "stalled", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would change (dry run) 2" in out and "would be held for approval" in out
    assert world.site.writes == 0
    listing = out[out.index("stalled would write (dry run) on 2 items:"):]  # each item and each write it would make
    assert "  ENG-1  Fix thing 1\n      add_labels stalled\n      comment: ENG-1 has stalled.\n" in listing
    assert "  ENG-2  Fix thing 2\n      add_labels stalled\n      comment: ENG-2 has stalled.\n" in listing

    assert main(["sweep", "stalled"]) == 0
    assert "held for approval" in capsys.readouterr().out and world.site.writes == 0
    assert main(["held", "list"]) == 0
    listing = capsys.readouterr().out
    assert "#1 pending · stalled on jira · 2 items" in listing
    assert main(["held", "show", "1"]) == 0
    assert "ENG-1\theld\tadd_labels stalled; comment" in capsys.readouterr().out

    assert main(["held", "approve", "1", "--by", "ops@example.com"]) == 0
    approved = capsys.readouterr().out
    assert "  1/2 ENG-1: written\n  2/2 ENG-2: written\n" in approved  # progress as each item is applied
    assert "batch 1: 2 items written" in approved
    assert world.site.writes == 4
    assert main(["held", "discard", "1"]) == 1  # already decided
    assert "not waiting for a decision" in capsys.readouterr().err
    decided = world.services.store.audit.page(AuditFilter(rule="stalled"))
    assert any("approved by ops@example.com" in e.reason for e in decided)


def test_a_live_sweep_lists_each_write_with_its_result(cli_env: World, capsys: pytest.CaptureFixture[str]) -> None:
    add_stalled(cli_env, 1, "Fix thing {n}")  # one item: under the blast-radius limit, so written at once
    assert main(["sweep", "stalled"]) == 0
    out = capsys.readouterr().out
    assert ("  stalled wrote on 1 item:\n  ENG-1  Fix thing 1\n      add_labels stalled — written\n"
            "      comment: ENG-1 has stalled. — written\n") in out
    assert cli_env.site.writes == 2
    assert main(["sweep", "stalled"]) == 0  # nothing left to write: nothing listed
    assert "wrote on" not in capsys.readouterr().out and cli_env.site.writes == 2


def test_sync_command_prints_what_it_did(cli_env: World, capsys: pytest.CaptureFixture[str]) -> None:
    add_stalled(cli_env, 3, "Fix thing {n}")
    assert main(["sync"]) == 0
    out = capsys.readouterr().out
    assert "jira sync: 3 items (3 new to the mirror)" in out
    assert cli_env.services.store.service.get("jira.sync.last")["items"] == 3
    assert main(["sync", "--tracker", "linear"]) == 2
    assert "linear is not configured" in capsys.readouterr().err


def test_sync_progress_is_a_line_on_a_terminal_and_silent_in_a_log() -> None:
    import io

    from integration.sweeps.cli import ProgressLine

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal, log = Terminal(), io.StringIO()
    for stream in (terminal, log):
        progress = ProgressLine("jira", stream)
        progress(100, 1)
        progress(250, 3)
        progress.done()
    assert terminal.getvalue().startswith("\rjira [█") and "250 items, 3 pages" in terminal.getvalue()
    assert terminal.getvalue().endswith("\n") and log.getvalue() == ""
