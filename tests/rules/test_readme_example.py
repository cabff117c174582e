"""The rule file shown in the README is valid and its own test passes: the docs cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rules.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_rule_example_checks_and_passes_its_tests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    block = re.search(r"```yaml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert block is not None, "the README shows a rule file"
    (tmp_path / "example.yml").write_text(block.group(1), encoding="utf-8")
    assert main(["check", str(tmp_path)]) == 0
    assert main(["test", str(tmp_path)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("1 passed, 0 failed")
