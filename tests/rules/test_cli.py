"""The rules CLI: check, test, explain, schema, simulate — as a rule author runs them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from integration.cli import main as flowkeeper
from rules.cli import main, register
from rules.loader import builtin_pack_paths, load_ruleset
from tests.rules.helpers import write_rules

FIXTURES = Path(__file__).parents[1] / "fixtures" / "rules"
NOW = "2026-03-13T12:00:00Z"


def test_builtin_packs_check_and_their_tests_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert len(builtin_pack_paths()) >= 3
    assert main(["check"]) == 0
    assert capsys.readouterr().out.startswith("ok: 8 rules in 3 files")
    assert main(["test"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.endswith(" passed, 0 failed") and int(last.split()[0]) >= 8


def test_builtin_packs_cover_the_promised_processes_in_dry_run() -> None:
    rs = load_ruleset(builtin_pack_paths())
    names = {r.name for r in rs.rules}
    assert names == {"stalled-in-progress", "stalled-in-review", "started-without-assignee",
                     "started-without-estimate", "bug-without-priority", "title-conventions",
                     "wip-limit-per-person", "blocked-in-progress"}
    assert all(r.dry_run for r in rs.rules)
    assert all(len(r.description) > 80 for r in rs.rules)
    assert all(" " not in label for r in rs.rules for label in r.labels_written)


def test_check_reports_errors_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_rules(tmp_path, "version: 1\nrules:\n  - name: x\n")
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:3:5: rule 'x' › missing required key 'description'" in err
    assert err.strip().endswith("error") or err.strip().endswith("errors")


def test_check_uses_rules_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    write_rules(tmp_path, "version: 1\nrules: []\n", "team.yml")
    monkeypatch.setenv("RULES_DIR", str(tmp_path))
    assert flowkeeper(["rules", "check"]) == 0
    assert "ok: 0 rules in 1 files" in capsys.readouterr().out


def test_a_rules_dir_that_is_not_a_folder_is_named(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RULES_DIR", "/no/such/folder")
    with pytest.raises(SystemExit) as stopped:
        flowkeeper(["rules", "check"])
    assert stopped.value.code == 2 and "RULES_DIR must be a folder" in capsys.readouterr().err


def test_the_standalone_form_checks_the_built_in_packs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 0
    assert f"in {len(list(builtin_pack_paths()))} files" in capsys.readouterr().out


def test_check_online_needs_the_trackers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--online"]) == 2
    assert "needs the tracker connections" in capsys.readouterr().err


def test_failing_rule_test_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_rules(tmp_path, """
        version: 1
        rules:
          - name: needs-estimate
            description: Stories need estimates.
            on: [created]
            when: { estimate: { missing: true } }
            then: [ { add_labels: [needs-estimate] } ]
        tests:
          - name: wrong expectation
            now: "2026-03-13T12:00:00Z"
            item: { key: ENG-1 }
            event: { kind: created }
            expect: []
          - name: right expectation
            now: "2026-03-13T12:00:00Z"
            item: { key: ENG-1 }
            event: { kind: created }
            expect: [ { rule: needs-estimate, kind: add_labels, labels: [needs-estimate] } ]
    """)
    assert main(["test", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"FAIL {path}:9: wrong expectation" in out
    assert "unexpected needs-estimate add_labels ['needs-estimate']" in out
    assert out.strip().splitlines()[-1] == "1 passed, 1 failed"


def test_explain_one_rule(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["explain", "stalled-in-progress", "--item", str(FIXTURES / "item_stalled.json"), "--now", NOW])
    assert code == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("✅ stalled-in-progress [dry run] — Work in progress")
    assert "   ✅ status.category: in_progress (expected equals in_progress)" in out
    assert ("   ✅ last_activity: 2026-03-02 09:00 UTC (expected older than 5 business days "
            "(before 2026-03-06 12:00 UTC))") in out
    assert "   → add labels stalled (dry run) [episode 1, step 0]" in out


def test_explain_all_shows_failures(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ctx = tmp_path / "ctx.json"
    ctx.write_text(json.dumps({"wip_by_assignee": {"u1": 2}}))
    assert main(["explain", "--all", "--item", str(FIXTURES / "item_stalled.json"), "--now", NOW,
                 "--context", str(ctx)]) == 0
    out = capsys.readouterr().out
    assert "❌ started-without-assignee [dry run] — Work in progress has an owner." in out
    assert "      ❌ assignee: Ada (expected missing)" in out
    assert "      ❌ assignee.wip: 2 (expected gt 3)" in out
    assert "→ no action: not triggered by 'schedule' (on: status_changed)" in out


def test_explain_unknown_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "nope", "--item", str(FIXTURES / "item_stalled.json")]) == 2
    assert "no rule named 'nope'" in capsys.readouterr().err


def test_schema_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "Flowkeeper rule file" and "flag" in schema["$defs"]["action"]["properties"]


def test_simulate_counts_writes_per_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--items", str(FIXTURES / "items.jsonl"), "--now", NOW]) == 0
    out = capsys.readouterr().out
    assert out.startswith("judged 3 items against 8 rules\n")  # every item of the file, acted on or not
    assert "stalled-in-progress: 2 items — 2 add labels, 1 comment, 1 remove labels" in out
    assert "started-without-assignee: 1 item — 1 add labels, 1 comment" in out
    assert "    + stalled: 1" in out and "    - stalled: 1" in out and "e.g. ENG-1, ENG-3" in out


def test_register_nests_under_rules(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="flowkeeper")
    sub = parser.add_subparsers(dest="command")
    register(sub, online=lambda rs: [f"status 'In Review' not found ({len(rs.rules)} rules)"])
    args = parser.parse_args(["rules", "check", "--online"])
    assert args.func(args) == 1
    assert "status 'In Review' not found (8 rules)" in capsys.readouterr().err


def test_check_online_says_ok_only_when_it_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="flowkeeper")
    sub = parser.add_subparsers(dest="command")
    register(sub, online=lambda rs: [])
    args = parser.parse_args(["rules", "check", "--online"])
    assert args.func(args) == 0
    assert capsys.readouterr().out.startswith("ok: 8 rules in 3 files; the names they use exist")
    failing = argparse.ArgumentParser(prog="flowkeeper")
    register(failing.add_subparsers(dest="command"), online=lambda rs: ["status 'X' missing"])
    args = failing.parse_args(["rules", "check", "--online"])
    assert args.func(args) == 1
    out = capsys.readouterr().out
    assert "ok" not in out.split() and out.startswith("FAIL: 8 rules in 3 files are valid, but 1 problem found")
