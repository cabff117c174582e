"""Indexes for the report periods: status entries by category and time, and each item's by category.

Items done in a period are found through (new_category, at); an item's first start and last
finish are one probe each in (tracker, item_id, new_category, at) instead of a walk over its
whole history.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("item_history") as batch:
        batch.create_index("ix_history_category_at", ["new_category", "at"])
        batch.create_index("ix_history_item_category_at", ["tracker", "item_id", "new_category", "at"])


def downgrade() -> None:
    with op.batch_alter_table("item_history") as batch:
        batch.drop_index("ix_history_item_category_at")
        batch.drop_index("ix_history_category_at")
