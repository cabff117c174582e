"""Hostile input, each with a clear error in bounded time and memory.

ReDoS patterns, YAML alias bombs, huge and deep files, Jinja sandbox escapes and memory
bombs, oversized and deeply nested JSON, invalid UTF-8, and header tricks.
"""

from __future__ import annotations

import json
import textwrap
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from flask.testing import FlaskClient
from rq import Queue

from integration.app import create_app
from integration.queue import QUEUE_NAME
from rules.engine import evaluate
from rules.errors import RuleFileError
from rules.loader import load_ruleset
from rules.model import EvalContext, Event, EventKind, Item, Tracker
from rules.ruleset import RuleSet
from tests.foundation.helpers import (
    JIRA_SECRET,
    LINEAR_SECRET,
    MINIMAL_RULES,
    fixture,
    jira_request,
    live_jira_fixture,
)
from tests.rules.helpers import NOW, item
from webhooks.signatures import sign_hub

JIRA_UPDATED = "jira_issue_updated.status_change.cloud-2024.json"


@contextmanager
def bounded(seconds: float, megabytes: float) -> Iterator[None]:
    """Fail when the block takes longer or allocates more (Python allocations, peak) than allowed."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    assert elapsed < seconds, f"took {elapsed:.2f} s (limit {seconds} s)"
    assert peak < megabytes, f"peak {peak:.1f} MB (limit {megabytes} MB)"


def rule_file(tmp_path: Path, when: str = "title: { present: true }", comment: str = "hello") -> Path:
    path = tmp_path / "rules.yml"
    path.write_text(
        textwrap.dedent(f"""\
        version: 1
        rules:
          - name: probe
            description: A hostile rule file.
            on: [created, updated]
            when:
              {when}
            then:
              - comment: {json.dumps(comment)}
        """),
        encoding="utf-8",
    )
    return path


def refusal(path: Path) -> str:
    with pytest.raises(RuleFileError) as caught:
        load_ruleset([path])
    return str(caught.value)


def comments(ruleset: RuleSet, subject: Item) -> list[str]:
    event = Event(Tracker.JIRA, EventKind.UPDATED, subject, NOW)
    plan = evaluate(ruleset, subject, event, NOW, EvalContext())
    return [a.comment.plain for a in plan.actions if a.comment is not None]


# ---- regular expressions --------------------------------------------------------------


def test_catastrophic_backtracking_pattern_runs_in_linear_time(tmp_path: Path) -> None:
    ruleset = load_ruleset([rule_file(tmp_path, when="title: { matches: '(a+)+$' }")])
    hostile = item(title="a" * 50_000 + "!")
    with bounded(seconds=1.0, megabytes=20):
        assert comments(ruleset, hostile) == []
    assert comments(ruleset, item(title="aaaa")) == ["hello"]


def test_backreferences_are_a_rule_file_error(tmp_path: Path) -> None:
    message = refusal(rule_file(tmp_path, when=r"title: { matches: '(a)\1' }"))
    assert "rules.yml:" in message and "backreferences and lookarounds are not supported" in message


# ---- YAML -----------------------------------------------------------------------------


def test_yaml_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"{chr(98 + n)}: &{chr(98 + n)} [{', '.join(['*' + chr(97 + n)] * 10)}]" for n in range(8)]
    path = tmp_path / "bomb.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with bounded(seconds=1.0, megabytes=20):
        message = refusal(path)
    assert "aliases" in message and "bomb.yml:" in message


def test_huge_rule_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yml"
    path.write_text("version: 1\nrules: []\n# " + "x" * 5_000_000 + "\n", encoding="utf-8")
    with bounded(seconds=2.0, megabytes=40):
        message = refusal(path)
    assert "larger than" in message


def test_deeply_nested_yaml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.yml"
    path.write_text("version: 1\nrules: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    with bounded(seconds=2.0, megabytes=60):
        message = refusal(path)
    assert "deep.yml:" in message


def test_rule_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yml"
    path.write_bytes("version: 1\nrules: []\n# café\n".encode("latin-1"))
    assert "not UTF-8" in refusal(path)


# ---- comment templates ------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ item.__class__.__init__.__globals__ }}",
        "{{ title.__class__.__subclasses__() }}",
        "{{ title|attr('__class__') }}",
        "{{ item['__class__'] }}",
    ],
)
def test_sandbox_escapes_are_refused_when_the_rules_load(tmp_path: Path, template: str) -> None:
    message = refusal(rule_file(tmp_path, comment=template))
    assert "may not read private attributes" in message and "rules.yml:" in message


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'x' * 999999999 }}",
        "{{ (title ~ 'x') * 100000000 }}",
        "{{ title | center(999999999) }}",
        "{{ title.ljust(999999999) }}",
        "{% for i in range(100000000) %}x{% endfor %}",
    ],
)
def test_template_bombs_written_in_the_file_are_refused_when_the_rules_load(tmp_path: Path, template: str) -> None:
    message = refusal(rule_file(tmp_path, comment=template))
    assert "over the limit of 10000" in message and "rules.yml:" in message


@pytest.mark.parametrize(
    "template, reason",
    [
        ("{{ 'x' * (9999 * 9999) }}", "repeats text"),
        ("{{ (title ~ 'x') * (9999 * 9999) }}", "repeats text"),
        ("{{ 5000 * (title * 2) }}", "longer than"),
        ("{{ title | center(9999 * 9999) }}", "over 10000 to a filter"),
        ("{{ title.ljust(9999 * 9999) }}", "over 10000 to a function"),
        ("{% for i in range(9999 * 9999) %}x{% endfor %}", "over 10000 to a function"),
        ("{{ 10 ** 64 ** 64 ** 64 }}", "huge power"),
        ("{% set x = [1] %}{% for a in x %}{{ x.append(1) }}{% endfor %}", "unsafe"),
        ("{% macro m(n) %}{{ m(n) }}{% endmacro %}{{ m(1) }}", "recursion"),
        ("{{ title + 1 }}", "concatenate"),
    ],
)
def test_template_bombs_end_as_a_failed_template_note(tmp_path: Path, template: str, reason: str) -> None:
    ruleset = load_ruleset([rule_file(tmp_path, comment=template)])
    with bounded(seconds=2.0, megabytes=30):
        rendered = comments(ruleset, item())
    assert len(rendered) == 1 and rendered[0].startswith("[rule 'probe': the comment template failed:")
    assert reason in rendered[0]


# ---- the receiver -----------------------------------------------------------------------


@pytest.fixture
def client(db_url: str, redis_url: str) -> FlaskClient:
    env = {
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "JIRA_WEBHOOK_SECRET": JIRA_SECRET,
        "LINEAR_WEBHOOK_SECRET": LINEAR_SECRET,
        "FLOWKEEPER_MAX_BODY_BYTES": "65536",
        "RULES_DIR": str(MINIMAL_RULES),
    }
    return create_app(env).test_client()


def signed(body: bytes, **headers: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Hub-Signature": sign_hub(body, JIRA_SECRET), **headers}


def answer(client: FlaskClient, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    response = client.post("/webhooks/jira", data=body, headers=headers)
    return response.status_code, response.get_json()


def test_oversized_body_is_413_without_reading_it_all(client: FlaskClient) -> None:
    body = b'{"x": "' + b"a" * 5_000_000 + b'"}'
    with bounded(seconds=2.0, megabytes=30):
        status, reply = answer(client, body, signed(body))
    assert (status, reply["status"]) == (413, "too_large")


def test_deeply_nested_json_is_400(client: FlaskClient) -> None:
    body = b"[" * 30_000 + b"]" * 30_000
    with bounded(seconds=2.0, megabytes=30):
        status, reply = answer(client, body, signed(body))
    assert (status, reply["status"]) == (400, "malformed")
    assert "nested too deeply" in reply["reason"]


def test_invalid_utf8_is_400(client: FlaskClient) -> None:
    body = b'{"webhookEvent": "jira:issue_updated", "x": "\xff\xfe"}'
    status, reply = answer(client, body, signed(body))
    assert (status, reply["status"], reply["reason"]) == (400, "malformed", "body is not UTF-8")


@pytest.mark.parametrize(
    "trick",
    [
        {"X-Hub-Signature": "sha256=" + "0" * 64},
        {"X-Hub-Signature": "md5=abc"},
        {"X-Hub-Signature": "sha256="},
        {"X-Hub-Signature": "=" * 4000},
        {"X-Hub-Signature": "sha256=ÿÿÿ"},
        {"X-Hub-Signature": ""},
    ],
)
def test_forged_signature_headers_are_401(client: FlaskClient, trick: dict[str, str]) -> None:
    body = json.dumps(fixture("jira", JIRA_UPDATED)).encode()
    status, reply = answer(client, body, {"Content-Type": "application/json", **trick})
    assert (status, reply["status"]) == (401, "bad_signature")


def test_a_signature_over_other_bytes_does_not_pass_for_reformatted_json(client: FlaskClient) -> None:
    payload = fixture("jira", JIRA_UPDATED)
    body = json.dumps(payload).encode()
    reformatted = json.dumps(payload, indent=2).encode()
    status, _ = answer(client, reformatted, signed(body))
    assert status == 401


def test_huge_delivery_id_is_cut_and_still_deduplicates(client: FlaskClient, redis_url: str) -> None:
    body, headers = jira_request(fixture("jira", JIRA_UPDATED), delivery="d" * 100_000)
    first = answer(client, body, headers)
    again = answer(client, body, {**headers, "X-Atlassian-Webhook-Identifier": "d" * 128 + "tail differs"})
    assert first[1]["status"] == "queued" and len(first[1]["delivery"]) == 128
    assert again[1]["status"] == "duplicate"
    assert Queue(QUEUE_NAME, connection=redis_lib.Redis.from_url(redis_url)).count == 1


def test_missing_delivery_id_falls_back_to_the_body_hash(client: FlaskClient) -> None:
    body = json.dumps(live_jira_fixture(JIRA_UPDATED)).encode()
    first = answer(client, body, signed(body))
    again = answer(client, body, signed(body, **{"X-Atlassian-Webhook-Identifier": "   "}))
    assert first[1]["delivery"].startswith("sha256:") and again[1]["status"] == "duplicate"
