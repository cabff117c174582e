"""Captured Jira webhooks (and variants derived from them) normalize to the right Event."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from jira_fixtures import load

from integration.trackers.errors import PayloadError
from integration.trackers.jira.normalize import JiraConfig, normalize, normalize_issue
from rules.model import ActorKind, EventKind, Link, StatusCategory

CREATED = "webhooks/jira_issue_created.cloud-2024.json"
UPDATED = "webhooks/jira_issue_updated.status_change.cloud-2024.json"
COMMENT = "webhooks/comment_created.derived.json"
ERIK = "557058:b2e19a89-93eb-479c-a287-d6943fe6b823"
SIRAJ = "712020:f1ad7cfd-7f82-4dc0-85e4-8bc47bcc08e4"


def test_issue_created_carries_every_field(config: JiraConfig) -> None:
    event = normalize(load(CREATED), config)
    assert event is not None
    item = event.item
    assert event.kind is EventKind.CREATED and event.source_type == "jira:issue_created"
    assert event.occurred_at == datetime(2024, 12, 29, 3, 11, 23, 659000, tzinfo=UTC)
    assert (item.key, item.id, item.team, item.type) == ("KAN-22", "10021", "KAN", "Task")
    assert item.url == "https://acme.atlassian.net/browse/KAN-22"
    assert item.title == "Add back button to pages"
    assert item.description is not None and item.description.startswith("Add back button navigation")
    assert (item.status.name, item.status.category, item.status.id) == ("To Do", StatusCategory.TODO, "10000")
    assert item.assignee is not None and (item.assignee.id, item.assignee.name) == (SIRAJ, "Sirajudheen MK")
    assert item.reporter is not None and item.reporter.id == SIRAJ
    assert item.priority is not None and (item.priority.name, item.priority.rank) == ("Medium", 3)
    assert item.labels == () and item.links == () and item.parent is None and item.due_date is None
    created = datetime(2024, 12, 29, 3, 11, 23, 303000, tzinfo=UTC)
    assert item.created_at == created and item.status_changed_at == created
    assert item.unknown == frozenset()  # a full issue: empty fields are empty, not unknown
    assert event.actor is not None and event.actor.kind is ActorKind.HUMAN and event.actor.id == SIRAJ
    assert [c.field for c in event.changes] == [
        "assignee",
        "description",
        "priority",
        "reporter",
        "status",
        "title",
    ]
    assert event.change_of("assignee").new == SIRAJ  # type: ignore[union-attr]
    assert event.change_of("status").new == "To Do"  # type: ignore[union-attr]


def test_issue_updated_status_change_with_unicode_title(config: JiraConfig) -> None:
    event = normalize(load(UPDATED), config)
    assert event is not None and event.kind is EventKind.UPDATED
    item = event.item
    assert item.title == "țâțe 1"
    assert item.status.name == "To Be Released" and item.status.category is StatusCategory.TODO
    change = event.change_of("status")
    assert change is not None and (change.old, change.new) == ("Wishlist", "To Be Released")
    assert item.status_changed_at == event.occurred_at  # the status was entered by this event
    assert item.updated_at == datetime(2024, 8, 9, 19, 36, 31, 865000, tzinfo=UTC)


def test_update_without_status_change_leaves_status_entry_unknown(config: JiraConfig) -> None:
    payload = load(UPDATED)
    payload["changelog"]["items"] = [
        {"field": "summary", "fieldId": "summary", "fromString": "a", "toString": "b"}
    ]
    event = normalize(payload, config)
    assert event is not None
    assert event.item.unknown == {"status_changed_at"}
    assert event.change_of("title") is not None


def test_labels_diff_from_space_separated_changelog(config: JiraConfig) -> None:
    payload = load(UPDATED)
    payload["issue"]["fields"]["labels"] = ["backend", "needs-review"]
    payload["changelog"]["items"] = [
        {
            "field": "labels",
            "fieldtype": "jira",
            "fieldId": "labels",
            "from": None,
            "fromString": "backend stale",
            "to": None,
            "toString": "backend needs-review",
        }
    ]
    event = normalize(payload, config)
    assert event is not None
    change = event.change_of("labels")
    assert change is not None
    assert change.added == ("needs-review",) and change.removed == ("stale",)
    assert event.item.labels == ("backend", "needs-review")


@pytest.mark.parametrize(
    ("category_key", "resolution", "expected"),
    [
        ("new", None, StatusCategory.TODO),
        ("indeterminate", None, StatusCategory.IN_PROGRESS),
        ("done", {"name": "Done"}, StatusCategory.DONE),
        ("done", {"name": "Won't Do"}, StatusCategory.CANCELED),
        ("done", {"name": "Duplicate"}, StatusCategory.CANCELED),
        ("undefined", None, StatusCategory.UNKNOWN),
    ],
)
def test_status_category_and_cancel_resolution(
    config: JiraConfig, category_key: str, resolution: dict | None, expected: StatusCategory
) -> None:
    payload = load(UPDATED)
    payload["issue"]["fields"]["status"]["statusCategory"]["key"] = category_key
    payload["issue"]["fields"]["resolution"] = resolution
    event = normalize(payload, config)
    assert event is not None and event.item.status.category is expected


def test_app_account_actor_is_a_bot(config: JiraConfig) -> None:
    payload = load(UPDATED)
    payload["user"] = {
        "accountId": "5d9f-automation",
        "displayName": "Automation for Jira",
        "accountType": "app",
    }
    event = normalize(payload, config)
    assert event is not None and event.actor is not None
    assert event.actor.kind is ActorKind.BOT and event.actor.id == "5d9f-automation"


def test_comment_event_is_partial_and_names_what_is_missing(config: JiraConfig) -> None:
    event = normalize(load(COMMENT), config)
    assert event is not None and event.kind is EventKind.COMMENT_CREATED
    item = event.item
    assert item.is_partial
    assert {
        "labels",
        "created_at",
        "updated_at",
        "reporter",
        "status_changed_at",
        "custom.severity",
    } <= item.unknown
    assert "status" not in item.unknown and item.status.category is StatusCategory.TODO
    assert "assignee" not in item.unknown and item.assignee is not None and item.assignee.id == ERIK
    assert event.comment is not None and event.comment.id == "10110"
    assert event.comment.body.startswith("Still waiting on the SDK update")
    assert event.actor is not None and event.actor.id == ERIK


def test_comment_updated_actor_is_the_update_author(config: JiraConfig) -> None:
    payload = load(COMMENT)
    payload["webhookEvent"] = "comment_updated"
    payload["comment"]["updateAuthor"] = {"accountId": "editor-1", "displayName": "Editor"}
    event = normalize(payload, config)
    assert event is not None and event.kind is EventKind.COMMENT_UPDATED
    assert event.actor is not None and event.actor.id == "editor-1"


def test_deleted_issue_is_marked_deleted(config: JiraConfig) -> None:
    payload = load(UPDATED)
    payload["webhookEvent"] = "jira:issue_deleted"
    payload.pop("changelog")
    event = normalize(payload, config)
    assert event is not None and event.kind is EventKind.DELETED and event.item.deleted


@pytest.mark.parametrize("event_type", ["worklog_created", "jira:version_released", "sprint_started"])
def test_other_event_types_are_ignored(config: JiraConfig, event_type: str) -> None:
    payload = load(UPDATED)
    payload["webhookEvent"] = event_type
    assert normalize(payload, config) is None


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ([1, 2], "not a JSON object"),
        ({"timestamp": 1}, "no webhookEvent"),
        (
            {"webhookEvent": "jira:issue_updated", "timestamp": 1, "issue": {"fields": {}}},
            "without an issue key",
        ),
        ({"webhookEvent": "jira:issue_updated", "issue": {"key": "A-1"}}, "no numeric timestamp"),
    ],
)
def test_truly_broken_payloads_raise_payload_error(config: JiraConfig, payload: object, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        normalize(payload, config)  # type: ignore[arg-type]


def test_missing_and_extra_fields_are_tolerated(config: JiraConfig) -> None:
    payload = load(UPDATED)
    fields = payload["issue"]["fields"]
    del fields["assignee"], fields["priority"]
    fields["customfield_99999"] = {"whatever": ["new", "shape"]}
    payload["brandNewTopLevel"] = {"x": 1}
    event = normalize(payload, config)
    assert event is not None
    assert {"assignee", "priority"} <= event.item.unknown
    assert event.item.assignee is None and event.item.title == "țâțe 1"


def test_rich_fields_parent_epic_sprint_points_links_due(config: JiraConfig) -> None:
    payload = load(UPDATED)
    fields = payload["issue"]["fields"]
    fields["parent"] = {
        "key": "GBL-7",
        "fields": {"summary": "Payments v2", "issuetype": {"name": "Epic", "hierarchyLevel": 1}},
    }
    fields["customfield_10020"] = [
        {"id": 1, "name": "Sprint 11", "state": "closed"},
        {"id": 2, "name": "Sprint 12", "state": "active"},
    ]
    fields["customfield_10016"] = 5.0
    fields["customfield_10050"] = {"value": "S2", "id": "10100"}
    fields["duedate"] = "2024-08-20"
    fields["labels"] = ["backend"]
    fields["issuelinks"] = [
        {
            "id": "1",
            "type": {"name": "Blocks", "inward": "is blocked by", "outward": "blocks"},
            "inwardIssue": {
                "key": "GBL-9",
                "fields": {"status": {"name": "In Progress", "statusCategory": {"key": "indeterminate"}}},
            },
        },
        {
            "id": "2",
            "type": {"name": "Blocks", "inward": "is blocked by", "outward": "blocks"},
            "outwardIssue": {"key": "GBL-10"},
        },
    ]
    item = normalize_issue(payload["issue"], config)
    assert (item.parent, item.project, item.sprint, item.estimate) == (
        "GBL-7",
        "Payments v2",
        "Sprint 12",
        5.0,
    )
    assert item.due_date == date(2024, 8, 20) and item.labels == ("backend",)
    assert item.custom["severity"] == "S2"
    assert item.links == (
        Link("blocked_by", "GBL-9", StatusCategory.IN_PROGRESS),
        Link("blocks", "GBL-10", None),
    )


def test_rest_issue_with_adf_description_and_changelog(config: JiraConfig) -> None:
    issue = load(UPDATED)["issue"]
    issue["fields"]["description"] = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "Steps: "},
                    {"type": "mention", "attrs": {"id": "x", "text": "@Ana"}},
                ],
            }
        ],
    }
    issue["changelog"] = {
        "startAt": 0,
        "maxResults": 2,
        "total": 2,
        "histories": [
            {
                "created": "2024-08-10T09:00:00.000+0000",
                "items": [{"field": "status", "fieldId": "status", "toString": "In Progress"}],
            },
            {
                "created": "2024-08-11T09:00:00.000+0000",
                "items": [{"field": "labels", "fieldId": "labels", "toString": "x"}],
            },
        ],
    }
    item = normalize_issue(issue, config)
    assert item.description == "Steps: @Ana"
    assert item.status_changed_at == datetime(2024, 8, 10, 9, 0, tzinfo=UTC)
    assert "status_changed_at" not in item.unknown


def test_custom_field_change_uses_configured_names(config: JiraConfig) -> None:
    payload = load(UPDATED)
    payload["changelog"]["items"] = [
        {"field": "Story point estimate", "fieldId": "customfield_10016", "fromString": "3", "toString": "5"},
        {"field": "Severity", "fieldId": "customfield_10050", "fromString": "S3", "toString": "S2"},
        {"field": "Sprint", "fieldId": "customfield_10020", "fromString": "", "toString": "Sprint 12"},
    ]
    event = normalize(payload, config)
    assert event is not None
    assert [c.field for c in event.changes] == ["estimate", "severity", "sprint"]


def test_a_bug_is_known_by_its_type_not_its_translated_name() -> None:
    """"Ошибка" is Jira's standard Bug type (its avatar) on a Russian site; other types keep their name."""
    payload = load("webhooks/jira_issue_updated.status_change.cyrillic.derived.json")
    event = normalize(payload, JiraConfig())
    assert event is not None and event.item.type == "Bug"
    payload["issue"]["fields"]["issuetype"] |= {"id": "10050", "name": "Дефект", "avatarId": 10550}
    assert normalize(payload, JiraConfig()).item.type == "Дефект"  # type: ignore[union-attr]
    mapped = normalize(payload, JiraConfig(bug_types=("10050",)))  # JIRA_BUG_TYPES=10050
    assert mapped is not None and mapped.item.type == "Bug"
    story = load("webhooks/jira_issue_updated.status_change.cloud-2024.json")
    assert normalize(story, JiraConfig(bug_types=("10050",))).item.type == "Story"  # type: ignore[union-attr]


