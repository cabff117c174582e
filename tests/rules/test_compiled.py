"""The fast paths agree with the reference paths: fused code, the schema pre-check, regexes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import re2
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.calendar import BusinessCalendar
from rules.codegen import fuse
from rules.compilectx import CompileCtx, SlotTable, compile_regex
from rules.engine import evaluate
from rules.fastschema import surely_valid
from rules.loader import builtin_pack_paths, load_ruleset
from rules.logic import compile_condition
from rules.model import (
    EvalContext,
    Item,
    Link,
    Person,
    Priority,
    SearchQuery,
    Status,
    StatusCategory,
    Tracker,
)
from rules.referenced_names import names_to_check
from rules.registry import Frame
from rules.schema import rule_file_schema
from rules.yamlpos import YamlProblem, load_yaml
from tests.rules.test_loader_errors import INVALID

NOW = datetime(2026, 3, 13, 12, tzinfo=UTC)
ROOT = Path(__file__).parents[2]
CONDITIONS = [
    {"status.category": "in_progress"}, {"status.category": {"not_in": ["done", "canceled"]}},
    {"status.name": {"matches": "(?i)review"}}, {"status.name": {"not_equals": "Done"}},
    {"title": {"not_matches": "^[A-Z][a-z]+ \\S"}}, {"title": {"contains": "LOGIN"}}, {"type": ["bug", "Task"]},
    {"labels": {"none_of": ["on-hold", "Blocked"]}}, {"labels": {"any_of": ["api"]}}, {"labels": "ux"},
    {"labels": {"all_of": ["api", "ux"]}}, {"labels": {"matches": "^sev[0-9]$"}}, {"labels": {"missing": True}},
    {"assignee": {"missing": True}}, {"assignee": {"in": ["ada@example.com", "u2"]}},
    {"assignee": {"not_in": ["Grace"]}}, {"estimate": {"gt": 3, "lte": 8}}, {"estimate": {"present": True}},
    {"priority": {"missing": True}}, {"priority.rank": {"in": [1, 2]}}, {"description": {"missing": False}},
    {"last_activity": {"older_than": "5 business days"}}, {"updated": {"newer_than": "36 hours"}},
    {"created": {"older_than": "2 weeks", "newer_than": "60 days"}}, {"due": {"missing": True}},
    {"updated": {"at_least": "36 hours"}}, {"created": {"older_than": "1 month"}},
    {"created": {"after": "2026-03-01", "before": "2026-03-12T00:00:00Z"}},
    {"any": [{"not": {"labels": {"any_of": ["api"]}}}, {"estimate": {"lt": 2}}]},
    {"blocked_by_open": True}, {"blocked_by_open": False},
]
people = st.sampled_from([None, Person("u1", "Ada", "ada@example.com"), Person("u2", "Grace"), Person("u3")])
times = st.one_of(st.none(), st.integers(0, 24 * 60).map(lambda h: NOW - timedelta(hours=h)))
links = st.lists(st.builds(Link, st.sampled_from(["blocked_by", "blocks"]), st.just("K-2"),
                          st.sampled_from([None, *StatusCategory])), max_size=2).map(tuple)
items = st.builds(
    lambda cat, name, title, labels, who, est, pri, t, desc, links: Item(
        Tracker.JIRA, "1", "K-1", title=title, type=name.split()[0], status=Status(name, cat), assignee=who,
        labels=labels, estimate=est, priority=pri, last_activity_at=t, updated_at=t, created_at=t, description=desc,
        links=links),
    st.sampled_from(list(StatusCategory)), st.sampled_from(["In Review", "Bug Done", "Task open", "Done"]),
    st.sampled_from(["Fix login", "login broken.", "", "Add export", "ÉTÉ ete"]),
    st.lists(st.sampled_from(["api", "ux", "on-hold", "BLOCKED", "sev1", "sev12"]), max_size=3, unique=True).map(tuple),
    people, st.one_of(st.none(), st.floats(0, 10)), st.sampled_from([None, Priority("High", 2), Priority("None")]),
    times, st.sampled_from([None, "", "text"]), links)


def _compiled() -> list[tuple[object, object]]:
    slots = SlotTable()
    out = []
    for cond in CONDITIONS:
        node = compile_condition(cond, "when", CompileCtx("t", BusinessCalendar(), slots))
        out.append((node.pred, fuse(node)))
    return [(slots, out)]  # type: ignore[list-item]


(SLOTS, PAIRS), = _compiled()
PACKS = load_ruleset(builtin_pack_paths())


@settings(max_examples=300, deadline=None)
@given(items)
def test_fused_code_agrees_with_the_reference_predicates(item: Item) -> None:
    frame = Frame(NOW, SLOTS.cutoffs(NOW), EvalContext())
    for cond, (reference, fused) in zip(CONDITIONS, PAIRS, strict=True):
        assert fused(item, None, frame) is reference(item, None, frame), cond


def test_schema_precheck_never_passes_an_invalid_file() -> None:
    root = rule_file_schema()
    checked = 0
    for _, text, _ in INVALID:
        try:
            data = load_yaml(text).data
        except YamlProblem:
            continue
        if not jsonschema.Draft202012Validator(root).is_valid(data):
            checked += 1
            assert not surely_valid(data, root), text
    assert checked >= 10
    for path in builtin_pack_paths():
        assert surely_valid(load_yaml(path.read_text(encoding="utf-8")).data, root)


def test_catastrophic_regex_is_linear_and_safe_ones_take_python() -> None:
    evil = compile_regex("(a+)+$")
    start = time.perf_counter()
    assert evil.search("a" * 50_000 + "b") is None
    assert time.perf_counter() - start < 0.5
    assert compile_regex("^[A-Z][a-z]+ \\S").search("Fix it")
    assert compile_regex("(?i)review").search("In REVIEW") and compile_regex("^(Add|Fix) ").search("Fix x")
    # long inputs go to RE2 with the same answer
    assert compile_regex("(?i)review").search("x" * 2000 + "Review")


RE2_PATTERNS = ["^(?:\\p{Lu}\\p{Ll}+ \\S|\\p{Lo})", "(a+)+$", "(?i)(ré|view)+", "\\p{Greek}", "^.{3}$", "(?i)review", "\\.$"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(RE2_PATTERNS), st.text(max_size=12), st.booleans())
def test_regexes_answer_as_re2_does_on_text(pattern: str, text: str, long: bool) -> None:
    """Whether a user's regex finds a match, on any text (long ones go to RE2 even for Python's twins)."""
    text = "x" * 600 + text if long else text
    assert (compile_regex(pattern).search(text) is None) == (re2.compile(pattern).search(text) is None)


def _admits(query: SearchQuery, item: Item) -> bool:
    """How a tracker would read the pushed-down query (flag labels always included)."""
    if set(query.always_include_labels) & set(item.labels):
        return True
    return ((not query.status_categories or item.status.category in query.status_categories)
            and (not query.labels_none_of or not set(query.labels_none_of) & set(item.labels))
            and (not query.labels_any_of or bool(set(query.labels_any_of) & set(item.labels)))
            and (query.updated_before is None or (item.updated_at is not None and item.updated_at <= query.updated_before)))


@settings(max_examples=200, deadline=None)
@given(items)
def test_pushdown_never_drops_an_item_a_rule_acts_on(item: Item) -> None:
    rs = PACKS
    plan = evaluate(rs, item, None, NOW, EvalContext())
    for rule in rs.rules:
        if any(a.rule == rule.name for a in plan.actions):
            assert _admits(rule.pushdown(NOW), item), rule.name


def test_online_names_to_check() -> None:
    names = names_to_check(load_ruleset(builtin_pack_paths()))
    assert names.labels == {"on-hold": {"stalled-in-progress"}, "blocked": {"stalled-in-progress"}}
    assert names.trackers == {Tracker.JIRA, Tracker.LINEAR} and names.status_names == {}


def test_bench_prints_one_json_object_last() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "rules.py"), "--items", "2000"],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    result = json.loads(out.strip().splitlines()[-1])
    for key in ("evals_per_s", "hand_evals_per_s", "peak_mb", "load_200_files_s"):
        assert result[key] > 0
    assert result["matches"] > 0
