"""An old database upgraded to head: the migrations run on their own, and the report figures kept at
write time that an upgrade brings in are filled once, when the new release starts, on both backends."""

from __future__ import annotations

import ast
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, func, select

from integration.settings import load_settings
from integration.store.audit import AuditEntry, Outcome
from integration.store.kept_figures import differing
from integration.store.kept_start import fill_missing
from integration.store.migrate import MIGRATIONS, alembic_config, upgrade
from integration.store.mirror import HistoryEntry
from integration.store.store import Store
from integration.store.tables import audit_log, cycles, first_starts, stay_days, stay_times
from integration.worker import run_worker
from rules.model import ActorKind, Status, StatusCategory
from tests.foundation.helpers import MINIMAL_RULES
from tests.foundation.test_store import item

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BEFORE_KEPT_FIGURES = "0010"  # the last revision before stay_days, cycle_stays, cycles, first_starts and stay_times


def mirrored(store: Store, *moves: tuple[int, str, StatusCategory]) -> None:
    """An item of the mirror with its status moves (days after T0, status, category); it is in the last."""
    _, name, category = moves[-1]
    it = item(status=Status(name, category))
    store.mirror.upsert(it, T0)
    store.mirror.record_history("jira", it, [
        HistoryEntry(at=T0 + timedelta(days=d), field="status", actor_kind=ActorKind.HUMAN, new=n, new_category=c)
        for d, n, c in moves])


def test_no_migration_imports_the_applications_code() -> None:
    """A migration runs unchanged against every later release: code it imports may change under it."""
    imported = {}
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        names = [node.module or "" for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.ImportFrom)]
        names += [alias.name for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Import)
                  for alias in node.names]
        ours = [name for name in names if name.split(".")[0] in ("integration", "rules", "webhooks")]
        if ours:
            imported[Path(path).name] = ours
    assert imported == {}


def counts(store: Store) -> list[int]:
    with store.engine.connect() as conn:
        return [conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (stay_days, cycles, first_starts, stay_times)]


def test_an_old_database_upgraded_to_head_gets_its_kept_figures_once_at_start(
        any_db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    store = Store.connect(any_db_url)
    try:
        mirrored(store, (0, "In Progress", StatusCategory.IN_PROGRESS), (2, "Done", StatusCategory.DONE))
        command.downgrade(alembic_config(any_db_url), BEFORE_KEPT_FIGURES)  # the release before the kept figures
        try:
            upgrade(any_db_url)
        finally:
            upgrade(any_db_url)  # never leave a shared database behind head
        with caplog.at_level(logging.INFO, logger="flowkeeper.store"):
            assert fill_missing(store.engine) == ["stay_days", "stay_times", "cycles", "first_starts"]
        assert any(r.message == "db.kept_figures.filled" for r in caplog.records)
        assert differing(store.engine) == []
        assert all(counts(store)), "each kept figure has rows"
        assert fill_missing(store.engine) == [], "once: the next start finds them there"
    finally:
        store.engine.dispose()


def test_a_database_whose_history_gives_no_figure_yet_is_not_rebuilt_at_every_start(any_db_url: str) -> None:
    store = Store.connect(any_db_url)
    try:
        mirrored(store, (0, "To Do", StatusCategory.TODO))
        assert fill_missing(store.engine) == []  # never started, never done: no cycle, no first start
    finally:
        store.engine.dispose()


def test_a_database_without_the_schema_yet_is_left_to_the_upgrade(tmp_path: Path) -> None:
    store = Store.connect(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    try:
        assert fill_missing(store.engine) == []
    finally:
        store.engine.dispose()


def test_a_worker_that_starts_fills_the_kept_figures_an_upgrade_left_empty(db_url: str, redis_url: str) -> None:
    store = Store.connect(db_url)
    try:
        mirrored(store, (0, "In Progress", StatusCategory.IN_PROGRESS))
        with store.engine.begin() as conn:  # as a migration leaves the tables it adds
            for table in (stay_days, first_starts, stay_times):
                conn.execute(table.delete())
        settings = load_settings({"DATABASE_URL": db_url, "REDIS_URL": redis_url, "RULES_DIR": str(MINIMAL_RULES)})
        assert run_worker(settings, burst=True) == 0
        assert differing(store.engine) == []
        assert counts(store)[0] and counts(store)[2] and counts(store)[3]
    finally:
        store.engine.dispose()


def test_a_database_out_of_reach_at_start_is_left_to_the_next_start(caplog: pytest.LogCaptureFixture) -> None:
    engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/flowkeeper", connect_args={"connect_timeout": 2})
    try:
        with caplog.at_level(logging.WARNING, logger="flowkeeper.store"):
            assert fill_missing(engine) == []
        assert [r.message for r in caplog.records] == ["db.kept_figures.unchecked"]
    finally:
        engine.dispose()


IDENTITIES = [  # (rule, identity) → (episode, clears) the audit log keeps
    (("stalled", "stalled/1/0/add_labels"), ("1", False)),
    (("stalled", "stalled/12/close-0/remove_labels"), ("12", True)),
    (("stalled", "stalled/2/close/remove_labels"), ("2", True)),  # step "close": entries before rungs
    (("stalled", "stalled/2/closed/comment"), ("2", False)),
    (("stalled", "stalled/3/close"), ("3", False)),
    (("ställt/x", "ställt/x/4/close-1/comment"), ("4", True)),  # a rule's name is cut by its length
    (("stalled", "stalled/7"), ("", False)),  # no slash after the episode: an empty one
    (("stalled", "stalled"), ("", False)),
    (("stalled", None), (None, False)),  # a rule's entry with no identity
    ((None, "stalled/1/0/comment"), (None, None)),  # no rule: no flag
]


def test_older_audit_entries_get_the_flag_keys_the_audit_log_writes(any_db_url: str) -> None:
    store = Store.connect(any_db_url)
    try:
        store.audit.record([AuditEntry(at=T0, tracker="jira", action="comment", outcome=Outcome.DONE, reason="test",
                                       rule=rule, detail={"identity": identity} if identity else {})
                            for (rule, identity), _ in IDENTITIES])
        keys = select(audit_log.c.episode, audit_log.c.clears).order_by(audit_log.c.id)
        with store.engine.connect() as conn:
            assert [tuple(r) for r in conn.execute(keys)] == [key for _, key in IDENTITIES], "as written"
        store.engine.dispose()
        command.downgrade(alembic_config(any_db_url), "0016")  # the entries as the release before wrote them
        try:
            upgrade(any_db_url)
        finally:
            upgrade(any_db_url)  # never leave a shared database behind head
        with store.engine.connect() as conn:
            assert [tuple(r) for r in conn.execute(keys)] == [key for _, key in IDENTITIES], "as migrated"
    finally:
        store.engine.dispose()
