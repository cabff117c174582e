"""Items keep their parent's key in an indexed column: rolling sub-tasks up to a batch of parents is an index probe.

Before, the roll-up (`with_subtasks`) matched `items.data->parent` and read every item of
the tracker. The column is filled from the mirrored item here, and by every mirror write
from now on.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

PARENT_IN_DATA = {
    "sqlite": "json_extract(data, '$.parent')",
    "postgresql": "data ->> 'parent'",
}


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("parent", sa.String(64)))
    op.execute(f"UPDATE items SET parent = {PARENT_IN_DATA[op.get_bind().dialect.name]}")
    with op.batch_alter_table("items") as batch:
        batch.create_index("ix_items_parent", ["tracker", "parent"])


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_index("ix_items_parent")
        batch.drop_column("parent")
