"""NUL characters and lone surrogates from a tracker never reach a store that refuses them."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from integration.activity import history_entries
from integration.codec import body_envelope
from integration.store.store import Store
from integration.trackers.jira.normalize import JiraConfig
from integration.trackers.jira.normalize import normalize as normalize_jira
from integration.trackers.linear.event import normalize as normalize_linear
from integration.trackers.linear.item import LinearConfig
from integration.trackers.sanitise import clean_text
from tests.foundation.helpers import fixture
from tests.services import MakeServices
from webhooks.receiver import parse_payload

NOW = datetime(2026, 3, 2, tzinfo=UTC)
HOSTILE = "Fix\x00 login \ud800 now"  # what json.loads gives for "Fix\\u0000 login \\ud800 now"


def test_clean_text_drops_nul_and_replaces_lone_surrogates() -> None:
    assert clean_text(HOSTILE) == "Fix login \ufffd now"
    assert clean_text("emoji 😀 stays") == "emoji 😀 stays"
    assert json.loads('"\\ud83d\\ude00"') == "😀"  # a proper pair is one character, never touched


def test_a_jira_item_with_them_is_stored_on_both_stores(any_store: Store) -> None:
    payload = copy.deepcopy(fixture("jira", "jira_issue_updated.status_change.cloud-2024.json"))
    payload["issue"]["fields"]["summary"] = HOSTILE
    payload["issue"]["fields"]["description"] = "\x00\udfff"
    payload["issue"]["fields"]["labels"] = ["ok\x00label"]
    event = normalize_jira(payload, JiraConfig())
    assert event is not None and event.item.title == "Fix login \ufffd now"
    any_store.mirror.record_history("jira", event.item, history_entries(event))
    stored = any_store.mirror.upsert(event.item, NOW)
    again = any_store.mirror.get("jira", stored.id)
    assert again is not None and again.title == "Fix login \ufffd now" and again.labels == ("oklabel",)


def test_a_linear_issue_with_them_is_stored_on_both_stores(any_store: Store) -> None:
    payload = copy.deepcopy(fixture("linear", "issue_create.cloud-2024.json"))
    payload["data"]["title"] = HOSTILE
    event = normalize_linear(payload, LinearConfig())
    assert event is not None and "\x00" not in event.item.title and "\ud800" not in event.item.title
    any_store.mirror.record_history("linear", event.item, history_entries(event))
    assert any_store.mirror.upsert(event.item, NOW).title == "Fix login \ufffd now"


@pytest.mark.parametrize(("escape", "title"), [("\\u0000", "Fix  now"), ("\\udfff", "Fix \ufffd now"),
                                              ("\\uDFFF", "Fix \ufffd now")])
def test_a_received_body_escaping_them_is_cleaned_before_normalizing(escape: str, title: str) -> None:
    payload = copy.deepcopy(fixture("jira", "jira_issue_updated.status_change.cloud-2024.json"))
    payload["issue"]["fields"]["summary"] = "Fix MARK now"
    body = json.dumps(payload).replace("MARK", escape).encode()  # as a tracker escapes them
    event = normalize_jira(parse_payload(body), JiraConfig())
    assert event is not None and event.item.title == title


def test_a_received_body_without_them_normalizes_as_a_cleaned_one() -> None:
    body = json.dumps(fixture("jira", "jira_issue_updated.status_change.cloud-2024.json")).encode()
    assert normalize_jira(parse_payload(body), JiraConfig()) == normalize_jira(json.loads(body), JiraConfig())


@pytest.mark.parametrize(("escape", "title"), [("\\u0000", "Fix  now"), ("\\uD800", "Fix \ufffd now"), ("", "Fix  now")])
def test_a_queued_body_is_cleaned_by_the_worker_and_one_without_them_read_as_it_is(
        make_services: MakeServices, escape: str, title: str) -> None:
    payload = copy.deepcopy(fixture("jira", "jira_issue_updated.status_change.cloud-2024.json"))
    payload["issue"]["fields"]["summary"] = "Fix MARK now"
    body = json.dumps(payload).replace("MARK", escape)
    event = make_services().delivery_event(body_envelope("jira", "d-1", body, "KAN-1", NOW))
    assert event.item.title == title
    assert event == replace(normalize_jira(json.loads(body), JiraConfig()), delivery_id="d-1")
