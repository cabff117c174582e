"""Each item's first status row, first start and last entry into done (`cycles`), from the history already kept.

A period's completions are then a range of the kept `done_at` instead of three index probes
per item that entered done; from now on every history write keeps them
(integration.store.cycle_stays).

The table is created empty: the first web or worker process of the release starts by
computing it from the history (integration.store.kept_start).

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cycles",
        sa.Column("tracker", sa.String(16), primary_key=True),
        sa.Column("item_id", sa.String(64), primary_key=True),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_cycles_done_at", "cycles", ["done_at"])


def downgrade() -> None:
    op.drop_index("ix_cycles_done_at", table_name="cycles")
    op.drop_table("cycles")
