"""supply tags, and the hourly serving and event counts by supply tag

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 03:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

_EVENT_KEY = ['hour', 'campaign_id', 'creative_id', 'event', 'error_code', 'pod_position']
_SERVING_COUNTS = (
    'requests', 'fills', 'no_fills', 'pod_requests', 'pod_ads', 'pod_requested_ms', 'pod_filled_ms'
)
_PLATFORMS = (
    'generic', 'mediatailor', 'google_dai', 'roku', 'tizen', 'webos', 'firetv', 'androidtv', 'custom'
)


def upgrade() -> None:
    op.create_table(
        'supply_tags',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('platform', sa.String(length=16), nullable=False),
        sa.Column('vast_version', sa.String(length=8), nullable=True),
        sa.Column('min_duration', sa.Float(), nullable=True),
        sa.Column('max_duration', sa.Float(), nullable=True),
        sa.Column('pod_max_duration', sa.Float(), nullable=True),
        sa.Column('pod_max_ads', sa.SmallInteger(), nullable=True),
        sa.Column('macros', sa.JSON(), server_default='{}', nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f'platform IN {_PLATFORMS!r}', name='ck_supply_tags_platform_valid'),
        sa.CheckConstraint('max_duration > 0', name='ck_supply_tags_max_duration_positive'),
        sa.CheckConstraint('min_duration >= 0', name='ck_supply_tags_min_duration_not_negative'),
        sa.CheckConstraint('pod_max_duration > 0', name='ck_supply_tags_pod_max_duration_positive'),
        sa.CheckConstraint('pod_max_ads > 0', name='ck_supply_tags_pod_max_ads_positive'),
        sa.PrimaryKeyConstraint('id', name='pk_supply_tags'),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table('event_counts_hourly') as batch:
        batch.add_column(sa.Column('supply_tag_id', sa.Integer(), nullable=False, server_default='0'))
        batch.drop_constraint('pk_event_counts_hourly', type_='primary')
        batch.create_primary_key('pk_event_counts_hourly', [*_EVENT_KEY, 'supply_tag_id'])
    with op.batch_alter_table('serving_counts_hourly') as batch:
        batch.add_column(sa.Column('supply_tag_id', sa.Integer(), nullable=False, server_default='0'))
        batch.drop_constraint('pk_serving_counts_hourly', type_='primary')
        batch.create_primary_key('pk_serving_counts_hourly', ['hour', 'supply_tag_id'])


def _fold(table: str, key: list[str], counts: tuple[str, ...]) -> None:
    """Add each key's rows of every tag into its row of the lowest tag, and drop the others."""
    same = ' AND '.join(f'o.{c} = {table}.{c}' for c in key)
    sums = ', '.join(f'{c} = (SELECT SUM(o.{c}) FROM {table} o WHERE {same})' for c in counts)
    lowest = f'(SELECT MIN(o.supply_tag_id) FROM {table} o WHERE {same})'
    op.execute(f'UPDATE {table} SET {sums} WHERE supply_tag_id = {lowest}')
    op.execute(f'DELETE FROM {table} WHERE supply_tag_id <> {lowest}')


def downgrade() -> None:
    _fold('serving_counts_hourly', ['hour'], _SERVING_COUNTS)
    with op.batch_alter_table('serving_counts_hourly') as batch:
        batch.drop_constraint('pk_serving_counts_hourly', type_='primary')
        batch.drop_column('supply_tag_id')
        batch.create_primary_key('pk_serving_counts_hourly', ['hour'])
    _fold('event_counts_hourly', _EVENT_KEY, ('count', 'spend_units'))
    with op.batch_alter_table('event_counts_hourly') as batch:
        batch.drop_constraint('pk_event_counts_hourly', type_='primary')
        batch.drop_column('supply_tag_id')
        batch.create_primary_key('pk_event_counts_hourly', _EVENT_KEY)
    op.drop_table('supply_tags')
