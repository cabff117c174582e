"""The sweeps' tables, snoozes and exemptions, on the shared metadata (created by migration 0002)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, String, Table, Text, UniqueConstraint

from integration.store.tables import UTC_DATETIME, item_columns, metadata, rule_column


def command_columns() -> list[Column[Any]]:
    """Who asked for a snooze or an exemption (a `/flowkeeper` comment), and when."""
    return [
        Column("by", String(256)),
        Column("comment_id", String(128)),
        Column("created_at", UTC_DATETIME, nullable=False),
    ]


# One sweep of one rule on one tracker: its query, progress through the pages and outcome.
sweep_runs = Table(
    "sweep_runs",
    metadata,
    Column("id", String(40), primary_key=True),
    rule_column(),
    Column("tracker", String(16), nullable=False),
    Column("trigger", String(16), nullable=False),  # cron, manual, embedded
    Column("state", String(16), nullable=False),  # planning, applying, held, done, failed, abandoned
    Column("as_of", UTC_DATETIME, nullable=False),  # the instant every item of the run is judged at
    Column("query", JSON, nullable=False),
    Column("dry_run", Integer, nullable=False, default=0),
    Column("pages", Integer, nullable=False, default=0),
    Column("next_token", Text),
    Column("candidates", Integer, nullable=False, default=0),
    Column("chunks", Integer, nullable=False, default=0),
    Column("stats", JSON, nullable=False),
    Column("reason", Text),
    Column("started_at", UTC_DATETIME, nullable=False),
    Column("heartbeat_at", UTC_DATETIME, nullable=False),
    Column("finished_at", UTC_DATETIME),
)
Index("ix_sweep_runs_rule_started", sweep_runs.c.rule, sweep_runs.c.tracker, sweep_runs.c.started_at)
Index("ix_sweep_runs_state", sweep_runs.c.state)

# Writes a sweep planned: applied within the budget, deferred to the next run, or held.
sweep_writes = Table(
    "sweep_writes",
    metadata,
    *item_columns("item_key"),
    rule_column(),
    Column("run_id", String(40), nullable=False),
    Column("state", String(16), nullable=False),  # planned, retrying, deferred, held, applied, superseded, discarded
    Column("plan", JSON, nullable=False),
    Column("writes", Integer, nullable=False),  # tracker writes the plan needs
    Column("summary", Text, nullable=False),
    Column("batch_id", Integer),
    Column("first_planned_at", UTC_DATETIME, nullable=False),  # kept across runs: oldest first
    Column("updated_at", UTC_DATETIME, nullable=False),
    UniqueConstraint("tracker", "item_id", "rule", name="uq_sweep_writes_item_rule"),
)
Index("ix_sweep_writes_run_state", sweep_writes.c.run_id, sweep_writes.c.state)
Index("ix_sweep_writes_rule_state", sweep_writes.c.rule, sweep_writes.c.tracker, sweep_writes.c.state)
Index("ix_sweep_writes_batch", sweep_writes.c.batch_id)

# A blast-radius hold: the writes of one sweep waiting for a person's approval.
held_batches = Table(
    "held_batches",
    metadata,
    Column("id", Integer, primary_key=True),
    rule_column(),
    Column("tracker", String(16), nullable=False),
    Column("run_id", String(40), nullable=False),
    Column("state", String(16), nullable=False),  # pending, approving, approved, discarded
    Column("items", Integer, nullable=False),
    Column("scope", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", UTC_DATETIME, nullable=False),
    Column("decided_at", UTC_DATETIME),
    Column("decided_by", String(256)),
    Column("result", JSON),
)
Index("ix_held_batches_state", held_batches.c.state, held_batches.c.created_at)

# `/flowkeeper snooze 5d`: no flags on the item until then.
item_snoozes = Table(
    "item_snoozes",
    metadata,
    *item_columns("item_key"),
    Column("until", UTC_DATETIME, nullable=False),
    *command_columns(),
    UniqueConstraint("tracker", "item_id", name="uq_item_snoozes_item"),
)

# `/flowkeeper ignore RULE`: the item is exempt from that rule.
item_exemptions = Table(
    "item_exemptions",
    metadata,
    *item_columns("item_key"),
    rule_column(),
    *command_columns(),
    UniqueConstraint("tracker", "item_id", "rule", name="uq_item_exemptions_item_rule"),
)

# The database lock for the embedded default (Redis holds the locks when there is one).
sweep_locks = Table(
    "sweep_locks",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("expires_at", UTC_DATETIME, nullable=False),
)
