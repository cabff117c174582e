"""Table definitions (SQLAlchemy Core). Alembic migrations create them; tests compare both."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData()
STAYS_WHERE = "field IN ('status', 'created')"  # the rows that set an item's status (partial indexes)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite would otherwise hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UTC_DATETIME = UTCDateTime()


def item_columns(key: str | None = None) -> list[Column[Any]]:
    """The opening of every per-item table: its id, the tracker and the tracker's id of the item.

    With `key`, the item's human key (OPS-12) follows under that column name.
    """
    columns: list[Column[Any]] = [
        Column("id", Integer, primary_key=True),
        Column("tracker", String(16), nullable=False),
        Column("item_id", String(64), nullable=False),
    ]
    if key is not None:
        columns.append(Column(key, String(64), nullable=False))
    return columns


def rule_column() -> Column[str]:
    """The name of the rule a row belongs to."""
    return Column("rule", String(128), nullable=False)

items = Table(
    "items",
    metadata,
    *item_columns("key"),
    Column("team", String(64)),
    Column("parent", String(64)),  # the parent's key (Item.parent), for rolling sub-tasks up to it
    Column("project", Text),  # Item.project (Linear project / Jira epic name): the roadmap groups by it
    Column("title", Text),
    Column("status_name", String(128)),
    Column("status_category", String(16)),
    Column("assignee_id", String(128)),
    Column("assignee_name", String(256)),
    Column("estimate", Float),
    Column("created_at", UTC_DATETIME),
    Column("updated_at", UTC_DATETIME),
    Column("status_changed_at", UTC_DATETIME),
    Column("last_activity_at", UTC_DATETIME),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("data", JSON, nullable=False),
    Column("synced_at", UTC_DATETIME, nullable=False),
    UniqueConstraint("tracker", "item_id", name="uq_items_tracker_item"),
)
Index("ix_items_tracker_key", items.c.tracker, items.c.key)
Index("ix_items_category_assignee", items.c.status_category, items.c.assignee_id)
Index("ix_items_team", items.c.tracker, items.c.team)
Index("ix_items_wip", items.c.tracker, items.c.status_category, items.c.deleted, items.c.assignee_id)
# the flag join (integration.store.flags) reads `deleted` and `team` from here, never the item's row
Index("ix_items_flag_join", items.c.tracker, items.c.item_id, items.c.deleted, items.c.team)
Index("ix_items_parent", items.c.tracker, items.c.parent)
Index("ix_items_project", items.c.tracker, items.c.project)
# the few items known to be deleted: the Flagged page takes their flags off its count
Index("ix_items_deleted", items.c.tracker, items.c.item_id, sqlite_where=items.c.deleted == True,  # noqa: E712
      postgresql_where=items.c.deleted == True)  # noqa: E712

item_history = Table(
    "item_history",
    metadata,
    *item_columns("key"),
    Column("team", String(64)),
    Column("at", UTC_DATETIME, nullable=False),
    Column("field", String(64), nullable=False),  # status, comment, labels, assignee, created, ...
    Column("old", Text),
    Column("new", Text),
    Column("old_category", String(16)),
    Column("new_category", String(16)),
    Column("actor_id", String(128)),
    Column("actor_kind", String(16), nullable=False),  # human, bot, flowkeeper
    Column("fingerprint", String(64), nullable=False),  # dedupes redelivered changes
    # a status row's stay ends at the item's next status row (NULL: current); see store/stays.py
    Column("ended_at", UTC_DATETIME),
    UniqueConstraint("fingerprint", name="uq_history_fingerprint"),
)
Index("ix_history_item_at", item_history.c.tracker, item_history.c.item_id, item_history.c.at)
Index("ix_history_field_at", item_history.c.field, item_history.c.at)
# a period's status stays read from the index alone (reports: WIP, cumulative flow, time in status);
# status rows only: other fields' old and new may be long texts
Index("ix_history_stays", item_history.c.field, item_history.c.at, item_history.c.ended_at, item_history.c.new_category,
      item_history.c.new, item_history.c.tracker, item_history.c.item_id,
      sqlite_where=text(STAYS_WHERE), postgresql_where=text(STAYS_WHERE))
Index("ix_history_category_at", item_history.c.new_category, item_history.c.at)
Index("ix_history_item_category_at", item_history.c.tracker, item_history.c.item_id, item_history.c.new_category,
      item_history.c.at)
Index("ix_history_field_ended", item_history.c.field, item_history.c.ended_at)

# Items entering (+1) and leaving (-1) each status per UTC day, under the item's current team, kept with
# every history write and team or deleted change (integration.store.stay_days): daily WIP and the
# cumulative flow sum a few thousand rows instead of reading every stay of the period.
stay_days = Table(
    "stay_days",
    metadata,
    Column("tracker", String(16), primary_key=True),
    Column("team", String(64), primary_key=True),  # '' for items without a team
    Column("day", Integer, primary_key=True),  # UTC days since 1970-01-01
    Column("category", String(16), primary_key=True),
    Column("status", Text, primary_key=True),
    Column("began", Integer, primary_key=True),  # ends of done stays: the day the stay began; else `day`
    Column("moves", Integer, nullable=False),  # stays begun minus stays ended that day
    Column("opened", Integer, nullable=False),  # stays begun that day still open (the items' current ones)
)

# What time in status needs beyond the daily counts, kept beside them (integration.store.stay_days): per UTC day,
# the stays begun that day that last a while, each stay start's and end's time of day, and the stays begun
# that day in a status the item had left before, by the day it left it: a period's item-seconds and the
# distinct items in each status are then sums over a few thousand rows instead of a read of every stay.
stay_times = Table(
    "stay_times",
    metadata,
    Column("tracker", String(16), primary_key=True),
    Column("team", String(64), primary_key=True),  # '' for items without a team
    Column("day", Integer, primary_key=True),  # UTC days since 1970-01-01
    Column("category", String(16), primary_key=True),
    Column("status", Text, primary_key=True),
    Column("left_day", Integer, primary_key=True),  # `returns`: the day the item left the status before; else `day`
    Column("entries", Integer, nullable=False),  # stays begun that day that end later than they begin (or not yet)
    # microseconds after midnight of that day's starts minus those of its ends (`stay_days.moves`' times of day)
    Column("offsets", BigInteger, nullable=False),
    # stays begun that day, lasting a while, whose item last left the status (a stay lasting a while) on `left_day`
    Column("returns", Integer, nullable=False),
)

# Each item's seconds per status between its first start and its last entry into done, with that end, kept
# with every history write (integration.store.cycle_stays): flow efficiency reads these instead of the stays.
cycle_stays = Table(
    "cycle_stays",
    metadata,
    Column("tracker", String(16), primary_key=True),
    Column("item_id", String(64), primary_key=True),
    Column("status", Text, primary_key=True),
    Column("category", String(16), primary_key=True),
    Column("done_at", UTC_DATETIME, nullable=False),
    Column("seconds", Float, nullable=False),
)
Index("ix_cycle_stays_done_at", cycle_stays.c.done_at)
# Each item's first status row, first start and last entry into done (items that entered done), kept with
# every history write (integration.store.cycle_stays): a period's completions are a range of `done_at`.
cycles = Table(
    "cycles",
    metadata,
    Column("tracker", String(16), primary_key=True),
    Column("item_id", String(64), primary_key=True),
    Column("first_at", UTC_DATETIME, nullable=False),
    Column("started_at", UTC_DATETIME),
    Column("done_at", UTC_DATETIME, nullable=False),
)
Index("ix_cycles_done_at", cycles.c.done_at)
# Each item's first entry into an in-progress status (items that ever started), kept with every history
# write (integration.store.first_starts): aging and convention compliance read it instead of a probe per item.
first_starts = Table(
    "first_starts",
    metadata,
    Column("tracker", String(16), primary_key=True),
    Column("item_id", String(64), primary_key=True),
    Column("started_at", UTC_DATETIME, nullable=False),
)
Index("ix_first_starts_started_at", first_starts.c.started_at)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("tracker", String(16), nullable=False),
    Column("delivery_id", String(128), nullable=False),
    Column("received_at", UTC_DATETIME, nullable=False),
    Column("state", String(16), nullable=False),  # pending, processing, done, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("envelope", JSON),  # the queued event (embedded mode runs from it)
    Column("item_key", String(64)),
    Column("outcome", Text),
    Column("finished_at", UTC_DATETIME),
    UniqueConstraint("tracker", "delivery_id", name="uq_deliveries_tracker_delivery"),
)
Index("ix_deliveries_state_received", deliveries.c.state, deliveries.c.received_at)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTC_DATETIME, nullable=False),
    Column("tracker", String(16), nullable=False),
    Column("item_key", String(64)),
    Column("rule", String(128)),
    Column("action", String(32), nullable=False),
    Column("outcome", String(16), nullable=False),  # done, would_do, skipped, failed, held
    Column("reason", Text, nullable=False),
    Column("delivery_id", String(128)),
    Column("detail", JSON),
    # A rule's write, keyed as cut from its identity (`rule/episode/step/kind`) when written
    # (integration.store.flag_keys): its episode, and whether its step clears the flag. Rule
    # hygiene groups on them instead of parsing every entry's JSON. NULL without a rule, and on
    # entries written by a release before them (read by parsing the identity).
    Column("episode", Text),
    Column("clears", Boolean),
)
Index("ix_audit_at", audit_log.c.at)
Index("ix_audit_rule_at", audit_log.c.rule, audit_log.c.at)
Index("ix_audit_item_at", audit_log.c.item_key, audit_log.c.at)
Index("ix_audit_outcome_at", audit_log.c.outcome, audit_log.c.at)

# Audit entries per UTC day, rule ('' for none) and outcome, kept with every write and purge
# (integration.store.audit_counts): the Charts page sums a few hundred rows, not 100,000 entries.
audit_counts = Table(
    "audit_counts",
    metadata,
    Column("day", String(10), primary_key=True),  # 'YYYY-MM-DD', UTC
    Column("rule", String(128), primary_key=True),
    Column("outcome", String(16), primary_key=True),
    Column("entries", Integer, nullable=False),
)

write_claims = Table(
    "write_claims",
    metadata,
    *item_columns(),
    Column("identity", String(255), nullable=False),  # rule/episode/step/action
    Column("state", String(16), nullable=False),  # claimed, done, failed
    Column("claimed_at", UTC_DATETIME, nullable=False),
    Column("finished_at", UTC_DATETIME),
    UniqueConstraint("tracker", "item_id", "identity", name="uq_claims_identity"),
)

rule_states = Table(
    "rule_states",
    metadata,
    *item_columns("item_key"),
    rule_column(),
    Column("mode", String(8), nullable=False),  # live or dry: dry-run episodes never block live ones
    Column("episode", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("opened_at", UTC_DATETIME),
    Column("closed_at", UTC_DATETIME),
    Column("steps_done", JSON, nullable=False),
    Column("last_action_at", UTC_DATETIME),
    UniqueConstraint("tracker", "item_id", "rule", "mode", name="uq_rule_states"),
)
Index("ix_rule_states_active", rule_states.c.active, rule_states.c.rule, rule_states.c.mode, rule_states.c.tracker,
      rule_states.c.item_id)
# with the one above, covering for the Flagged page: its order and its grouped counts read no row
Index("ix_rule_states_flagged", rule_states.c.active, rule_states.c.opened_at, rule_states.c.id,
      rule_states.c.rule, rule_states.c.mode, rule_states.c.tracker, rule_states.c.item_id)
Index("ix_rule_states_rule_opened", rule_states.c.rule, rule_states.c.opened_at, rule_states.c.closed_at)
Index("ix_rule_states_rule_closed", rule_states.c.rule, rule_states.c.closed_at, rule_states.c.opened_at)

overrides = Table(
    "overrides",
    metadata,
    Column("rule", String(128), primary_key=True),
    Column("enabled", Boolean),
    Column("dry_run", Boolean),
    Column("updated_at", UTC_DATETIME, nullable=False),
)

service_state = Table(
    "service_state",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("value", JSON),
    Column("updated_at", UTC_DATETIME, nullable=False),
)

closures = Table(
    "closures",
    metadata,
    *item_columns(),
    rule_column(),
    Column("closed_at", UTC_DATETIME, nullable=False),
    Column("previous", JSON, nullable=False),  # the status before the close: {name, category, id}
    Column("closed_to", JSON, nullable=False),  # the status Flowkeeper moved the item to
    UniqueConstraint("tracker", "item_id", name="uq_closures_item"),
)
