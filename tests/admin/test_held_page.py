"""Held for approval: writes listed; approve re-judges each item and applies; discard drops them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient

from integration.app import create_app
from integration.codec import to_jsonable
from integration.services import Services
from integration.store.audit import AuditFilter
from integration.store.mirror import HistoryEntry
from integration.stubtracker.site import Account, Issue
from rules.model import ActorKind, Item, Person, Plan, Status, StatusCategory, Tracker
from tests.admin.helpers import JIRA_URL, base_env, login, post
from tests.services import MakeServices
from tests.stub import JiraStub

RULE = "stalled-in-progress"
IN_PROGRESS = Status("In Progress", StatusCategory.IN_PROGRESS)
DANA = Account("u1", "Dana")


@dataclass
class World:
    admin: FlaskClient
    services: Services
    tracker: JiraStub


@pytest.fixture
def world(db_url: str, make_services: MakeServices, jira_stub: JiraStub) -> World:
    env = base_env(
        db_url,
        FLOWKEEPER_DRY_RUN="0",
        JIRA_URL=JIRA_URL,
        JIRA_USER="bot@example.com",
        JIRA_API_TOKEN="token-held",
    )
    services = make_services(env, clients={"jira": jira_stub.client})
    admin = create_app(services=services).test_client()
    login(admin)
    return World(admin, services, jira_stub)


def hold(world: World, keys: list[str], title: str = "Ship it") -> int:
    """A sweep's held batch as the blast-radius guard leaves it: each item's planned writes, held."""
    now = datetime.now(UTC)
    store, writes = world.services.store, world.services.store.sweep_writes
    for key in keys:
        item = Item(
            Tracker.JIRA,
            f"id-{key}",
            key,
            title=title,
            status=IN_PROGRESS,
            assignee=Person("u1", "Dana"),
            team="ABC",
            updated_at=now - timedelta(days=30),
        )
        world.tracker.site.add(Issue(item.id, key, "ABC", "In Progress", "in_progress", now - timedelta(days=30),
                                     now - timedelta(days=40), title=title, assignee=DANA))
        store.mirror.upsert(item, now)
        store.mirror.record_history(
            "jira",
            item,
            [
                HistoryEntry(
                    at=now - timedelta(days=30), field="status", actor_kind=ActorKind.HUMAN, new="In Progress"
                )
            ],
        )
        plan = world.services.judge("jira").plans([item], None, now)[0]
        actions = tuple(a for a in plan.actions if a.rule == RULE)
        transitions = tuple(t for t in plan.transitions if t.rule == RULE)
        assert actions, "the held rule wants to write"
        writes.stage(
            "run-1",
            "jira",
            item.id,
            key,
            RULE,
            to_jsonable(Plan(item, actions, transitions)),
            len(actions),
            f"add_labels stalled; comment on {title}",
            now,
        )
    batch = store.held_batches.create(
        RULE, "jira", "run-1", len(keys), 40, f"would change {len(keys)} items, over the limit of 2", now
    )
    writes.hold("run-1", batch, now)
    return batch


def test_held_batch_lists_its_intended_writes(world: World) -> None:
    batch = hold(world, ["ABC-1", "ABC-2", "ABC-3"])
    page = world.admin.get("/admin/held").get_data(as_text=True)
    assert f'id="batch-{batch}"' in page and "would change 3 items, over the limit of 2" in page
    assert page.count("add_labels stalled; comment on Ship it") == 3 and "3 of 40 items in scope" in page
    listed = world.admin.get("/admin/held.json").json
    assert [w["item"] for w in listed[0]["writes"]] == ["ABC-1", "ABC-2", "ABC-3"]
    assert world.admin.get("/admin/overview.json").json["held_batches"] == 1


def test_approve_rechecks_each_item_and_applies_what_is_still_wanted(world: World) -> None:
    batch = hold(world, ["ABC-1", "ABC-2", "ABC-3"])
    world.tracker.site.move("ABC-2", "Done", "done", DANA)
    response = post(world.admin, f"/admin/held/{batch}/approve")
    assert response.status_code == 302
    labelled = {
        key for kind, key, labels in world.tracker.writes() if kind == "add_labels" and labels == ("stalled",)
    }
    assert labelled == {"ABC-1", "ABC-3"}  # ABC-2 was finished meanwhile: left alone
    assert response.headers["Location"].endswith(f"/admin/held?batch={batch}#approval-{batch}")
    page = world.admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 items written, 1 no longer needed" in page
    assert f'id="approval-{batch}"' in page  # each item's result, as `flowkeeper held approve` prints it
    assert ("<li>1/3 ABC-1: written</li><li>2/3 ABC-2: no longer needed</li><li>3/3 ABC-3: written</li>"
            in page.replace("\n", "").replace("  ", ""))
    assert "No held writes" in page and '<span class="badge done">approved</span>' in page
    assert "(127.0.0.1)" in page and "admin session " in page
    approved = world.services.store.audit.page(AuditFilter(rule=RULE, outcome="done"))
    assert any(e.action == "held" and "approved by admin session" in e.reason for e in approved)


def test_discard_writes_nothing(world: World) -> None:
    batch = hold(world, ["ABC-1", "ABC-2"])
    assert post(world.admin, f"/admin/held/{batch}/discard").status_code == 302
    assert world.tracker.writes() == []
    page = world.admin.get("/admin/held").get_data(as_text=True)
    assert f"Discarded batch {batch}: 2 items left unchanged." in page
    assert '<span class="badge skipped">discarded</span>' in page
    trail = world.services.store.audit.page(AuditFilter(tracker="admin"))
    assert [(e.action, e.detail["batch"], e.detail["by"]) for e in trail] == [("admin:discard", batch, "admin")]


def test_a_decided_batch_cannot_be_approved_again(world: World) -> None:
    batch = hold(world, ["ABC-1"])
    post(world.admin, f"/admin/held/{batch}/discard")
    post(world.admin, f"/admin/held/{batch}/approve")
    assert f"batch {batch} is not waiting for a decision" in world.admin.get("/admin/held").get_data(
        as_text=True
    )
    assert world.tracker.writes() == []


def test_held_summaries_are_escaped(world: World) -> None:
    hold(world, ["ABC-9"], title="<script>alert(1)</script>")
    page = world.admin.get("/admin/held").get_data(as_text=True)
    assert "<script>alert" not in page and "comment on &lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_nothing_held(admin: FlaskClient) -> None:
    assert "No held writes." in admin.get("/admin/held").get_data(as_text=True)


def test_a_large_batch_is_approved_by_a_worker_not_inside_the_request(
    db_url: str, redis_url: str, make_services: MakeServices, jira_stub: JiraStub
) -> None:
    from rq import SimpleWorker

    from integration.admin.views.held import APPROVE_INLINE_UP_TO
    from integration.jobs import use_services
    from integration.queue import QUEUE_NAME

    env = base_env(db_url, FLOWKEEPER_DRY_RUN="0", JIRA_URL=JIRA_URL, JIRA_USER="bot@example.com",
                   JIRA_API_TOKEN="token-held", REDIS_URL=redis_url)
    tracker = jira_stub
    services = make_services(env, clients={"jira": tracker.client})
    admin = create_app(services=services).test_client()
    login(admin)
    world = World(admin, services, tracker)
    keys = [f"ABC-{n}" for n in range(APPROVE_INLINE_UP_TO + 1)]
    batch = hold(world, keys)
    response = post(admin, f"/admin/held/{batch}/approve")
    assert response.status_code == 302 and tracker.writes() == [], "nothing is written inside the request"
    assert "being approved by a worker" in admin.get("/admin/held").get_data(as_text=True)
    use_services(services)
    try:
        SimpleWorker([QUEUE_NAME], connection=services.redis).work(burst=True)
    finally:
        use_services(None)
    labelled = {key for kind, key, labels in tracker.writes() if kind == "add_labels"}
    assert labelled == set(keys)
    page = admin.get(response.headers["Location"]).get_data(as_text=True)  # where the page sent the admin
    assert f"<li>{len(keys)}/{len(keys)} ABC-{len(keys) - 1}: written</li>" in page
    services.store.engine.dispose()


def test_held_writes_are_in_natural_key_order_with_their_comment_text(world: World) -> None:
    hold(world, ["ABC-10", "ABC-2", "ABC-1"])
    listed = world.admin.get("/admin/held.json").json[0]["writes"]
    assert [w["item"] for w in listed] == ["ABC-1", "ABC-2", "ABC-10"]  # not ABC-1, ABC-10, ABC-2
    assert [w["comments"] for w in listed] == [["No activity for a while."]] * 3  # the test rules' comment
    page = world.admin.get("/admin/held").get_data(as_text=True)
    assert page.index(">ABC-2<") < page.index(">ABC-10<")
    assert page.count('<blockquote class="held-comment">No activity for a while.</blockquote>') == 3
