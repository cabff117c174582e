"""Charts from a few hundred index entries: audit entries kept per UTC day, rule and outcome; episodes by close.

The counts are taken from the log once here; from now on the audit log's writes and
purges keep them (integration.store.audit_counts). Episodes closed per day are range
counts on (rule, closed_at, opened_at).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

DAY = {
    "sqlite": "substr(at, 1, 10)",
    "postgresql": "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
}


def upgrade() -> None:
    op.create_table(
        "audit_counts",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("rule", sa.String(128), primary_key=True),
        sa.Column("outcome", sa.String(16), primary_key=True),
        sa.Column("entries", sa.Integer, nullable=False),
    )
    day = DAY[op.get_bind().dialect.name]
    op.execute(
        f"INSERT INTO audit_counts (day, rule, outcome, entries) SELECT {day}, coalesce(rule, ''), outcome, count(*)"
        f" FROM audit_log GROUP BY {day}, coalesce(rule, ''), outcome"
    )
    with op.batch_alter_table("rule_states") as batch:
        batch.create_index("ix_rule_states_rule_closed", ["rule", "closed_at", "opened_at"])


def downgrade() -> None:
    with op.batch_alter_table("rule_states") as batch:
        batch.drop_index("ix_rule_states_rule_closed")
    op.drop_table("audit_counts")
