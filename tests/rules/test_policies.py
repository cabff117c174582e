"""The policies a team can adopt (examples/policies, rules/packs) load, and their own tests pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.loader import builtin_pack_paths, load_ruleset
from rules.ruletests import run_tests

POLICIES = sorted((Path(__file__).resolve().parents[2] / "examples" / "policies").glob("*.yml"))


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_policy_file_passes_its_tests_and_stays_in_dry_run(path: Path) -> None:
    ruleset = load_ruleset([path])
    results = run_tests(ruleset)
    assert results, f"{path.name} carries no tests"
    assert [r.title + "\n" + r.detail for r in results if not r.passed] == []
    assert all(rule.dry_run for rule in ruleset.rules), "opt-in policies ship in dry run"


def test_policies_load_beside_the_builtin_packs() -> None:
    names = [r.name for r in load_ruleset([*builtin_pack_paths(), *POLICIES]).rules]
    assert {"stale", "assign-on-start", "auto-close-unstarted", "reopen-on-reply"} <= set(names)
