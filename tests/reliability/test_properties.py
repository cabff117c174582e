"""Property tests: whatever JSON or YAML arrives, the answer is a defined error, never a crash.

A normalizer returns an Event (or None: not relevant) or raises PayloadError, and any
Event it returns survives the trip through a job's JSON envelope. The rule loader
returns a rule set or raises RuleFileError naming file and line.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integration.codec import event_envelope, event_from_envelope
from integration.trackers.errors import PayloadError
from integration.trackers.jira import normalize as jira_normalize
from integration.trackers.jira.normalize import JiraConfig
from integration.trackers.linear import event as linear_event
from integration.trackers.linear.item import LinearConfig, normalize_issue
from rules.errors import RuleFileError
from rules.loader import builtin_pack_paths, load_ruleset
from tests.foundation.helpers import FIXTURES, MINIMAL_RULES
from tests.reliability.strategies import json_values, mutated
from tests.stub import jira_issue, linear_issue
from webhooks.receiver import parse_payload

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)


def _fixtures(tracker: str) -> list[dict[str, Any]]:
    folder = FIXTURES / tracker / "webhooks"
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


JIRA = _fixtures("jira")
LINEAR = _fixtures("linear")


def survives(normalize: Any, payload: Any) -> None:
    """The whole contract of a normalizer, as the receiver relies on it."""
    try:
        event = normalize(payload)
    except PayloadError as error:
        assert str(error), "a PayloadError says what is wrong"
        return
    if event is None:
        return
    envelope = json.loads(json.dumps(event_envelope(event, NOW)))
    assert event_from_envelope(envelope).item.key == event.item.key


def jira(payload: Any) -> Any:
    return jira_normalize.normalize(payload, JiraConfig(site_url="https://acme.atlassian.net"))


def linear(payload: Any) -> Any:
    return linear_event.normalize(payload, LinearConfig())


@FUZZ
@given(st.dictionaries(st.text(max_size=20), json_values, max_size=6))
def test_jira_normalizer_on_arbitrary_objects(payload: dict[str, Any]) -> None:
    survives(jira, payload)


@FUZZ
@given(st.sampled_from(JIRA).flatmap(mutated))
def test_jira_normalizer_on_damaged_real_payloads(payload: dict[str, Any]) -> None:
    survives(jira, payload)


@FUZZ
@given(st.dictionaries(st.text(max_size=20), json_values, max_size=6))
def test_linear_normalizer_on_arbitrary_objects(payload: dict[str, Any]) -> None:
    survives(linear, payload)


@FUZZ
@given(st.sampled_from(LINEAR).flatmap(mutated))
def test_linear_normalizer_on_damaged_real_payloads(payload: dict[str, Any]) -> None:
    survives(linear, payload)


@FUZZ
@given(
    st.binary(max_size=300)
    | st.sampled_from(JIRA + LINEAR).flatmap(mutated).map(lambda p: json.dumps(p).encode())
)
def test_body_parser_gives_an_object_or_a_payload_error(body: bytes) -> None:
    try:
        assert isinstance(parse_payload(body), dict)
    except PayloadError as error:
        assert str(error)


API_ISSUES = {
    "jira": [jira_issue("KAN-1", assignee={"accountId": "acc-1", "displayName": "Ada"}, labels=("x",))],
    "linear": [linear_issue("ENG-1", assignee={"id": "u-1", "name": "Ada"}, labels=(("l-1", "bug"),))],
}


def api_item(normalize: Any, issue: Any) -> None:
    """What a tracker client does with an API answer: an Item, or a PayloadError saying what is wrong."""
    try:
        normalize(issue)
    except PayloadError as error:
        assert str(error)


@FUZZ
@given(st.sampled_from(API_ISSUES["jira"]).flatmap(mutated))
def test_jira_issue_from_the_api_on_damaged_answers(issue: dict[str, Any]) -> None:
    api_item(lambda i: jira_normalize.normalize_issue(i, JiraConfig()), issue)


@FUZZ
@given(st.sampled_from(API_ISSUES["linear"]).flatmap(mutated))
def test_linear_issue_from_the_api_on_damaged_answers(issue: dict[str, Any]) -> None:
    api_item(lambda i: normalize_issue(i, LinearConfig()), issue)


# ---- the rule loader ------------------------------------------------------------------


def _rule_documents() -> list[Any]:
    texts = [
        p.read_text(encoding="utf-8") for p in [*builtin_pack_paths(), *sorted(MINIMAL_RULES.glob("*.yml"))]
    ]
    return [yaml.safe_load(text) for text in texts]


RULE_DOCUMENTS = _rule_documents()


def loads_or_explains(tmp: Path, text: str) -> None:
    path = tmp / "rules.yml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_ruleset([path])
    except RuleFileError as error:
        assert error.errors, "a refused rule file lists its problems"
        assert all(e.file == str(path) and e.line >= 1 for e in error.errors)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(st.sampled_from(RULE_DOCUMENTS).flatmap(lambda d: mutated(d, 3)))
def test_rule_loader_on_damaged_rule_files(tmp_path: Path, document: Any) -> None:
    loads_or_explains(tmp_path, yaml.safe_dump(document, allow_unicode=True, sort_keys=False))


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(json_values.map(lambda v: yaml.safe_dump(v, allow_unicode=True)) | st.text(max_size=300))
def test_rule_loader_on_arbitrary_yaml_and_text(tmp_path: Path, text: str) -> None:
    loads_or_explains(tmp_path, text.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))
