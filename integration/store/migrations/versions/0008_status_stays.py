"""When each status stay ended (`item_history.ended_at`), filled for the history already kept.

Reports read a period's status stays as a range on (at) and (ended_at) instead of a window
over every item's history; the mirror keeps the column on every write from now on. An index
of the status rows covers what a stay is, so a period's stays come from the index alone.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from integration.store.stays import backfill_stays
from integration.store.tables import STAYS_WHERE

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("item_history") as batch:
        batch.add_column(sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True))
    backfill_stays(op.get_bind())
    with op.batch_alter_table("item_history") as batch:
        batch.create_index("ix_history_field_ended", ["field", "ended_at"])
        batch.create_index("ix_history_stays", ["field", "at", "ended_at", "new_category", "new", "tracker", "item_id"],
                           sqlite_where=sa.text(STAYS_WHERE), postgresql_where=sa.text(STAYS_WHERE))


def downgrade() -> None:
    with op.batch_alter_table("item_history") as batch:
        batch.drop_index("ix_history_stays")
        batch.drop_index("ix_history_field_ended")
        batch.drop_column("ended_at")
