"""What time in status needs beside the daily counts (`stay_times`).

Each day's entries into a status, the times of day of its stays' starts and ends, and the returns to
a status by the day the item left it before: a period's item-seconds and items in each status are sums
over these rows instead of a read of every stay of the period; from now on every history write and every
change of an item's team or deleted flag keeps them (integration.store.stay_days).

The table is created empty: the first web or worker process of the release starts by
computing it from the history (integration.store.kept_start).

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stay_times",
        sa.Column("tracker", sa.String(16), primary_key=True),
        sa.Column("team", sa.String(64), primary_key=True),
        sa.Column("day", sa.Integer, primary_key=True),
        sa.Column("category", sa.String(16), primary_key=True),
        sa.Column("status", sa.Text, primary_key=True),
        sa.Column("left_day", sa.Integer, primary_key=True),
        sa.Column("entries", sa.Integer, nullable=False),
        sa.Column("offsets", sa.BigInteger, nullable=False),
        sa.Column("returns", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("stay_times")
