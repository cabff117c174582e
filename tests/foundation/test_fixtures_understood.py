"""Every saved delivery in tests/fixtures, received, run through the pipeline and written back.

Each body is posted signed to the receiver, its queued RQ job is run against the stub
tracker (with credentials and dry run off) or with no tracker credentials at all, and the
test asserts what Flowkeeper understood: the event kind, status from → to, who acted (a
person or an app), labels by name, the comment text and the parent. No job may fail.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis as redis_lib
from flask.testing import FlaskClient
from rq import Queue

from integration.app import create_app
from integration.jobs import use_services
from integration.queue import QUEUE_NAME
from rules.model import ActorKind, Event
from tests.foundation.helpers import (
    JIRA_SECRET,
    LINEAR_SECRET,
    MINIMAL_RULES,
    fixture,
    jira_request,
    linear_request,
)
from tests.services import MakeServices
from tests.stub import Stub, running_stub

BACKLOG_2021 = {"id": "c02edc3a-xxxx-xxxx-xxxx-85c349766a13", "name": "Backlog", "type": "backlog"}
BACKLOG_2023 = {"id": "3b2acb0f-0c93-4f09-a534-c3e83e8d9fc7", "name": "Backlog", "type": "backlog"}
TODO_2024 = {"id": "f12cad17-9b8f-470d-b20a-5e17da8e46b9", "name": "Todo", "type": "unstarted"}
GONE_LABEL = {"id": "c0ffee00-2222-4333-8444-955566677788", "name": "нужна-оценка"}


@dataclass(frozen=True)
class Understood:
    kind: str | None  # None: ignored by the receiver (a 200 "ignored")
    status: tuple[str | None, str] | None = None  # (from, to) of a status change, as the worker records it
    from_needs_key: bool = False  # the old status is named only with the tracker's API (or earlier deliveries)
    actor: ActorKind | None = None
    labels_added: tuple[str, ...] = ()
    labels_removed: tuple[str, ...] = ()
    removed_needs_key: bool = False
    comment: str | None = None  # text the comment starts with
    parent: str | None = None


CASES: list[tuple[str, str, Understood]] = [
    ("jira", "jira_issue_created.cloud-2024.json", Understood("created", actor=ActorKind.HUMAN)),
    ("jira", "jira_issue_updated.status_change.cloud-2024.json",
     Understood("updated", ("Wishlist", "To Be Released"), actor=ActorKind.HUMAN)),
    ("jira", "jira_issue_updated.status_change.cyrillic.derived.json",
     Understood("updated", ("К выполнению", "В работе"), actor=ActorKind.HUMAN, parent="KAN-1")),
    ("jira", "jira_issue_updated.japanese.app_actor.derived.json",
     Understood("updated", ("未着手", "進行中"), actor=ActorKind.BOT, labels_added=("バックエンド",))),
    ("jira", "comment_created.derived.json",
     Understood("comment_created", actor=ActorKind.HUMAN, comment="Still waiting on the SDK update")),
    ("jira", "comment_updated.derived.json",
     Understood("comment_updated", actor=ActorKind.HUMAN, comment="Still waiting on the SDK update (edited")),
    ("jira", "comment_deleted.derived.json", Understood(None)),
    ("jira", "jira_issue_deleted.derived.json", Understood("deleted", actor=ActorKind.HUMAN)),
    ("linear", "issue_create.2021.json", Understood("created")),
    ("linear", "issue_create.cloud-2024.json", Understood("created", actor=ActorKind.HUMAN)),
    ("linear", "issue_update.state_change.2021.json",
     Understood("updated", ("Backlog", "Todo"), from_needs_key=True)),
    ("linear", "issue_update.description.2023.json", Understood("updated")),
    ("linear", "issue_update.cyrillic.oauth_actor.derived-2025.json",
     Understood("updated", ("Backlog", "В работе"), from_needs_key=True, actor=ActorKind.BOT,
                labels_removed=("нужна-оценка",), removed_needs_key=True)),
    ("linear", "issue_update.japanese.derived-2024.json",
     Understood("updated", ("Todo", "進行中"), from_needs_key=True, actor=ActorKind.HUMAN)),
    ("linear", "issue_remove.2021.json", Understood("deleted")),
    ("linear", "comment_create.2021.json", Understood("comment_created", actor=ActorKind.HUMAN, comment="")),
    ("linear", "comment_create.2023.json", Understood("comment_created", actor=ActorKind.HUMAN, comment="")),
    ("linear", "comment_create.reply.2023.json", Understood("comment_created", actor=ActorKind.HUMAN, comment="")),
    ("linear", "comment_create.docs-example.json", Understood("comment_created", actor=ActorKind.HUMAN, comment="")),
    ("linear", "comment_update.derived-2023.json",
     Understood("comment_updated", actor=ActorKind.HUMAN, comment="Saved — and now /flowkeeper snooze 5d")),
    ("linear", "comment_remove.derived-2023.json", Understood(None)),
    ("linear", "issuelabel_create.2021.json", Understood("label_changed")),
    ("linear", "issuelabel_update.2021.json", Understood("label_changed")),
    ("linear", "issuelabel_remove.2021.json", Understood("label_changed")),
]


@pytest.fixture(scope="module")
def stub() -> Iterator[Stub]:
    with running_stub() as running:
        running.seed_linear(
            [_linear_issue(f"LIN-{n}", state) for n, state in enumerate((BACKLOG_2021, BACKLOG_2023, TODO_2024), 90)],
            labels=[{**GONE_LABEL, "color": "#bec2c8"}],
        )
        yield running


def _linear_issue(key: str, state: dict[str, str]) -> dict[str, Any]:
    return {"id": f"seed-{key}", "identifier": key, "title": "Seeded", "number": int(key.split("-")[1]),
            "state": state, "team": {"id": "t-lin", "key": "LIN"}, "labels": {"nodes": []}}


def _env(redis_url: str, stub: Stub, with_credentials: bool) -> dict[str, str]:
    env = {"REDIS_URL": redis_url, "RULES_DIR": str(MINIMAL_RULES),
           "JIRA_WEBHOOK_SECRET": JIRA_SECRET, "LINEAR_WEBHOOK_SECRET": LINEAR_SECRET}
    if with_credentials:
        env |= {"JIRA_URL": stub.url, "JIRA_USER": "bot@acme.test", "JIRA_API_TOKEN": "tok-fixtures",
                "LINEAR_API_KEY": "lin_api_fixtures", "LINEAR_API_URL": f"{stub.url}/graphql",
                "FLOWKEEPER_DRY_RUN": "0"}
    return env


def _post(client: FlaskClient, tracker: str, body: dict[str, Any], delivery: str) -> str:
    data, headers = (jira_request if tracker == "jira" else linear_request)(copy.deepcopy(body), delivery=delivery)
    answer = client.post(f"/webhooks/{tracker}", data=data, headers=headers)
    assert answer.status_code == 200, answer.json
    return str(answer.json["status"])


@pytest.mark.parametrize("with_credentials", [True, False], ids=["credentials", "no-credentials"])
@pytest.mark.parametrize(("tracker", "name", "expected"), CASES, ids=[c[1] for c in CASES])
def test_each_fixture_is_understood_and_processed(
    tracker: str, name: str, expected: Understood, with_credentials: bool,
    make_services: MakeServices, redis_url: str, stub: Stub,
) -> None:
    env = _env(redis_url, stub, with_credentials)
    services = make_services(env)
    client = create_app(env, services=services).test_client()
    delivery = f"fx-{name}-{with_credentials}"
    status = _post(client, tracker, fixture(tracker, name), delivery)
    if expected.kind is None:
        assert status == "ignored"
        return
    assert status == "queued"
    connection = redis_lib.Redis.from_url(redis_url)
    queue = Queue(QUEUE_NAME, connection=connection)
    (job,) = queue.jobs  # old Linear envelopes are deduplicated by their body, not the header
    event = services.delivery_event(job.args[0])  # the worker normalizes the body as it came
    _assert_received(event, expected)
    use_services(services)
    try:
        outcome = job.perform()  # the job the worker would run, here in the test's thread
    finally:
        use_services(None)
    assert "failed" not in str(outcome), outcome
    assert services.store.deliveries.state_of(tracker, str(event.delivery_id)) == "done"
    _assert_recorded(services.store.mirror.history(tracker, event.item.id), expected, with_credentials)


def _assert_received(event: Event, expected: Understood) -> None:
    assert event.kind.value == expected.kind
    assert (event.actor.kind if event.actor else None) is expected.actor
    if expected.comment is not None:
        assert event.comment is not None and event.comment.body.startswith(expected.comment)
        assert event.comment.author is not None
    if expected.parent is not None:
        assert event.item.parent == expected.parent
    labels = event.change_of("labels")
    if expected.labels_added:
        assert labels is not None and labels.added == expected.labels_added


def _assert_recorded(history: list[Any], expected: Understood, with_credentials: bool) -> None:
    if expected.status is not None:
        old, new = expected.status
        if expected.from_needs_key and not with_credentials:
            old = None  # no earlier delivery named that state and there is no API to ask
        assert ("status", old, new) in [(h.field, h.old, h.new) for h in history]
    if expected.labels_removed and (with_credentials or not expected.removed_needs_key):
        removed = [h.old for h in history if h.field == "labels"]
        assert " ".join(f"-{n}" for n in expected.labels_removed) in removed
