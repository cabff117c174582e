"""Linear ids named by the workspace catalog: the old state of a change, a removed label, IssueLabel events."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from integration.services import Services
from integration.trackers.linear import catalog
from integration.trackers.linear.event import normalize
from integration.trackers.linear.item import LinearConfig
from rules.model import ActorKind, Event
from tests.foundation.helpers import MINIMAL_RULES, fixture
from tests.services import MakeServices
from tests.stub import Stub, running_stub

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BACKLOG = "c02edc3a-xxxx-xxxx-xxxx-85c349766a13"
LABEL = "13aa50db-xxxx-xxxx-xxxx-1cdd26695e65"


class Memory:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def put(self, key: str, value: Any, now: datetime) -> None:
        self.values[key] = json.loads(json.dumps(value))


def event(name: str, delivery: str = "", **changes: Any) -> Event:
    payload = copy.deepcopy(fixture("linear", f"{name}.json"))
    for key, value in changes.items():
        payload["data"][key] = value
    found = normalize(payload, LinearConfig())
    assert found is not None
    return replace(found, delivery_id=delivery or None)


def test_a_state_seen_in_an_earlier_delivery_names_the_old_status() -> None:
    store = Memory()
    catalog.understand(event("issue_create.2021"), store, None, NOW)  # learns Backlog's id
    moved = catalog.understand(event("issue_update.state_change.2021"), store, None, NOW)
    status = moved.change_of("status")
    assert status is not None and (status.old, status.new) == ("Backlog", "Todo")


def test_an_unknown_old_state_is_unknown_not_an_id() -> None:
    moved = catalog.understand(event("issue_update.state_change.2021"), Memory(), None, NOW)
    status = moved.change_of("status")
    assert status is not None and status.old is None and status.new == "Todo"


def test_with_a_key_the_workspace_names_what_no_delivery_did() -> None:
    asked: list[int] = []

    def read() -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
        asked.append(1)
        return {BACKLOG: ("Очередь", "backlog")}, {}

    store = Memory()
    moved = catalog.understand(event("issue_update.state_change.2021"), store, read, NOW)
    assert moved.change_of("status").old == "Очередь"  # type: ignore[union-attr]
    catalog.understand(event("issue_update.state_change.2021"), store, read, NOW)
    assert len(asked) == 1  # named from the stored catalog the second time


def test_issue_label_events_teach_the_name_a_removal_is_recorded_by() -> None:
    store = Memory()
    catalog.understand(event("issuelabel_create.2021"), store, None, NOW)
    update = copy.deepcopy(fixture("linear", "issue_update.description.2023.json"))
    update["data"]["labelIds"], update["data"]["labels"] = [], []
    update["updatedFrom"] = {"labelIds": [LABEL], "updatedAt": "2023-07-11T13:30:00.000Z"}
    removed = normalize(update, LinearConfig())
    assert removed is not None
    change = catalog.understand(removed, store, None, NOW).change_of("labels")
    assert change is not None and change.removed == ("new label",)


def test_bot_actor_is_read_as_an_object_or_as_json_text() -> None:
    bot = {"id": "b-1", "type": "oauthClient", "name": "GitHub", "userDisplayName": "github"}
    for form in (bot, json.dumps(bot)):
        payload = copy.deepcopy(fixture("linear", "comment_create.2023.json"))
        payload["data"]["botActor"] = form
        found = normalize(payload, LinearConfig())
        assert found is not None and found.actor is not None
        assert (found.actor.kind, found.actor.name) == (ActorKind.BOT, "GitHub")


def test_a_users_profile_url_from_the_payload_is_kept_for_mentions() -> None:
    assignee = {"id": "u-zoe", "name": "Zoë Åberg", "email": "zoe@acme.test",
                "url": "https://linear.app/acme/profiles/zoe", "avatarUrl": None}
    item = event("issue_update.state_change.2021", assignee=assignee).item
    assert item.assignee is not None and item.assignee.url == "https://linear.app/acme/profiles/zoe"


# ---- through the pipeline ---------------------------------------------------------------


@pytest.fixture
def stub() -> Iterator[Stub]:
    with running_stub() as running:
        yield running


def services(make_services: MakeServices, **env: str) -> Services:
    return make_services({"RULES_DIR": str(MINIMAL_RULES), **env})


def test_without_a_key_the_mirror_keeps_what_webhooks_carry_and_names_the_old_status(make_services: MakeServices) -> None:
    built = services(make_services)
    created = event("issue_create.2021", "d-1")
    built.pipeline().handle(created)
    built.pipeline().handle(event("issue_update.state_change.2021", "d-2"))
    mirrored = built.store.mirror.get("linear", created.item.id)
    assert mirrored is not None and mirrored.status.name == "Todo"
    assert "links" in mirrored.unknown  # Issue webhooks carry no relations: unknown, not "none"
    changes = [(h.field, h.old, h.new) for h in built.store.mirror.history("linear", created.item.id)]
    assert ("status", "Backlog", "Todo") in changes


def test_issue_label_events_are_recorded_as_names_updated(make_services: MakeServices) -> None:
    built = services(make_services)
    outcome = built.pipeline().handle(event("issuelabel_update.2021", "d-3"))
    assert outcome == "skipped: label definition changed: label names updated for history"
    assert built.store.service.get(catalog.KEY)["labels"][LABEL] == "update new label"  # the rename


def test_with_a_key_the_stub_workspace_names_the_old_status(make_services: MakeServices, stub: Stub) -> None:
    stub.seed_linear([{"id": "i-1", "identifier": "KOR-11", "title": "webhook test", "number": 11,
                       "state": {"id": BACKLOG, "name": "Backlog", "type": "backlog"},
                       "team": {"id": "t-1", "key": "KOR"}, "labels": {"nodes": []}}])
    built = services(make_services, LINEAR_API_KEY="lin_api_test", LINEAR_API_URL=f"{stub.url}/graphql")
    moved = catalog.understand(event("issue_update.state_change.2021"), built.store.service,
                               built.clients["linear"].workspace_catalog, NOW)  # type: ignore[attr-defined]
    assert moved.change_of("status").old == "Backlog"  # type: ignore[union-attr]
