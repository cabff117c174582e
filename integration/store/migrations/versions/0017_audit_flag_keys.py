"""A rule's audit entries keep the episode and whether the write clears the flag (`audit_log.episode`, `.clears`).

Rule hygiene groups a rule's writes into flags by the episode cut from each entry's identity
(`rule/episode/step/kind`) and tells the writes that clear a flag by their step (`close-<rung>`,
`close` before rungs had their own); from now on the audit log's writer keeps both cut
(integration.store.flag_keys), and the entries already written are cut here, in SQL of their own
on each backend: the identity's text after the rule and a slash, the episode up to the next slash
(empty when there is none), and a clearing write has `/close-` or `/close/` after the episode.
Only entries of a rule are cut; the others keep NULL, as the writer leaves them. Entries a release
before this one writes while the upgrade runs beside it are read by parsing their identity.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

REST = {  # the identity after "<rule>/": "episode/step/kind"
    "sqlite": "substr(json_extract(detail, '$.identity'), length(rule) + 2)",
    "postgresql": "substr(detail ->> 'identity', length(rule) + 2)",
}
POSITION = {"sqlite": "instr", "postgresql": "strpos"}


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("episode", sa.Text, nullable=True))
        batch.add_column(sa.Column("clears", sa.Boolean, nullable=True))
    dialect = op.get_bind().dialect.name
    rest, pos = REST[dialect], POSITION[dialect]
    op.execute(  # one statement, repeating the cut: UPDATE ... FROM is not in every SQLite
        f"UPDATE audit_log SET"
        f" episode = CASE WHEN {pos}({rest}, '/') > 0 THEN substr({rest}, 1, {pos}({rest}, '/') - 1)"
        f" WHEN {rest} IS NOT NULL THEN '' END,"
        f" clears = coalesce({pos}({rest}, '/close-') + {pos}({rest}, '/close/') > 0, false)"
        f" WHERE rule IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("clears")
        batch.drop_column("episode")