def test_priority_ranks_by_the_sites_list_never_by_name() -> None:
    payload = load("webhooks/jira_issue_updated.status_change.cyrillic.derived.json")
    assert normalize(payload, JiraConfig()).item.priority.rank is None  # type: ignore[union-attr]
    ranked = normalize(payload, JiraConfig(priority_ranks={"1": 1, "10001": 2, "3": 3}))
    assert ranked is not None and ranked.item.priority is not None
    assert (ranked.item.priority.name, ranked.item.priority.rank) == ("Обычный", 2)


# ---- planning fields: fix versions, sprint state, sub-tasks, parent --------------------------

V20 = {"self": "https://acme.atlassian.net/rest/api/3/version/10000", "id": "10000", "name": "v2.0",
       "archived": False, "released": False, "releaseDate": "2025-02-01"}
R3 = {"self": "https://acme.atlassian.net/rest/api/3/version/10001", "id": "10001", "name": "Release 3",
      "archived": False, "released": True}
SPRINTS = [{"id": 1, "name": "KAN Sprint 1", "state": "closed", "boardId": 1},
           {"id": 2, "name": "KAN Sprint 2", "state": "active", "boardId": 1}]


def test_the_webhook_issue_carries_fix_versions_sub_tasks_parent_and_sprint_state(config: JiraConfig) -> None:
    payload = load(UPDATED)
    fields = payload["issue"]["fields"]
    fields["fixVersions"] = [V20, R3]
    fields["subtasks"] = [{"id": "10030", "key": "KAN-30", "fields": {"summary": "a"}},
                          {"id": "10031", "key": "KAN-31", "fields": {"summary": "b"}}]
    fields["parent"] = {"id": "10005", "key": "KAN-5", "fields": {"summary": "Epic"}}
    fields[config.sprint_field] = SPRINTS
    event = normalize(payload, config)
    assert event is not None
    item = event.item
    assert (item.milestones, item.subtasks, item.parent) == (("v2.0", "Release 3"), 2, "KAN-5")
    assert (item.sprint, item.sprint_state, item.project_state) == ("KAN Sprint 2", "active", None)
    assert not {"milestones", "subtasks", "sprint_state"} & item.unknown


