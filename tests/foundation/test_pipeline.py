"""One event the whole way in-process: normalize → mirror → rules → executor → stub tracker → audit."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from integration.services import Services
from integration.store.audit import AuditFilter
from integration.trackers.jira import normalize as jira_normalize
from integration.trackers.jira.normalize import JiraConfig
from rules.model import ActorKind
from tests.foundation.helpers import MINIMAL_RULES, fixture
from tests.services import MakeServices
from tests.stub import Stub, jira_issue, running_stub


@pytest.fixture
def stub() -> Iterator[Stub]:
    with running_stub() as running:
        yield running


def stub_services(make_services: MakeServices, stub: Stub, *, live: bool) -> Services:
    return make_services({"RULES_DIR": str(MINIMAL_RULES), "JIRA_URL": stub.url, "JIRA_USER": "bot@acme.test",
                          "JIRA_API_TOKEN": "token-abc", "FLOWKEEPER_DRY_RUN": "0" if live else "1"})


def unassigned_in_progress(delivery: str = "d-1", actor: dict[str, Any] | None = None) -> Any:
    """The captured Jira issue_created, moved to In Progress with nobody assigned."""
    payload = copy.deepcopy(fixture("jira", "jira_issue_created.cloud-2024.json"))
    fields = payload["issue"]["fields"]
    fields["assignee"] = None
    fields["status"] = {"name": "In Progress", "id": "3",
                        "statusCategory": {"key": "indeterminate", "name": "In Progress"}}
    if actor is not None:
        payload["user"] = actor
    event = jira_normalize.normalize(payload, JiraConfig())
    assert event is not None
    return replace(event, delivery_id=delivery)


def seed(stub: Stub, key: str = "KAN-22") -> None:
    stub.seed_jira(jira_issue(key, assignee=None))


def test_dry_run_records_would_do_and_writes_nothing(make_services: MakeServices, stub: Stub) -> None:
    services = stub_services(make_services, stub, live=False)
    outcome = services.pipeline().handle(unassigned_in_progress())
    entries = services.store.audit.page(AuditFilter(item_key="KAN-22"))
    assert sorted((e.action, e.outcome.value) for e in entries) == [("add_labels", "would_do"), ("comment", "would_do")]
    assert all(e.rule == "started-without-assignee" for e in entries)
    assert "would_do" in outcome
    assert stub.writes() == []


def test_live_run_writes_once_even_when_events_repeat(make_services: MakeServices, stub: Stub) -> None:
    seed(stub)
    services = stub_services(make_services, stub, live=True)
    pipeline = services.pipeline()
    pipeline.handle(unassigned_in_progress("d-1"))
    pipeline.handle(unassigned_in_progress("d-2"))  # a later event while the condition still holds
    state = stub.state()
    assert len(state["jira_comments"]["KAN-22"]) == 1, "one comment per episode"
    assert state["jira_issues"]["KAN-22"]["fields"]["labels"] == ["needs-owner"]
    done = services.store.audit.count(AuditFilter(item_key="KAN-22", outcome="done"))
    assert done == 2  # the comment and the label, once


def test_duplicate_delivery_is_processed_once(make_services: MakeServices, stub: Stub) -> None:
    seed(stub)
    services = stub_services(make_services, stub, live=True)
    pipeline = services.pipeline()
    pipeline.handle(unassigned_in_progress("same"))
    assert pipeline.handle(unassigned_in_progress("same")).startswith("duplicate")
    assert len(stub.state()["jira_comments"]["KAN-22"]) == 1


def test_event_by_flowkeepers_own_account_is_ignored(make_services: MakeServices, stub: Stub) -> None:
    seed(stub)
    services = stub_services(make_services, stub, live=True)
    own = {"accountId": "stub-flowkeeper-account", "displayName": "Flowkeeper", "accountType": "atlassian"}
    outcome = services.pipeline().handle(unassigned_in_progress(actor=own))
    assert "loop protection" in outcome
    assert stub.writes() == []
    history = services.store.mirror.history("jira", "10021")
    assert history and all(h.actor_kind is ActorKind.FLOWKEEPER for h in history), "own changes never count"


def test_changes_by_an_account_listed_as_a_bot_are_no_persons_activity(make_services: MakeServices,
                                                                       stub: Stub) -> None:
    seed(stub)
    services = make_services({"RULES_DIR": str(MINIMAL_RULES), "JIRA_URL": stub.url, "JIRA_USER": "bot@acme.test",
                              "JIRA_API_TOKEN": "token-abc", "FLOWKEEPER_BOT_ACCOUNTS": "ACC-SYNC-SCRIPT"})
    script = {"accountId": "acc-sync-script", "displayName": "CRM sync", "accountType": "atlassian"}
    services.pipeline().handle(unassigned_in_progress(actor=script))
    history = services.store.mirror.history("jira", "10021")
    assert history and all(h.actor_kind is ActorKind.BOT for h in history), "a listed account is a bot"


def test_partial_comment_event_is_refetched_not_taken_as_unassigned(make_services: MakeServices, stub: Stub) -> None:
    stub.seed_jira(jira_issue("GBL-142", assignee={"accountId": "acc-ann", "displayName": "Ann",
                                                   "accountType": "atlassian"}))
    services = stub_services(make_services, stub, live=True)
    event = jira_normalize.normalize(fixture("jira", "comment_created.derived.json"), JiraConfig())
    assert event is not None and event.item.is_partial
    services.pipeline().handle(replace(event, delivery_id="c-1"))
    paths = [r["path"] for r in stub.requests()]
    assert "/rest/api/3/issue/GBL-142" in paths, "the issue was read from the tracker"
    mirrored = services.store.mirror.get_by_key("jira", "GBL-142")
    assert mirrored is not None and mirrored.assignee is not None and mirrored.assignee.id == "acc-ann"
    assert stub.writes() == []


def test_partial_event_without_credentials_or_mirror_skips_rules_that_need_the_missing_fields(
    make_services: MakeServices,
) -> None:
    services = make_services({"RULES_DIR": str(MINIMAL_RULES)})
    event = jira_normalize.normalize(fixture("jira", "comment_created.derived.json"), JiraConfig())
    assert event is not None
    services.pipeline().handle(replace(event, delivery_id="c-2"))
    assert services.store.mirror.get_by_key("jira", "GBL-142") is None, "no placeholders in the mirror"
    assert services.store.audit.count(AuditFilter(item_key="GBL-142", outcome="would_do")) == 0


def test_assigning_the_item_clears_the_flag(make_services: MakeServices, stub: Stub) -> None:
    seed(stub)
    services = stub_services(make_services, stub, live=True)
    pipeline = services.pipeline()
    pipeline.handle(unassigned_in_progress("d-1"))
    assigned = unassigned_in_progress("d-2")
    person = jira_normalize.person({"accountId": "acc-ann", "displayName": "Ann", "accountType": "atlassian"})
    later = assigned.item.updated_at.replace(minute=59) if assigned.item.updated_at else None
    pipeline.handle(replace(assigned, item=replace(assigned.item, assignee=person, labels=("needs-owner",),
                                                   updated_at=later)))
    assert stub.state()["jira_issues"]["KAN-22"]["fields"]["labels"] == []
    removed = services.store.audit.page(AuditFilter(item_key="KAN-22", outcome="done"))
    assert any(e.action == "remove_labels" for e in removed)


def test_linear_organization_is_learned_for_the_receiver(make_services: MakeServices, stub: Stub) -> None:
    services = make_services({"RULES_DIR": str(MINIMAL_RULES), "LINEAR_API_KEY": "lin_api_x",
                              "LINEAR_API_URL": f"{stub.url}/graphql"})
    me = services.pipeline().service_account("linear")
    assert me is not None and me.id == "stub-flowkeeper-user"
    assert services.store.service.get("linear.organization_id") == "stub-org"


def test_an_older_delivery_never_rolls_the_mirror_back(make_services: MakeServices) -> None:
    """A comment event delivered late carries an old slice of the issue: the newer mirror wins."""
    services = make_services({"RULES_DIR": str(MINIMAL_RULES)})
    current = jira_normalize.normalize(fixture("jira", "jira_issue_updated.status_change.cloud-2024.json"),
                                       JiraConfig())
    assert current is not None and current.item.updated_at is not None
    services.pipeline().handle(replace(current, delivery_id="d-new"))
    late = jira_normalize.normalize(fixture("jira", "comment_created.derived.json"), JiraConfig())
    assert late is not None and "title" not in late.item.unknown
    old_slice = replace(late.item, title="An old title")
    services.pipeline().handle(replace(late, item=old_slice, delivery_id="d-late",
                                       occurred_at=current.item.updated_at.replace(year=2023)))
    mirrored = services.store.mirror.get("jira", current.item.id)
    assert mirrored is not None and mirrored.title == current.item.title
