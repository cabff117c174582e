"""Initial schema: mirror, history, deliveries, audit log, claims, rule states, overrides.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 22:08:01.169032
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tracker', sa.String(length=16), nullable=False),
    sa.Column('item_key', sa.String(length=64), nullable=True),
    sa.Column('rule', sa.String(length=128), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('delivery_id', sa.String(length=128), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_at', ['at'], unique=False)
        batch_op.create_index('ix_audit_item_at', ['item_key', 'at'], unique=False)
        batch_op.create_index('ix_audit_outcome_at', ['outcome', 'at'], unique=False)
        batch_op.create_index('ix_audit_rule_at', ['rule', 'at'], unique=False)

    op.create_table('deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tracker', sa.String(length=16), nullable=False),
    sa.Column('delivery_id', sa.String(length=128), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('envelope', sa.JSON(), nullable=True),
    sa.Column('item_key', sa.String(length=64), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tracker', 'delivery_id', name='uq_deliveries_tracker_delivery')
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_state_received', ['state', 'received_at'], unique=False)

    op.create_table('item_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tracker', sa.String(length=16), nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('team', sa.String(length=64), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('old', sa.Text(), nullable=True),
    sa.Column('new', sa.Text(), nullable=True),
    sa.Column('old_category', sa.String(length=16), nullable=True),
    sa.Column('new_category', sa.String(length=16), nullable=True),
    sa.Column('actor_id', sa.String(length=128), nullable=True),
    sa.Column('actor_kind', sa.String(length=16), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('fingerprint', name='uq_history_fingerprint')
    )
    with op.batch_alter_table('item_history', schema=None) as batch_op:
        batch_op.create_index('ix_history_field_at', ['field', 'at'], unique=False)
        batch_op.create_index('ix_history_item_at', ['tracker', 'item_id', 'at'], unique=False)

    op.create_table('items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tracker', sa.String(length=16), nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('team', sa.String(length=64), nullable=True),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('status_name', sa.String(length=128), nullable=True),
    sa.Column('status_category', sa.String(length=16), nullable=True),
    sa.Column('assignee_id', sa.String(length=128), nullable=True),
    sa.Column('assignee_name', sa.String(length=256), nullable=True),
    sa.Column('estimate', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_activity_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tracker', 'item_id', name='uq_items_tracker_item')
    )
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.create_index('ix_items_category_assignee', ['status_category', 'assignee_id'], unique=False)
        batch_op.create_index('ix_items_team', ['tracker', 'team'], unique=False)
        batch_op.create_index('ix_items_tracker_key', ['tracker', 'key'], unique=False)

    op.create_table('overrides',
    sa.Column('rule', sa.String(length=128), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=True),
    sa.Column('dry_run', sa.Boolean(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('rule')
    )
    op.create_table('rule_states',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tracker', sa.String(length=16), nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('item_key', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.String(length=128), nullable=False),
    sa.Column('mode', sa.String(length=8), nullable=False),
    sa.Column('episode', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('steps_done', sa.JSON(), nullable=False),
    sa.Column('last_action_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tracker', 'item_id', 'rule', 'mode', name='uq_rule_states')
    )
    with op.batch_alter_table('rule_states', schema=None) as batch_op:
        batch_op.create_index('ix_rule_states_active', ['active', 'rule'], unique=False)

    op.create_table('service_state',
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('value', sa.JSON(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('write_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tracker', sa.String(length=16), nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('identity', sa.String(length=255), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tracker', 'item_id', 'identity', name='uq_claims_identity')
    )


def downgrade() -> None:
    op.drop_table('write_claims')
    op.drop_table('service_state')
    with op.batch_alter_table('rule_states', schema=None) as batch_op:
        batch_op.drop_index('ix_rule_states_active')

    op.drop_table('rule_states')
    op.drop_table('overrides')
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index('ix_items_tracker_key')
        batch_op.drop_index('ix_items_team')
        batch_op.drop_index('ix_items_category_assignee')

    op.drop_table('items')
    with op.batch_alter_table('item_history', schema=None) as batch_op:
        batch_op.drop_index('ix_history_item_at')
        batch_op.drop_index('ix_history_field_at')

    op.drop_table('item_history')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_state_received')

    op.drop_table('deliveries')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_rule_at')
        batch_op.drop_index('ix_audit_outcome_at')
        batch_op.drop_index('ix_audit_item_at')
        batch_op.drop_index('ix_audit_at')

    op.drop_table('audit_log')
