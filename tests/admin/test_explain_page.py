"""Explain: the item from the tracker (or the mirror), every rule's verdict and per-condition trace."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from integration.app import create_app
from integration.runner import EmbeddedRunner
from integration.stubtracker.site import Issue
from integration.trackers.base import TrackerUnavailable
from rules.model import Item, Person, Status, StatusCategory, Tracker
from tests.admin.helpers import (
    JIRA_SECRET,
    JIRA_TOKEN,
    JIRA_URL,
    base_env,
    captured_jira_request,
    jira_payload,
    login,
    post,
)
from tests.services import MakeServices
from tests.stub import JiraStub


def deliver(app: Flask, key: str, summary: str = "Fix the login") -> None:
    body, headers = captured_jira_request(jira_payload(key, summary), secret=JIRA_SECRET)
    app.test_client().post("/webhooks/jira", data=body, headers=headers)
    EmbeddedRunner(app.extensions["flowkeeper"].services).run_pending()


def verdict(page: str, rule: str) -> str:
    start = page.index(f'id="verdict-{rule}"')
    end = page.find("</section>", start)
    return page[start:end]


def test_explains_a_mirrored_item_rule_by_rule(app: Flask, admin: FlaskClient) -> None:
    deliver(app, "GBL-41")
    page = admin.get("/admin/explain", query_string={"key": "gbl-41"}).get_data(as_text=True)
    assert "from the mirror (no tracker read)" in page and "Fix the login" in page
    owner = verdict(page, "started-without-assignee")
    assert 'aria-label="✅ applies" title="applies">✓</span> started-without-assignee' in owner
    assert "<strong>status.category</strong>" in owner and "(expected equals in_progress)" in owner
    assert "<strong>assignee</strong>" in owner and "(expected missing)" in owner
    assert "already acted in episode 1" in owner  # the webhook already flagged it (in dry run)


def test_a_failing_condition_shows_a_cross_with_actual_and_expected(app: Flask, admin: FlaskClient) -> None:
    services = app.extensions["flowkeeper"].services
    item = Item(
        Tracker.JIRA,
        "id-9",
        "ABC-9",
        title="Owned work",
        status=Status("In Progress", StatusCategory.IN_PROGRESS),
        assignee=Person("u1", "Dana"),
    )
    services.store.mirror.upsert(item, datetime.now(UTC))
    owner = verdict(admin.get("/admin/explain?key=ABC-9").get_data(as_text=True), "started-without-assignee")
    assert 'aria-label="❌ does not apply" title="does not apply">✗</span> started-without-assignee' in owner
    assert (
        'aria-label="❌ does not hold" title="does not hold">✗</span>\n  <strong>assignee</strong>:\n'
        '  <span class="actual">Dana'
    ) in owner


def test_evaluating_as_a_sweep_marks_webhook_only_rules_not_triggered(app: Flask, admin: FlaskClient) -> None:
    deliver(app, "GBL-42")
    page = admin.get("/admin/explain", query_string={"key": "GBL-42", "as": "schedule"}).get_data(
        as_text=True
    )
    assert "not triggered by a sweep (schedule)" in verdict(page, "started-without-assignee")
    assert "not triggered" not in verdict(page, "stalled-in-progress")


def test_an_edited_comment_can_be_explained(app: Flask, admin: FlaskClient) -> None:
    """An edited comment is an event kind rules may listen to: Explain offers it and judges it."""
    deliver(app, "GBL-43")
    page = admin.get("/admin/explain", query_string={"key": "GBL-43", "as": "comment_updated"}).get_data(
        as_text=True
    )
    assert '<option value="comment_updated" selected>an edited comment (webhook)</option>' in page
    assert "not triggered by an edited comment (webhook)" in verdict(page, "started-without-assignee")


@pytest.fixture
def connected(db_url: str, make_services: MakeServices, jira_stub: JiraStub) -> tuple[FlaskClient, JiraStub]:
    env = base_env(db_url, JIRA_URL=JIRA_URL, JIRA_USER="bot@example.com", JIRA_API_TOKEN=JIRA_TOKEN)
    app = create_app(services=make_services(env, clients={"jira": jira_stub.client}))
    client = app.test_client()
    login(client)
    return client, jira_stub


def test_reads_the_item_from_the_tracker_when_connected(connected: tuple[FlaskClient, JiraStub]) -> None:
    client, tracker = connected
    now = datetime.now(UTC)
    tracker.site.add(Issue("id-5", "ABC-5", "ABC", "In Progress", "in_progress", now, now, title="Fresh from Jira"))
    page = client.get("/admin/explain?key=ABC-5&tracker=jira").get_data(as_text=True)
    assert "read from Jira just now" in page and "Fresh from Jira" in page
    assert f'href="{JIRA_URL}/browse/ABC-5"' in page
    assert "Would do:" in verdict(page, "started-without-assignee")  # nothing flagged it yet
    assert tracker.writes() == []  # explaining never writes


def test_tracker_failure_falls_back_to_the_mirror(connected: tuple[FlaskClient, JiraStub]) -> None:
    client, tracker = connected
    services = client.application.extensions["flowkeeper"].services
    mirrored = Item(
        Tracker.JIRA, "id-6", "ABC-6", title="Mirrored copy", status=Status("Done", StatusCategory.DONE)
    )
    services.store.mirror.upsert(mirrored, datetime.now(UTC))
    tracker.break_reads(TrackerUnavailable(f"503 with {JIRA_TOKEN}"))
    page = client.get("/admin/explain?key=ABC-6").get_data(as_text=True)
    assert "reading it from Jira failed: 503 with ***" in page and JIRA_TOKEN not in page
    assert "Mirrored copy" in page and "from the mirror" in page


def test_unknown_item(admin: FlaskClient) -> None:
    page = admin.get("/admin/explain?key=NOPE-1").get_data(as_text=True)
    assert "No item NOPE-1 in the mirror, and no tracker to ask." in page


def test_item_titles_are_escaped(app: Flask, admin: FlaskClient) -> None:
    deliver(app, "GBL-43", '<script>alert("explain")</script>')
    page = admin.get("/admin/explain?key=GBL-43").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#34;explain&#34;)&lt;/script&gt;" in page


def test_the_form_alone(admin: FlaskClient) -> None:
    page = admin.get("/admin/explain").get_data(as_text=True)
    assert 'name="key"' in page and "verdict-" not in page


def test_overrides_show_in_the_verdicts(app: Flask, admin: FlaskClient) -> None:
    deliver(app, "GBL-44")
    post(admin, "/admin/rules/stalled-in-progress/override", field="enabled", value="0")
    page = admin.get("/admin/explain?key=GBL-44").get_data(as_text=True)
    assert '<span class="badge muted">disabled</span>' in verdict(page, "stalled-in-progress")
    assert "disabled" not in verdict(page, "started-without-assignee")


def explain_links(page: str) -> list[str]:
    return [link.replace("&amp;", "&") for link in re.findall(r'href="(/admin/explain\?key=[^"]+)"', page)]


def test_every_flagged_item_can_be_explained_even_one_the_mirror_does_not_know(
        app: Flask, admin: FlaskClient) -> None:
    from integration.store.audit import AuditEntry, Outcome
    from rules.model import EpisodeChange, EpisodeTransition

    deliver(app, "GBL-1")  # in the mirror, flagged by started-without-assignee
    store = app.extensions["flowkeeper"].services.store
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    store.rule_states.apply("jira", "id-404", "GBL-404", "live",  # flagged before the mirror was rebuilt
                            [EpisodeTransition("stalled-in-progress", EpisodeChange.OPEN, 1)], [], at)
    store.audit.record([AuditEntry(at=at, tracker="jira", item_key="GBL-404", rule="stalled-in-progress",
                                   action="comment", outcome=Outcome.WOULD_DO,
                                   reason="dry run: in progress with no human activity for 6 business days",
                                   detail={"comment": "GBL-404 has had no activity for 6 business days."})])

    links = explain_links(admin.get("/admin/flagged").get_data(as_text=True))
    assert "/admin/explain?key=GBL-404&tracker=jira" in links and len(links) >= 2, links
    for link in links:
        page = admin.get(link).get_data(as_text=True)
        assert 'id="verdict-' in page or 'id="known-only"' in page, link  # never a dead end

    known = admin.get("/admin/explain?key=GBL-404&tracker=jira").get_data(as_text=True)
    section = known[known.index('id="known-only"'):]
    assert "not readable now: from Flowkeeper's records" in section
    assert "<strong>stalled-in-progress</strong> on jira" in section and "2026-03-02 09:00" in section
    assert "in progress with no human activity for 6 business days" in section
    assert "GBL-404 has had no activity for 6 business days." in section


def test_an_item_the_mirror_does_not_know_yet_is_read_from_the_tracker_and_says_so(
        connected: tuple[FlaskClient, JiraStub]) -> None:
    client, tracker = connected
    now = datetime.now(UTC)
    tracker.site.add(Issue("id-9", "ABC-9", "ABC", "In Progress", "in_progress", now, now, title="Only in Jira"))
    page = client.get("/admin/explain?key=ABC-9&tracker=jira").get_data(as_text=True)
    assert "read from Jira just now — not in the mirror yet" in page and 'id="verdict-' in page
