"""Indexes for the hot reads: WIP per assignee (every evaluation), the Flagged page and its chart.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.create_index("ix_items_wip", ["tracker", "status_category", "deleted", "assignee_id"])
    with op.batch_alter_table("rule_states") as batch:
        batch.create_index("ix_rule_states_flagged", ["active", "opened_at", "id"])
        batch.create_index("ix_rule_states_rule_opened", ["rule", "opened_at", "closed_at"])


def downgrade() -> None:
    with op.batch_alter_table("rule_states") as batch:
        batch.drop_index("ix_rule_states_rule_opened")
        batch.drop_index("ix_rule_states_flagged")
    with op.batch_alter_table("items") as batch:
        batch.drop_index("ix_items_wip")
