"""Each item's first entry into an in-progress status (`first_starts`), from the history already kept.

Aging and convention compliance read it instead of probing every item's status rows; from now
on every history write keeps it (integration.store.first_starts).

The table is created empty: the first web or worker process of the release starts by
computing it from the history (integration.store.kept_start).

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "first_starts",
        sa.Column("tracker", sa.String(16), primary_key=True),
        sa.Column("item_id", sa.String(64), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_first_starts_started_at", "first_starts", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_first_starts_started_at", table_name="first_starts")
    op.drop_table("first_starts")
