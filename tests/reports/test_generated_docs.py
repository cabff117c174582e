"""The digest file and sweep settings references are generated from the code and kept up to date."""

from __future__ import annotations

import ast
import json
from dataclasses import fields

import yaml

from integration import reference
from integration.reports.digest_config import parse_digests
from integration.settings_sweeps import SWEEP_VARIABLES, SweepSettings


def test_the_generated_references_are_up_to_date() -> None:
    assert reference.stale() == [], "stale: run `python -m integration.reference --write`"


def test_every_sweep_variable_read_is_in_the_reference_with_a_real_default() -> None:
    source = (reference.ROOT / "integration" / "settings_sweeps.py").read_text(encoding="utf-8")
    read = {node.value for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and node.value.startswith("FLOWKEEPER_") and " " not in node.value}
    assert read == {name for name, _field, _meaning in SWEEP_VARIABLES}
    assert {f for _name, f, _meaning in SWEEP_VARIABLES} <= {f.name for f in fields(SweepSettings)}
    doc = reference.SWEEPS_DOC.read_text(encoding="utf-8")
    assert "| `FLOWKEEPER_BLAST_RADIUS_SHARE` | `10%` |" in doc and "| `sweep.order` |" in doc


def test_the_digest_reference_example_loads_and_the_published_schema_is_the_one_the_loader_uses() -> None:
    doc = reference.DIGESTS_DOC.read_text(encoding="utf-8")
    example = doc[doc.index("```yaml\n") + 8:doc.rindex("```")]
    specs = parse_digests(example, "docs/digests.md")
    assert [s.name for s in specs] == ["jira:ENG", "linear:APP"]
    assert yaml.safe_load(example) == json.loads(reference.DIGEST_SCHEMA_PATH.read_text())["examples"][0]
    for key in ("team", "tracker", "schedule", "wip_limit", "post.comment_on", "post.file", "post.webhook"):
        assert f"| `{key}` |" in doc
