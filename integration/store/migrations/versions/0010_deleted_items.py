"""A partial index of the items known to be deleted: the Flagged page counts flags without joining each to the mirror.

It counts open episodes from their own index and takes off those on deleted items, found
here (usually none or a few), instead of looking every flag's item up (bench/admin.py).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# as the queries write it, so each database sees the index fits them
DELETED = {"sqlite": "deleted = 1", "postgresql": "deleted = true"}


def upgrade() -> None:
    where = sa.text(DELETED[op.get_bind().dialect.name])
    op.create_index("ix_items_deleted", "items", ["tracker", "item_id"], sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    op.drop_index("ix_items_deleted", table_name="items")
