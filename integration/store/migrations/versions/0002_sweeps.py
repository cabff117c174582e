"""Sweeps: runs, planned and held writes, snoozes, exemptions, database locks.

Tables are defined in integration/store/sweep_tables.py on the shared metadata.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 22:20:21.137274
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('held_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=128), nullable=False),
    sa.Column('tracker', sa.String(length=16), nullable=False),
    sa.Column('run_id', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('scope', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=256), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('held_batches', schema=None) as batch_op:
        batch_op.create_index('ix_held_batches_state', ['state', 'created_at'], unique=False)

    op.create_table('item_exemptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tracker', sa.String(length=16), nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('item_key', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.String(length=128), nullable=False),
    sa.Column('by', sa.String(length=256), nullable=True),
    sa.Column('comment_id', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tracker', 'item_id', 'rule', name='uq_item_exemptions_item_rule')
    )
    op.create_table('item_snoozes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tracker', sa.String(length=16), nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('item_key', sa.String(length=64), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by', sa.String(length=256), nullable=True),
    sa.Column('comment_id', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tracker', 'item_id', name='uq_item_snoozes_item')
    )
    op.create_table('sweep_locks',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('sweep_runs',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('rule', sa.String(length=128), nullable=False),
    sa.Column('tracker', sa.String(length=16), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('as_of', sa.DateTime(timezone=True), nullable=False),
    sa.Column('query', sa.JSON(), nullable=False),
    sa.Column('dry_run', sa.Integer(), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('next_token', sa.Text(), nullable=True),
    sa.Column('candidates', sa.Integer(), nullable=False),
    sa.Column('chunks', sa.Integer(), nullable=False),
    sa.Column('stats', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sweep_runs', schema=None) as batch_op:
        batch_op.create_index('ix_sweep_runs_rule_started', ['rule', 'tracker', 'started_at'], unique=False)
        batch_op.create_index('ix_sweep_runs_state', ['state'], unique=False)

    op.create_table('sweep_writes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tracker', sa.String(length=16), nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('item_key', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.String(length=128), nullable=False),
    sa.Column('run_id', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('plan', sa.JSON(), nullable=False),
    sa.Column('writes', sa.Integer(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('first_planned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tracker', 'item_id', 'rule', name='uq_sweep_writes_item_rule')
    )
    with op.batch_alter_table('sweep_writes', schema=None) as batch_op:
        batch_op.create_index('ix_sweep_writes_batch', ['batch_id'], unique=False)
        batch_op.create_index('ix_sweep_writes_rule_state', ['rule', 'tracker', 'state'], unique=False)
        batch_op.create_index('ix_sweep_writes_run_state', ['run_id', 'state'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('sweep_writes', schema=None) as batch_op:
        batch_op.drop_index('ix_sweep_writes_run_state')
        batch_op.drop_index('ix_sweep_writes_rule_state')
        batch_op.drop_index('ix_sweep_writes_batch')

    op.drop_table('sweep_writes')
    with op.batch_alter_table('sweep_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_sweep_runs_state')
        batch_op.drop_index('ix_sweep_runs_rule_started')

    op.drop_table('sweep_runs')
    op.drop_table('sweep_locks')
    op.drop_table('item_snoozes')
    op.drop_table('item_exemptions')
    with op.batch_alter_table('held_batches', schema=None) as batch_op:
        batch_op.drop_index('ix_held_batches_state')

    op.drop_table('held_batches')
