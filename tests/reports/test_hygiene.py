"""Rule hygiene from audit entries, rule states and label history, with exact expected numbers."""

from __future__ import annotations

from datetime import date

import pytest
from alembic import command
from sqlalchemy import update

from integration.reports.hygiene import Compliance, RuleHygiene, compliance, hygiene, weekly_flags
from integration.reports.scope import RuleCatalog, Scope
from integration.store.audit import AuditEntry, Outcome
from integration.store.migrate import alembic_config, upgrade
from integration.store.store import Store
from integration.store.tables import audit_log
from rules.model import ActorKind
from tests.reports.builder import Builder, day

PERIOD = Scope(day(0), day(14), teams=("ENG",))
CATALOG = RuleCatalog(stalled_rules=frozenset({"stalled"}), flag_labels={"stalled": ("stalled",)})


@pytest.fixture
def team(any_store: Store) -> Builder:
    b = Builder(any_store)
    i1 = b.item("ENG-1", -1, [(0.5, "In Progress")], assignee="ann", estimate=3)
    b.action(i1, "stalled", 1, "add_labels", labels=("stalled",))
    b.action(i1, "stalled", 1, "comment")
    b.action(i1, "stalled", 3.5, "remove_labels", step="close-0", labels=("stalled",))

    i2 = b.item("ENG-2", -1, [(1, "In Progress")], assignee="bob")
    b.action(i2, "stalled", 2, "add_labels", labels=("stalled",))
    b.labels(i2, 2.5, removed="-stalled")  # a person took the flag off within a day
    b.episode(i2, "stalled", 2)

    i3 = b.item("ENG-3", -10, [(-6, "In Progress")])
    b.action(i3, "stalled", -5, "add_labels", labels=("stalled",))
    b.action(i3, "stalled", 1, "remove_labels", step="close")
    b.action(i3, "stalled", 8, "add_labels", episode=2, labels=("stalled",))
    b.labels(i3, 10, removed="-stalled")  # two days later: not a quick undo
    b.labels(i3, 8.1, removed="-stalled-other", kind=ActorKind.HUMAN)  # another label: not this flag
    b.action(i3, "stalled", 11, "remove_labels", episode=2, step="close")

    i4 = b.item("ENG-4", 0, [(3, "In Progress")], estimate=2)
    b.action(i4, "needs-assignee", 4, "comment", outcome=Outcome.WOULD_DO)
    b.episode(i4, "needs-assignee", 4, mode="dry", closed=6)  # closed without a write of its own

    i7 = b.item("ENG-7", -5)  # flagged before the period, closed in it with no write in it
    b.action(i7, "needs-assignee", -3, "comment", outcome=Outcome.WOULD_DO)
    b.episode(i7, "needs-assignee", -3, mode="dry", closed=2)

    b.item("ENG-6", -5, [(-3, "In Progress"), (-1, "Done"), (2, "In Progress")])  # started before
    i5 = b.item("OPS-1", 0, [(1, "In Progress")], team="OPS")
    b.action(i5, "stalled", 1, "add_labels", labels=("stalled",))
    b.action(i1, "digest:ENG", 7, "comment")  # the digest is not a rule
    return b


def test_hygiene_per_rule(team: Builder) -> None:
    with team.store.engine.connect() as conn:
        rows = hygiene(conn, PERIOD, CATALOG)
    assert rows == (
        RuleHygiene("needs-assignee", opened=1, cleared=2, fix_p50_days=2.0, fix_p85_days=5.0,
                    flagged_live=0, flagged_dry=0, flags_set=0, undone_in_a_day=0),
        RuleHygiene("stalled", opened=3, cleared=3, fix_p50_days=3.0, fix_p85_days=6.0,
                    flagged_live=1, flagged_dry=0, flags_set=3, undone_in_a_day=1),
    )
    assert rows[1].undone_share == 0.333


def test_hygiene_without_a_catalog_counts_every_label_a_rule_added(team: Builder) -> None:
    with team.store.engine.connect() as conn:
        rows = {r.rule: r for r in hygiene(conn, PERIOD)}
    assert (rows["stalled"].flags_set, rows["stalled"].undone_in_a_day) == (3, 1)


def test_flags_opened_and_cleared_per_week(team: Builder) -> None:
    with team.store.engine.connect() as conn:
        weeks = weekly_flags(conn, PERIOD)
    assert weeks == (
        (date(2024, 3, 4), "needs-assignee", 1, 2),
        (date(2024, 3, 4), "stalled", 2, 2),
        (date(2024, 3, 11), "stalled", 1, 1),
    )


def test_convention_compliance_of_items_started_in_the_period(team: Builder) -> None:
    with team.store.engine.connect() as conn:
        figures = compliance(conn, PERIOD)
    assert figures == Compliance(started=3, with_assignee=2, with_estimate=2, with_both=1)
    assert figures.share(figures.with_both) == 0.333


def older_entries(b: Builder) -> None:
    """Entries the fixture lacks: a rule's write with no identity, and a dry-run episode cleared by a
    write of step "close" (as entries were written before each rung cleared under its own step)."""
    i1 = b.store.mirror.get("jira", b.ids["ENG-1"])
    assert i1 is not None
    b.store.audit.record([AuditEntry(at=day(5), tracker="jira", action="comment", outcome=Outcome.DONE, reason="test",
                                     item_key="ENG-1", rule="stalled", detail={"labels": ["stalled"]})])
    b.action(i1, "needs-assignee", 6, "comment", episode=3, outcome=Outcome.WOULD_DO)
    b.action(i1, "needs-assignee", 9, "comment", episode=3, step="close", outcome=Outcome.WOULD_DO)


def figures(store: Store) -> tuple[object, ...]:
    with store.engine.connect() as conn:
        return hygiene(conn, PERIOD, CATALOG), weekly_flags(conn, PERIOD)


def test_hygiene_is_the_same_from_the_kept_keys_the_migrated_ones_and_the_identities(team: Builder) -> None:
    """The episode and clearing step kept with each write (written by the audit log, filled by migration
    0017 for older entries, or cut from the identity of an entry written without them) give the same
    figures as the report gave when it cut them from every identity."""
    older_entries(team)
    url = team.store.engine.url.render_as_string(hide_password=False)
    expected = (
        (RuleHygiene("needs-assignee", opened=2, cleared=3, fix_p50_days=3.0, fix_p85_days=5.0,
                     flagged_live=0, flagged_dry=0, flags_set=0, undone_in_a_day=0),
         RuleHygiene("stalled", opened=4, cleared=3, fix_p50_days=3.0, fix_p85_days=6.0,
                     flagged_live=1, flagged_dry=0, flags_set=3, undone_in_a_day=1)),
        ((date(2024, 3, 4), "needs-assignee", 2, 2), (date(2024, 3, 4), "stalled", 3, 2),
         (date(2024, 3, 11), "needs-assignee", 0, 1), (date(2024, 3, 11), "stalled", 1, 1)),
    )  # as the report gave them before 0017, on both backends
    assert figures(team.store) == expected, "kept by the audit log's writer"
    team.store.engine.dispose()
    command.downgrade(alembic_config(url), "0016")  # the entries as the release before wrote them
    try:
        upgrade(url)
    finally:
        upgrade(url)  # never leave a shared database behind head
    assert figures(team.store) == expected, "filled by the migration"
    with team.store.engine.begin() as conn:  # as the release before writes while the upgrade runs beside it
        conn.execute(update(audit_log).values(episode=None, clears=None))
    assert figures(team.store) == expected, "cut from the identity"
