"""The Flagged page: open episodes with item facts, filters, paging, escalation steps, safe links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from flask import Flask
from flask.testing import FlaskClient

from integration.admin.views.flagged import step_label
from integration.runner import EmbeddedRunner
from integration.services import Services
from integration.store.store import Store
from rules.model import EpisodeChange, EpisodeTransition, Item, Person, Status, StatusCategory, Tracker
from tests.admin.helpers import JIRA_SECRET, captured_jira_request, jira_payload

NOW = datetime.now(UTC)


@pytest.fixture
def services(app: Flask) -> Services:
    return app.extensions["flowkeeper"].services  # type: ignore[no-any-return]


def flag(
    services: Services,
    key: str,
    rule: str = "stalled-in-progress",
    *,
    tracker: str = "jira",
    team: str = "ABC",
    mode: str = "live",
    days: int = 1,
    url: str | None = None,
    steps: tuple[str, ...] = ("0",),
    title: str = "A title",
) -> None:
    item = Item(
        tracker=Tracker(tracker),
        id=f"id-{key}",
        key=key,
        title=title,
        team=team,
        url=url,
        status=Status("In Progress", StatusCategory.IN_PROGRESS),
        assignee=Person("u1", "Dana Owner"),
        updated_at=NOW,
    )
    services.store.mirror.upsert(item, NOW)
    services.store.rule_states.apply(
        tracker,
        item.id,
        key,
        mode,
        [EpisodeTransition(rule, EpisodeChange.OPEN, 1)],
        [(rule, 1, s) for s in steps],
        NOW - timedelta(days=days),
    )


def keys(admin: FlaskClient, **query: str) -> list[str]:
    return [i["key"] for i in admin.get("/admin/flagged.json", query_string=query).json["items"]]


def test_items_flagged_by_a_webhook_are_listed(app: Flask, services: Services, admin: FlaskClient) -> None:
    body, headers = captured_jira_request(jira_payload("GBL-31", "Ship the onboarding flow"), secret=JIRA_SECRET)
    app.test_client().post("/webhooks/jira", data=body, headers=headers)
    EmbeddedRunner(services).run_pending()
    listed = admin.get("/admin/flagged.json").json
    assert {(i["key"], i["rule"], i["mode"]) for i in listed["items"]} == {
        ("GBL-31", "started-without-assignee", "dry"),
        ("GBL-31", "stalled-in-progress", "dry"),
    }
    page = admin.get("/admin/flagged").get_data(as_text=True)
    assert "Ship the onboarding flow" in page and '<span class="badge dry">dry run</span>' in page
    assert 'href="/admin/explain?key=GBL-31&amp;tracker=jira"' in page


def test_oldest_first_with_age_step_assignee_and_link(services: Services, admin: FlaskClient) -> None:
    flag(services, "ABC-1", days=1, url="https://acme.atlassian.net/browse/ABC-1")
    flag(services, "ABC-2", days=9)
    items = admin.get("/admin/flagged.json").json["items"]
    assert [i["key"] for i in items] == ["ABC-2", "ABC-1"]
    assert (
        items[1]["url"] == "https://acme.atlassian.net/browse/ABC-1" and items[1]["assignee"] == "Dana Owner"
    )
    page = admin.get("/admin/flagged").get_data(as_text=True)
    assert ">9 d<" in page and "Dana Owner" in page and "In Progress" in page


def test_filters_by_rule_tracker_team_and_mode(services: Services, admin: FlaskClient) -> None:
    flag(services, "ABC-1")
    flag(services, "ABC-2", rule="started-without-assignee")
    flag(services, "ENG-1", tracker="linear", team="ENG", days=2)
    flag(services, "ABC-3", mode="dry", days=3)
    assert keys(admin, rule="started-without-assignee") == ["ABC-2"]
    assert keys(admin, tracker="linear") == ["ENG-1"]
    assert keys(admin, team="ABC") == ["ABC-3", "ABC-1", "ABC-2"]
    assert keys(admin, mode="dry") == ["ABC-3"]
    assert admin.get("/admin/flagged.json", query_string={"team": "ENG"}).json["total"] == 1
    page = admin.get("/admin/flagged").get_data(as_text=True)
    assert '<option value="ENG">ENG</option>' in page


def test_closed_episodes_are_not_flagged(services: Services, admin: FlaskClient) -> None:
    flag(services, "ABC-1")
    services.store.rule_states.apply(
        "jira",
        "id-ABC-1",
        "ABC-1",
        "live",
        [EpisodeTransition("stalled-in-progress", EpisodeChange.CLOSE, 1)],
        [],
        NOW,
    )
    assert keys(admin) == []
    assert "No item is flagged" in admin.get("/admin/flagged").get_data(as_text=True)


def test_pages_of_fifty(services: Services, admin: FlaskClient) -> None:
    for n in range(120):
        flag(services, f"ABC-{n}", days=200 - n)
    assert admin.get("/admin/flagged.json").json["total"] == 120
    assert keys(admin, offset="100") == [f"ABC-{n}" for n in range(100, 120)]
    page = admin.get("/admin/flagged").get_data(as_text=True)
    assert "1–50 of 120" in page and 'href="/admin/flagged?offset=50"' in page


def test_untrusted_titles_and_urls_stay_inert(services: Services, admin: FlaskClient) -> None:
    flag(services, "ABC-1", title='<script>alert("x")</script>', url="javascript:alert(1)")
    page = admin.get("/admin/flagged").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "javascript:" not in page
    assert admin.get("/admin/flagged.json").json["items"][0]["url"] is None


def test_jira_items_without_a_url_link_to_the_site(db_url: str) -> None:
    from integration.app import create_app
    from tests.admin.helpers import base_env, login

    app = create_app(base_env(db_url, JIRA_URL="https://acme.atlassian.net"))
    flag(app.extensions["flowkeeper"].services, "ABC-7")
    client = app.test_client()
    login(client)
    assert (
        client.get("/admin/flagged.json").json["items"][0]["url"] == "https://acme.atlassian.net/browse/ABC-7"
    )


def test_escalation_step_labels() -> None:
    ladder = SimpleNamespace(steps=[SimpleNamespace(id=i) for i in ("0", "day-3", "day-8")])
    assert step_label(ladder, ("0", "day-3")) == "step 2 of 3 (day-3)"
    assert step_label(ladder, ()) == "not started (of 3)"
    assert step_label(SimpleNamespace(steps=[SimpleNamespace(id="0")]), ("0",)) == "—"
    assert step_label(None, ("0", "x")) == "0, x"  # a rule no longer in the files


def test_flagged_queries_on_both_databases(any_store: Store) -> None:
    from integration.admin.queries.flagged import FlaggedFilter, counts_by_rule, flagged_page, teams

    services = SimpleNamespace(store=any_store)
    for n in range(7):
        flag(services, f"ABC-{n}", days=10 - n, team="ABC" if n % 2 else "WEB")  # type: ignore[arg-type]
    page = flagged_page(any_store, FlaggedFilter(team="WEB"), offset=1, limit=2)
    assert [i.key for i in page.items] == ["ABC-2", "ABC-4"] and page.total == 4
    assert flagged_page(any_store, FlaggedFilter(team="WEB"), offset=10).total == 4
    assert counts_by_rule(any_store) == {"stalled-in-progress": 7}
    assert teams(any_store) == ["ABC", "WEB"]


def test_totals_and_summary_under_every_filter_on_both_databases(any_store: Store) -> None:
    from integration.admin.queries.flagged import FlaggedFilter, counts_by_rule, flagged_page

    services = SimpleNamespace(store=any_store)
    flag(services, "ABC-1")  # type: ignore[arg-type]
    flag(services, "ABC-2", rule="started-without-assignee")  # type: ignore[arg-type]
    flag(services, "ENG-1", tracker="linear", team="ENG", mode="dry")  # type: ignore[arg-type]
    flag(services, "ENG-2", tracker="linear", team="ENG")  # type: ignore[arg-type]
    flag(services, "ABC-9")  # type: ignore[arg-type]
    gone = Item(tracker=Tracker.JIRA, id="id-ABC-9", key="ABC-9", title="gone",
                status=Status("In Progress", StatusCategory.IN_PROGRESS))
    any_store.mirror.mark_deleted(gone, NOW)  # a deleted item's flag no longer counts

    def total(**f: str) -> int:
        return flagged_page(any_store, FlaggedFilter(**f)).total

    assert total(rule="stalled-in-progress", mode="live") == 2
    assert total(tracker="linear") == 2 and total(tracker="linear", mode="dry") == 1
    assert total(team="ENG", rule="stalled-in-progress", mode="dry", tracker="linear") == 1
    assert total(team="WEB") == 0
    listed = [i.key for i in flagged_page(any_store, FlaggedFilter()).items]
    assert "ABC-9" not in listed and sorted(listed) == ["ABC-1", "ABC-2", "ENG-1", "ENG-2"]
    assert counts_by_rule(any_store)["stalled-in-progress"] == 3
