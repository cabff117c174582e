"""Captured Linear deliveries and derived variants normalize to the Events rules expect."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

import pytest

from integration.trackers.errors import PayloadError
from integration.trackers.linear.event import normalize
from integration.trackers.linear.item import LinearConfig, normalize_issue
from rules.model import ActorKind, EventKind, StatusCategory, Tracker
from webhooks.specs import delivery_timestamp_ms

CFG = LinearConfig()


def test_issue_create_2024_carries_state_team_creator_and_org(webhook: Any) -> None:
    event = normalize(webhook("issue_create.cloud-2024"), CFG)
    assert event is not None and event.kind is EventKind.CREATED
    item = event.item
    assert (item.tracker, item.key, item.title, item.team) == (
        Tracker.LINEAR,
        "POR-5",
        "New issue again",
        "POR",
    )
    assert item.status.name == "Todo" and item.status.category is StatusCategory.TODO
    assert item.url == "https://linear.app/getport/issue/POR-5/new-issue-again"
    assert item.reporter is not None and item.reporter.id == "11c5ce7d-229b-4487-b23b-f404e4a8c85d"
    assert item.labels == () and "labels" not in item.unknown
    assert item.priority is not None and item.priority.rank is None and item.priority.name == "No priority"
    assert item.status_changed_at == datetime(2024, 5, 19, 17, 55, 29, 277000, tzinfo=UTC)
    assert event.actor is not None and event.actor.kind is ActorKind.HUMAN and event.actor.name == "Mor Paz"
    assert event.organization_id == "36968e1b-496c-4610-8c25-641364da172e"
    assert event.source_type == "Issue:create"
    assert "description" in item.unknown and "assignee" in item.unknown  # not carried: unknown, not empty


def test_old_issue_create_without_actor_org_or_timestamp_still_normalizes(webhook: Any) -> None:
    event = normalize(webhook("issue_create.2021"), CFG)
    assert event is not None
    assert event.item.key == "KOR-11"  # team key + number: 2021 payloads have no identifier
    assert event.item.status.category is StatusCategory.TODO  # backlog → todo
    assert event.actor is None and event.organization_id is None
    assert event.occurred_at == datetime(2021, 1, 30, 11, 19, 39, 427000, tzinfo=UTC)


def test_state_change_records_status_change_and_when_entered(webhook: Any) -> None:
    config = LinearConfig(state_names={"c02edc3a-xxxx-xxxx-xxxx-85c349766a13": "Backlog"})
    event = normalize(webhook("issue_update.state_change.2021"), config)
    assert event is not None and event.kind is EventKind.UPDATED
    status = event.change_of("status")
    assert status is not None and (status.old, status.new) == ("Backlog", "Todo")
    assert event.item.status_changed_at == datetime(2021, 1, 30, 11, 24, 17, 747000, tzinfo=UTC)
    assert event.item.assignee is not None and event.item.assignee.name == "user@example.com"
    # updatedFrom lists description/estimate as null, but they did not change: no Change for them
    assert event.change_of("description") is None and event.change_of("estimate") is None
    assert event.change_of("sprint") is not None


def test_update_without_state_change_leaves_status_time_unknown(webhook: Any) -> None:
    event = normalize(webhook("issue_update.description.2023"), CFG)
    assert event is not None
    item = event.item
    assert "status_changed_at" in item.unknown  # the job reads the history or mirror
    assert item.project == "Testing" and item.assignee is None and "assignee" not in item.unknown
    assert item.parent is None and item.due_date is None and item.estimate is None
    assert [c.field for c in event.changes] == ["description"]


def test_issue_remove_is_a_deleted_item(webhook: Any) -> None:
    event = normalize(webhook("issue_remove.2021"), CFG)
    assert event is not None and event.kind is EventKind.DELETED and event.item.deleted
    assert event.item.key == "KOR-12"


@pytest.mark.parametrize(
    ("name", "key", "title", "author"),
    [
        ("comment_create.2021", "KOR-12", "webhook test 2", "user@example.com"),
        ("comment_create.2023", "LIN-28", "Save comments!", "Morgan"),
        ("comment_create.docs-example", "LIN-1778", None, None),
        ("comment_create.reply.2023", "MOR-34", "About okrs", "Morgan"),
    ],
)
def test_comment_events_give_a_partial_item_to_refetch(
    name: str, key: str, title: str | None, author: str | None, webhook: Any
) -> None:
    payload = webhook(name)
    event = normalize(payload, CFG)
    assert event is not None and event.kind is EventKind.COMMENT_CREATED
    item = event.item
    assert item.id == payload["data"]["issueId"] and item.key == key and item.is_partial
    assert {"status", "assignee", "labels", "team"} <= item.unknown
    assert (item.title if "title" not in item.unknown else None) == title
    assert event.comment is not None and event.comment.body == payload["data"]["body"]
    assert event.comment.author is not None and event.comment.author.name == author
    assert event.actor == event.comment.author  # no envelope actor: the comment's user acted
    assert item.url is not None and "#" not in item.url


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        ("issuelabel_create.2021", None, "new label"),
        ("issuelabel_update.2021", "new label", "update new label"),
        ("issuelabel_remove.2021", "update new label", None),
    ],
)
def test_issue_label_events_keep_the_name_cache_fresh(
    name: str, old: str | None, new: str | None, webhook: Any
) -> None:
    event = normalize(webhook(name), CFG)
    assert event is not None and event.kind is EventKind.LABEL_CHANGED
    change = event.change_of("label")
    assert change is not None and (change.old, change.new) == (old, new)
    assert event.item.custom["label_id"] == "13aa50db-xxxx-xxxx-xxxx-1cdd26695e65"
    assert event.item.custom["team_id"] == "eeaa0cbd-xxxx-xxxx-xxxx-1c701c3485f1"


def test_label_diff_from_updated_from_uses_payload_labels_and_the_cache(webhook: Any) -> None:
    payload = webhook("issue_update.description.2023")
    payload["data"]["labelIds"] = ["l-bug", "l-new"]
    payload["data"]["labels"] = [{"id": "l-bug", "name": "Bug"}, {"id": "l-new", "name": "stalled"}]
    payload["updatedFrom"] = {"labelIds": ["l-bug", "l-old"], "updatedAt": "2023-07-11T13:30:00.000Z"}
    event = normalize(payload, LinearConfig(label_names={"l-old": "needs-triage"}))
    assert event is not None
    change = event.change_of("labels")
    assert change is not None and change.added == ("stalled",) and change.removed == ("needs-triage",)
    assert event.item.labels == ("Bug", "stalled")
    assert event.item.custom["label_ids"] == ("l-bug", "l-new")


def test_label_ids_without_names_are_unknown_unless_cached(webhook: Any) -> None:
    payload = webhook("issue_update.description.2023")
    del payload["data"]["labels"]
    payload["data"]["labelIds"] = ["l-1"]
    event = normalize(payload, CFG)
    assert event is not None and "labels" in event.item.unknown
    event = normalize(payload, LinearConfig(label_names={"l-1": "Bug"}))
    assert event is not None and event.item.labels == ("Bug",)


@pytest.mark.parametrize(
    ("actor_type", "kind"),
    [("user", ActorKind.HUMAN), ("OauthClient", ActorKind.BOT), ("Integration", ActorKind.BOT)],
)
def test_actor_kinds(actor_type: str, kind: ActorKind, webhook: Any) -> None:
    payload = webhook("issue_create.cloud-2024")
    payload["actor"]["type"] = actor_type
    event = normalize(payload, CFG)
    assert event is not None and event.actor is not None and event.actor.kind is kind


def test_flowkeepers_own_user_is_marked(webhook: Any) -> None:
    payload = webhook("issue_create.cloud-2024")
    event = normalize(payload, LinearConfig(viewer_id=payload["actor"]["id"]))
    assert event is not None and event.actor is not None and event.actor.kind is ActorKind.FLOWKEEPER


def test_unicode_and_missing_fields(webhook: Any) -> None:
    payload = webhook("issue_create.cloud-2024")
    payload["data"]["title"] = "Überprüfen: 日本語 🚀"
    for key in ("state", "team", "labels", "labelIds", "priority", "creatorId"):
        del payload["data"][key]
    event = normalize(payload, CFG)
    assert event is not None
    assert event.item.title == "Überprüfen: 日本語 🚀" and event.item.key == "POR-5"
    assert {"status", "team", "labels", "priority", "reporter"} <= event.item.unknown


def test_old_envelope_variant_of_a_new_delivery(webhook: Any) -> None:
    payload = webhook("issue_create.cloud-2024")
    for key in ("actor", "organizationId", "webhookTimestamp", "webhookId"):
        del payload[key]
    event = normalize(payload, CFG)
    assert event is not None and event.actor is None and event.organization_id is None
    assert delivery_timestamp_ms(payload, {}) is None


def test_due_date_estimate_priority_cycle_parent(webhook: Any) -> None:
    payload = webhook("issue_update.description.2023")
    payload["data"].update(
        dueDate="2024-02-29",
        estimate=3,
        priority=1,
        priorityLabel="Urgent",
        cycle={"id": "c", "number": 7, "name": None},
        parent={"id": "p", "identifier": "LIN-1"},
    )
    event = normalize(payload, CFG)
    assert event is not None
    item = event.item
    assert item.due_date == date(2024, 2, 29) and item.estimate == 3.0
    assert item.priority is not None and (item.priority.name, item.priority.rank) == ("Urgent", 1)
    assert item.sprint == "Cycle 7" and item.parent == "LIN-1"


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "Project", "action": "update", "data": {}},
        {"type": "Reaction", "action": "create", "data": {}},
        {"type": "Comment", "action": "remove", "data": {"id": "c"}},
        {"type": "Issue", "action": "restore", "data": {"id": "i"}},
    ],
)
def test_types_flowkeeper_ignores(payload: dict) -> None:
    assert normalize(payload, CFG) is None


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"action": "create", "data": {}}, "no type or action"),
        ({"type": "Issue", "action": "create", "data": None}, "no data object"),
        ({"type": "Issue", "action": "create", "data": {"title": "x"}}, "no id"),
        (
            {"type": "Comment", "action": "create", "data": {"id": "c", "createdAt": "2024-01-01T00:00:00Z"}},
            "names no issue",
        ),
        (
            {"type": "Issue", "action": "update", "createdAt": "yesterday", "data": {"id": "i"}},
            "not a timestamp",
        ),
    ],
)
def test_malformed_payloads_raise_payload_error(payload: dict, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        normalize(payload, CFG)


def test_delivery_timestamp_prefers_body_then_header(webhook: Any) -> None:
    payload = webhook("comment_create.2023")
    assert delivery_timestamp_ms(payload, {"Linear-Timestamp": "1"}) == 1687218548502
    old = webhook("comment_create.2021")
    assert delivery_timestamp_ms(old, {"linear-timestamp": "1700000000000"}) == 1700000000000
    assert delivery_timestamp_ms(old, {"Linear-Timestamp": "soon"}) is None


def test_normalize_issue_from_a_graphql_node() -> None:
    node = {
        "id": "uuid-1",
        "identifier": "ENG-7",
        "url": "https://linear.app/acme/issue/ENG-7/x",
        "title": "Fix it",
        "description": None,
        "priority": 2,
        "priorityLabel": "High",
        "estimate": None,
        "dueDate": None,
        "createdAt": "2024-01-01T00:00:00.000Z",
        "updatedAt": "2024-01-03T00:00:00.000Z",
        "state": {"id": "s", "name": "In Review", "type": "started"},
        "assignee": {"id": "u1", "name": "ann", "displayName": "Ann", "email": "ann@example.com"},
        "creator": None,
        "team": {"key": "ENG"},
        "project": None,
        "cycle": None,
        "parent": None,
        "labels": {"nodes": [{"id": "l1", "name": "Bug"}]},
        "stateHistory": {"nodes": [{"startedAt": "2024-01-02T00:00:00.000Z", "endedAt": None}]},
        "inverseRelations": {
            "nodes": [
                {"type": "blocks", "issue": {"identifier": "ENG-3", "state": {"type": "completed"}}},
                {"type": "related", "issue": {"identifier": "ENG-4", "state": {"type": "started"}}},
            ]
        },
    }
    item = normalize_issue(node, CFG)
    assert item.unknown == frozenset()
    assert item.status.category is StatusCategory.IN_PROGRESS and item.assignee is not None
    assert item.assignee.name == "Ann" and item.reporter is None and item.labels == ("Bug",)
    assert item.status_changed_at == datetime(2024, 1, 2, tzinfo=UTC)
    assert [(link.kind, link.key, link.status_category) for link in item.links] == [
        ("blocked_by", "ENG-3", StatusCategory.DONE)
    ]


@pytest.mark.parametrize(
    "state_type",
    ["triage", "backlog", "unstarted", "started", "completed", "canceled", "duplicate", "something-new"],
)
def test_state_type_categories(state_type: str, webhook: Any) -> None:
    expected = {
        "triage": "todo",
        "backlog": "todo",
        "unstarted": "todo",
        "started": "in_progress",
        "completed": "done",
        "canceled": "canceled",
        "duplicate": "canceled",
    }.get(state_type, "unknown")
    payload = copy.deepcopy(webhook("issue_create.cloud-2024"))
    payload["data"]["state"]["type"] = state_type
    event = normalize(payload, CFG)
    assert event is not None and event.item.status.category.value == expected


def test_a_bug_on_linear_is_the_configured_label(webhook: Any) -> None:
    """Linear has no issue types: LINEAR_BUG_LABEL (default "Bug") makes `type: bug` match."""
    payload = webhook("issue_update.cyrillic.oauth_actor.derived-2025")
    assert normalize(payload, LinearConfig()).item.type is None  # type: ignore[union-attr]
    assert normalize(payload, LinearConfig(bug_label="ошибка")).item.type == "Bug"  # type: ignore[union-attr]
    del payload["data"]["labels"]
    assert "type" in normalize(payload, LinearConfig()).item.unknown  # type: ignore[union-attr]


# ---- planning fields: project milestone, cycle and project state, parent, sub-issues ------------

def _node(**fields: Any) -> dict[str, Any]:
    from tests.stub import linear_issue

    return {**linear_issue("ENG-9"), **fields}


def test_a_node_carries_milestone_cycle_and_project_state_parent_and_sub_issues() -> None:
    item = normalize_issue(_node(
        projectMilestone={"name": "Beta launch"}, parent={"identifier": "ENG-2"},
        cycle={"name": "Cycle 7", "number": 7, "isActive": True, "isFuture": False, "isPast": False,
               "completedAt": None},
        project={"name": "Launch", "completedAt": None, "canceledAt": None, "status": {"type": "paused"}},
        children={"nodes": [{"id": "c1"}, {"id": "c2"}, {"id": "c3"}]}), CFG)
    assert (item.milestones, item.parent, item.subtasks) == (("Beta launch",), "ENG-2", 3)
    assert (item.sprint, item.sprint_state, item.project, item.project_state) == (
        "Cycle 7", "active", "Launch", "paused")
    assert not {"milestones", "subtasks", "parent"} & item.unknown


@pytest.mark.parametrize(("cycle", "state"), [
    ({"isActive": False, "isFuture": True, "isPast": False, "completedAt": None}, "upcoming"),
    ({"isActive": False, "isFuture": False, "isPast": True, "completedAt": None}, "completed"),
    ({"isActive": False, "isFuture": False, "isPast": True, "completedAt": "2026-02-27T00:00:00.000Z"},
     "completed"),
    (None, None),
])
def test_the_cycle_state(cycle: Any, state: str | None) -> None:
    cycle = cycle and {"name": "C", "number": 1, **cycle}
    assert normalize_issue(_node(cycle=cycle), CFG).sprint_state == state


def test_a_node_from_an_older_selection_has_no_milestone_rather_than_failing() -> None:
    node = _node(cycle={"name": "C7", "number": 7, "isActive": True, "isFuture": False},
                 project={"name": "Launch", "completedAt": None, "canceledAt": None})
    node.pop("projectMilestone", None), node.pop("children", None)
    item = normalize_issue(node, CFG)
    assert (item.milestones, item.subtasks, item.sprint_state, item.project_state) == ((), None, "active", None)
    assert not {"milestones", "subtasks"} & item.unknown


def test_a_webhook_without_a_milestone_says_so_and_one_named_by_id_is_unknown(webhook: Any) -> None:
    payload = webhook("issue_update.description.2023")
    event = normalize(payload, CFG)
    assert event is not None
    assert event.item.milestones == () and "milestones" not in event.item.unknown
    assert "subtasks" in event.item.unknown  # webhooks do not list sub-issues: refetched, not guessed
    assert event.item.project == "Testing" and event.item.project_state is None

    payload["data"]["projectMilestoneId"] = "9a1e2b3c-0000-4000-8000-000000000001"
    payload["updatedFrom"]["projectMilestoneId"] = None
    event = normalize(payload, CFG)
    assert event is not None and "milestones" in event.item.unknown
    assert event.change_of("milestones") is not None


def test_a_2021_webhook_without_the_milestone_key_leaves_it_unknown(webhook: Any) -> None:
    event = normalize(webhook("issue_create.2021"), CFG)
    assert event is not None and {"milestones", "subtasks"} <= event.item.unknown
