"""Every event kind through the whole pipeline on a real store: a verdict or a reason, no failed job.

An edited comment on an item already in the mirror once failed the delivery with
KeyError; here every EventKind, from every kind of actor, reaches rules listening to
every trigger, on both trackers.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integration.services import Services
from integration.store.audit import AuditFilter
from rules.model import (
    ActorKind,
    Comment,
    Event,
    EventKind,
    Item,
    Person,
    Status,
    StatusCategory,
    Tracker,
)
from tests.rules.helpers import every_trigger_rules
from tests.services import MakeServices

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def services(make_services: MakeServices, tmp_path: Path) -> Services:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "kinds.yml").write_text(every_trigger_rules(), encoding="utf-8")
    return make_services({"RULES_DIR": str(rules)})


def _item(tracker: Tracker, n: int, category: StatusCategory, assigned: bool) -> Item:
    return Item(tracker, f"id-{n}", f"ENG-{n}", title="Fix login", team="ENG",
                status=Status("Doing", category), created_at=START, updated_at=START,
                assignee=Person("u-ada", "Ada") if assigned else None)


_counter = iter(range(1, 10**9))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(list(EventKind)), tracker=st.sampled_from(list(Tracker)),
       actor=st.sampled_from(list(ActorKind)), category=st.sampled_from(list(StatusCategory)),
       assigned=st.booleans(), mirrored=st.booleans())
def test_every_event_kind_is_handled_without_a_failed_job(
        services: Services, kind: EventKind, tracker: Tracker, actor: ActorKind, category: StatusCategory,
        assigned: bool, mirrored: bool) -> None:
    n = next(_counter)
    pipeline = services.pipeline()
    work = _item(tracker, n, category, assigned)
    if mirrored:  # the item is already in the mirror, as when the crash was seen
        pipeline.handle(Event(tracker, EventKind.CREATED, work, START, delivery_id=f"c-{n}"))
    who = Person("u-zoe", "Zoë", kind=actor)
    comment = Comment(f"cm-{n}", "edited: still waiting", who, START) if "comment" in kind.value else None
    event = Event(tracker, kind, work, START + timedelta(hours=1), delivery_id=f"d-{n}", actor=who,
                  comment=comment, source_type=f"test:{kind.value}")
    outcome = pipeline.handle(event)
    assert outcome and not outcome.startswith("duplicate")
    entries = services.store.audit.page(AuditFilter(item_key=work.key))
    assert any(e.action == kind.value or e.rule for e in entries), outcome


def test_an_edited_comment_on_a_mirrored_item_is_judged(services: Services) -> None:
    pipeline = services.pipeline()
    work = _item(Tracker.JIRA, 0, StatusCategory.IN_PROGRESS, assigned=False)
    pipeline.handle(Event(Tracker.JIRA, EventKind.CREATED, work, START, delivery_id="c-0"))
    edited = Event(Tracker.JIRA, EventKind.COMMENT_UPDATED, replace(work, title="Fix login (edited)"),
                   START + timedelta(hours=1), delivery_id="d-0", actor=Person("u-zoe", "Zoë"),
                   comment=Comment("cm-0", "edited", Person("u-zoe", "Zoë"), START))
    outcome = pipeline.handle(edited)
    assert "r3-comment-updated:comment:would_do" in outcome
    assert "r2-comment-created" not in outcome
