"""Covering indexes for the Flagged page: flags in page order and grouped counts without reading rows.

The open-episodes indexes (by rule, and in page order) gain the columns the page filters
and groups by (rule, mode, tracker, item_id), and the mirror gets (tracker, item_id,
deleted, team) for the flag join, so counting 10,000 flags or walking to a page reads
indexes only, never a table row (bench/admin.py).

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ACTIVE = ["active", "rule"]
FLAGGED = ["active", "opened_at", "id"]
EPISODE = ["mode", "tracker", "item_id"]


def upgrade() -> None:
    with op.batch_alter_table("rule_states") as batch:
        batch.drop_index("ix_rule_states_active")
        batch.create_index("ix_rule_states_active", [*ACTIVE, *EPISODE])
        batch.drop_index("ix_rule_states_flagged")
        batch.create_index("ix_rule_states_flagged", [*FLAGGED, "rule", *EPISODE])
    with op.batch_alter_table("items") as batch:
        batch.create_index("ix_items_flag_join", ["tracker", "item_id", "deleted", "team"])


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_index("ix_items_flag_join")
    with op.batch_alter_table("rule_states") as batch:
        batch.drop_index("ix_rule_states_flagged")
        batch.create_index("ix_rule_states_flagged", FLAGGED)
        batch.drop_index("ix_rule_states_active")
        batch.create_index("ix_rule_states_active", ACTIVE)
