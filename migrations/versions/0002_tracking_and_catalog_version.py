"""tracking and catalog version

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 09:45:46.969087
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    catalog_state = op.create_table('catalog_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_catalog_state_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_state'))
    )
    op.create_table('processed_batches',
    sa.Column('batch_id', sa.String(length=128), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('batch_id', name=op.f('pk_processed_batches'))
    )
    op.create_table('serving_counts_hourly',
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requests', sa.BigInteger(), nullable=False),
    sa.Column('fills', sa.BigInteger(), nullable=False),
    sa.Column('no_fills', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('hour', name=op.f('pk_serving_counts_hourly'))
    )
    op.create_table('event_counts_hourly',
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('campaign_id', sa.Uuid(), nullable=False),
    sa.Column('creative_id', sa.Uuid(), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('error_code', sa.String(length=16), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.Column('spend_units', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_event_counts_hourly_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('hour', 'campaign_id', 'creative_id', 'event', 'error_code', name=op.f('pk_event_counts_hourly'))
    )
    op.create_index('ix_event_counts_hourly_campaign_hour', 'event_counts_hourly', ['campaign_id', 'hour'], unique=False)
    op.create_table('tracking_events',
    sa.Column('ad_serving_id', sa.String(length=64), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('campaign_id', sa.Uuid(), nullable=False),
    sa.Column('creative_id', sa.Uuid(), nullable=False),
    sa.Column('error_code', sa.String(length=16), nullable=True),
    sa.Column('ip', sa.String(length=45).with_variant(postgresql.INET(), 'postgresql'), nullable=True),
    sa.Column('user_agent', sa.String(length=512), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_tracking_events_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ad_serving_id', 'event', name=op.f('pk_tracking_events'))
    )
    op.create_index(op.f('ix_tracking_events_campaign_id'), 'tracking_events', ['campaign_id'], unique=False)
    op.bulk_insert(catalog_state, [{'id': 1, 'version': 0}])


def downgrade() -> None:
    op.drop_index(op.f('ix_tracking_events_campaign_id'), table_name='tracking_events')
    op.drop_table('tracking_events')
    op.drop_index('ix_event_counts_hourly_campaign_hour', table_name='event_counts_hourly')
    op.drop_table('event_counts_hourly')
    op.drop_table('serving_counts_hourly')
    op.drop_table('processed_batches')
    op.drop_table('catalog_state')
