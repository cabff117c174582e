"""When each status stay ended (`item_history.ended_at`), filled for the history already kept.

Reports read a period's status stays as a range on (at) and (ended_at) instead of a window
over every item's history; the mirror keeps the column on every write from now on. An index
of the status rows covers what a stay is, so a period's stays come from the index alone.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

STAYS_WHERE = "field IN ('status', 'created')"  # the rows that set an item's status
history = sa.table("item_history", sa.column("id"), sa.column("tracker"), sa.column("item_id"), sa.column("at"),
                   sa.column("field"), sa.column("ended_at"))


def upgrade() -> None:
    with op.batch_alter_table("item_history") as batch:
        batch.add_column(sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True))
    _fill_ends(op.get_bind())
    with op.batch_alter_table("item_history") as batch:
        batch.create_index("ix_history_field_ended", ["field", "ended_at"])
        batch.create_index("ix_history_stays", ["field", "at", "ended_at", "new_category", "new", "tracker", "item_id"],
                           sqlite_where=sa.text(STAYS_WHERE), postgresql_where=sa.text(STAYS_WHERE))


def _fill_ends(conn: sa.Connection) -> None:
    """Each status row ends where the item's next status row begins (its last row stays open)."""
    following = sa.func.lead(history.c.at).over(partition_by=(history.c.tracker, history.c.item_id),
                                                order_by=(history.c.at, history.c.id))
    stays = (sa.select(history.c.id, following.label("next_at"))
             .where(history.c.field.in_(("status", "created"))).subquery("stays"))
    conn.execute(sa.update(history).where(history.c.id == stays.c.id, stays.c.next_at.is_not(None))
                 .values(ended_at=stays.c.next_at))


def downgrade() -> None:
    with op.batch_alter_table("item_history") as batch:
        batch.drop_index("ix_history_stays")
        batch.drop_index("ix_history_field_ended")
        batch.drop_column("ended_at")