def test_the_captured_webhook_has_no_versions_and_no_sub_tasks(config: JiraConfig) -> None:
    event = normalize(load(CREATED), config)
    assert event is not None
    assert (event.item.milestones, event.item.subtasks, event.item.sprint_state) == ((), 0, None)


@pytest.mark.parametrize(("state", "expected"), [("active", "active"), ("future", "upcoming"),
                                                 ("closed", "completed")])
def test_sprint_states_in_rules_words(config: JiraConfig, state: str, expected: str) -> None:
    issue = load(UPDATED)["issue"]
    issue["fields"][config.sprint_field] = [{"id": 3, "name": "S3", "state": state}]
    assert normalize_issue(issue, config).sprint_state == expected


def test_an_answer_from_an_older_field_list_has_no_versions_rather_than_failing(config: JiraConfig) -> None:
    issue = load(UPDATED)["issue"]
    del issue["fields"]["fixVersions"], issue["fields"]["subtasks"]
    item = normalize_issue(issue, config)
    assert (item.milestones, item.subtasks) == ((), None)
    assert not {"milestones", "subtasks"} & item.unknown


def test_a_comment_event_leaves_versions_unknown(config: JiraConfig) -> None:
    event = normalize(load(COMMENT), config)
    assert event is not None
    assert {"milestones", "subtasks"} <= event.item.unknown


def test_a_fix_version_change_is_a_milestones_change(config: JiraConfig) -> None:
    payload = load(UPDATED)
    payload["changelog"]["items"] = [{"field": "Fix Version", "fieldtype": "jira", "fieldId": "fixVersions",
                                      "from": None, "fromString": None, "to": "10000", "toString": "v2.0"}]
    event = normalize(payload, config)
    assert event is not None and event.change_of("milestones") is not None
    assert event.change_of("milestones").new == "v2.0"  # type: ignore[union-attr]
