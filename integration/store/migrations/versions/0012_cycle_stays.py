"""Each item's seconds per status over its cycle (`cycle_stays`), computed from the history already kept.

Flow efficiency reads these rows instead of every stay of the items completed in the period;
from now on every history write keeps them (integration.store.cycle_stays).

The table is created empty: the first web or worker process of the release starts by
computing it from the history (integration.store.kept_start).

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cycle_stays",
        sa.Column("tracker", sa.String(16), primary_key=True),
        sa.Column("item_id", sa.String(64), primary_key=True),
        sa.Column("status", sa.Text, primary_key=True),
        sa.Column("category", sa.String(16), primary_key=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
    )
    op.create_index("ix_cycle_stays_done_at", "cycle_stays", ["done_at"])


def downgrade() -> None:
    op.drop_index("ix_cycle_stays_done_at", table_name="cycle_stays")
    op.drop_table("cycle_stays")
