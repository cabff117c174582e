"""Items entering and leaving each status per UTC day (`stay_days`), counted from the history already kept.

Daily WIP and the cumulative flow sum these rows over the days wholly past instead of
reading every status stay of the period; from now on every history write and every change
of an item's team or deleted flag keeps them (integration.store.stay_days).

The table is created empty: the first web or worker process of the release starts by
computing it from the history (integration.store.kept_start).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stay_days",
        sa.Column("tracker", sa.String(16), primary_key=True),
        sa.Column("team", sa.String(64), primary_key=True),
        sa.Column("day", sa.Integer, primary_key=True),
        sa.Column("category", sa.String(16), primary_key=True),
        sa.Column("status", sa.Text, primary_key=True),
        sa.Column("began", sa.Integer, primary_key=True),
        sa.Column("moves", sa.Integer, nullable=False),
        sa.Column("opened", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("stay_days")
