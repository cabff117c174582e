"""Flowkeeper's own closes, remembered so a reopen returns the item to where it was.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "closures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tracker", sa.String(16), nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(128), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("previous", sa.JSON, nullable=False),
        sa.Column("closed_to", sa.JSON, nullable=False),
        sa.UniqueConstraint("tracker", "item_id", name="uq_closures_item"),
    )


def downgrade() -> None:
    op.drop_table("closures")
