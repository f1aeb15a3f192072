"""raw events partitioned by day (PostgreSQL), keyed with their day

impressions and tracking_events gain `served_on` (the UTC day the ad was served) in their key, ad_requests
are keyed by (request_id, created_at); their surrogate ids go. On PostgreSQL the three become partitioned by
day (partitions in the schema event_partitions, see app.tracking.partitions) and existing rows are copied
into them, the day of rows stored before being the day they occurred. SQLite keeps plain tables.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 21:00:00
"""

from datetime import UTC, datetime, timedelta

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

SCHEMA = 'event_partitions'
_INET = sa.String(length=45).with_variant(postgresql.INET(), 'postgresql')
_MONEY = sa.Numeric(16, 7).with_variant(sa.String(40), 'sqlite')


def _impressions(name: str, **options) -> None:
    op.create_table(
        name,
        sa.Column('ad_serving_id', sa.String(length=64), nullable=False),
        sa.Column('served_on', sa.Date(), nullable=False),
        sa.Column('campaign_id', sa.Uuid(), nullable=False),
        sa.Column('creative_id', sa.Uuid(), nullable=True),
        sa.Column('cost', _MONEY, nullable=False),
        sa.Column('ip', _INET, nullable=True),
        sa.Column('user_agent', sa.String(length=512), nullable=True),
        sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name='fk_impressions_campaign_id_campaigns', ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['creative_id'], ['creatives.id'], name='fk_impressions_creative_id_creatives', ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('ad_serving_id', 'served_on', name='pk_impressions'),
        **options,
    )
    op.create_index('ix_impressions_campaign_id', name, ['campaign_id'], unique=False)


def _tracking_events(name: str, **options) -> None:
    op.create_table(
        name,
        sa.Column('ad_serving_id', sa.String(length=64), nullable=False),
        sa.Column('event', sa.String(length=32), nullable=False),
        sa.Column('error_code', sa.String(length=16), server_default='', nullable=False),
        sa.Column('progress_offset', sa.String(length=16), server_default='', nullable=False),
        sa.Column('served_on', sa.Date(), nullable=False),
        sa.Column('campaign_id', sa.Uuid(), nullable=False),
        sa.Column('creative_id', sa.Uuid(), nullable=False),
        sa.Column('ip', _INET, nullable=True),
        sa.Column('user_agent', sa.String(length=512), nullable=True),
        sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name='fk_tracking_events_campaign_id_campaigns', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('ad_serving_id', 'event', 'error_code', 'progress_offset', 'served_on', name='pk_tracking_events'),
        **options,
    )
    op.create_index('ix_tracking_events_campaign_id', name, ['campaign_id'], unique=False)


def _ad_requests(name: str, **options) -> None:
    op.create_table(
        name,
        sa.Column('request_id', sa.String(length=128), nullable=False),
        sa.Column('ad_serving_id', sa.String(length=64), nullable=True),
        sa.Column('campaign_id', sa.Uuid(), nullable=True),
        sa.Column('creative_id', sa.Uuid(), nullable=True),
        sa.Column('duration', sa.Float(), nullable=False),
        sa.Column('ip', _INET, nullable=True),
        sa.Column('user_agent', sa.String(length=512), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('duration > 0', name='ck_ad_requests_duration_positive'),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name='fk_ad_requests_campaign_id_campaigns', ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['creative_id'], ['creatives.id'], name='fk_ad_requests_creative_id_creatives', ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('request_id', 'created_at', name='pk_ad_requests'),
        **options,
    )
    op.create_index('ix_ad_requests_campaign_id', name, ['campaign_id'], unique=False)


_MAKE = {'impressions': _impressions, 'tracking_events': _tracking_events, 'ad_requests': _ad_requests}
_DAY_OF = {  # the partition key of rows stored before: the UTC day they occurred
    'impressions': "(occurred_at AT TIME ZONE 'UTC')::date",
    'tracking_events': "(occurred_at AT TIME ZONE 'UTC')::date",
    'ad_requests': "(created_at AT TIME ZONE 'UTC')::date",
}
_COLUMNS = {
    'impressions': 'ad_serving_id, campaign_id, creative_id, cost, ip, user_agent, occurred_at',
    'tracking_events': 'ad_serving_id, event, error_code, progress_offset, campaign_id, creative_id, ip, user_agent, occurred_at',
    'ad_requests': 'request_id, ad_serving_id, campaign_id, creative_id, duration, ip, user_agent, created_at',
}
_OLD_INDEXES = {
    'impressions': ('pk_impressions', 'uq_impressions_ad_serving_id', 'ix_impressions_campaign_id'),
    'tracking_events': ('pk_tracking_events', 'ix_tracking_events_campaign_id'),
    'ad_requests': ('pk_ad_requests', 'uq_ad_requests_request_id', 'ix_ad_requests_campaign_id'),
}


def _set_aside(table: str) -> str:
    """Rename a table out of the way, its index names with it (they share the schema's namespace)."""
    old = f'{table}_before_0013'
    op.rename_table(table, old)
    for index in _OLD_INDEXES[table]:
        op.execute(f'ALTER INDEX IF EXISTS {index} RENAME TO {index}_before_0013')
    return old


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def _upgrade_postgresql() -> None:
    op.execute(f'CREATE SCHEMA IF NOT EXISTS {SCHEMA}')
    today = datetime.now(UTC).date()
    for table, make in _MAKE.items():
        old = _set_aside(table)
        key = 'created_at' if table == 'ad_requests' else 'served_on'
        make(table, postgresql_partition_by=f'RANGE ({key})')
        days = set(op.get_bind().execute(sa.text(f'SELECT DISTINCT {_DAY_OF[table]} FROM {old}')).scalars())
        days |= {today + timedelta(offset) for offset in range(-1, 3)}
        for day in sorted(days):
            op.execute(
                f'CREATE TABLE {SCHEMA}.{table}_p{day:%Y%m%d} PARTITION OF {table} FOR VALUES '
                f"FROM ('{day} 00:00:00+00') TO ('{day + timedelta(1)} 00:00:00+00')"
            )
        if table == 'ad_requests':
            op.execute(f'INSERT INTO ad_requests ({_COLUMNS[table]}) SELECT {_COLUMNS[table]} FROM {old}')
        else:
            columns = _COLUMNS[table]
            op.execute(f'INSERT INTO {table} ({columns}, served_on) SELECT {columns}, {_DAY_OF[table]} FROM {old}')
        op.drop_table(old)


def _upgrade_sqlite() -> None:
    for table in ('impressions', 'tracking_events'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('served_on', sa.Date(), nullable=True))
        op.execute(f'UPDATE {table} SET served_on = date(occurred_at)')
    with op.batch_alter_table('impressions', recreate='always') as batch:
        batch.drop_constraint('uq_impressions_ad_serving_id', type_='unique')
        batch.drop_constraint('pk_impressions', type_='primary')
        batch.drop_column('id')
        batch.alter_column('served_on', existing_type=sa.Date(), nullable=False)
        batch.create_primary_key('pk_impressions', ['ad_serving_id', 'served_on'])
    with op.batch_alter_table('tracking_events', recreate='always') as batch:
        batch.drop_constraint('pk_tracking_events', type_='primary')
        batch.alter_column('served_on', existing_type=sa.Date(), nullable=False)
        batch.create_primary_key(
            'pk_tracking_events', ['ad_serving_id', 'event', 'error_code', 'progress_offset', 'served_on']
        )
    with op.batch_alter_table('ad_requests', recreate='always') as batch:
        batch.drop_constraint('uq_ad_requests_request_id', type_='unique')
        batch.drop_constraint('pk_ad_requests', type_='primary')
        batch.drop_column('id')
        batch.create_primary_key('pk_ad_requests', ['request_id', 'created_at'])


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        _downgrade_postgresql()
    else:
        _downgrade_sqlite()


def _downgrade_postgresql() -> None:
    # Back to plain tables with a surrogate id; a key held once per day now is held once for good (the
    # first row of an ad serving id or request id is kept).
    for table in ('impressions', 'tracking_events', 'ad_requests'):
        op.rename_table(table, f'{table}_by_day')
        for index in _OLD_INDEXES[table]:
            op.execute(f'ALTER INDEX IF EXISTS {index} RENAME TO {index}_by_day')
    op.create_table(
        'impressions',
        sa.Column('ad_serving_id', sa.String(length=64), nullable=False),
        sa.Column('campaign_id', sa.Uuid(), nullable=False),
        sa.Column('creative_id', sa.Uuid(), nullable=True),
        sa.Column('cost', _MONEY, nullable=False),
        sa.Column('ip', _INET, nullable=True),
        sa.Column('user_agent', sa.String(length=512), nullable=True),
        sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name='fk_impressions_campaign_id_campaigns', ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['creative_id'], ['creatives.id'], name='fk_impressions_creative_id_creatives', ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name='pk_impressions'),
        sa.UniqueConstraint('ad_serving_id', name='uq_impressions_ad_serving_id'),
    )
    op.create_index('ix_impressions_campaign_id', 'impressions', ['campaign_id'], unique=False)
    op.create_table(
        'tracking_events',
        sa.Column('ad_serving_id', sa.String(length=64), nullable=False),
        sa.Column('event', sa.String(length=32), nullable=False),
        sa.Column('campaign_id', sa.Uuid(), nullable=False),
        sa.Column('creative_id', sa.Uuid(), nullable=False),
        sa.Column('error_code', sa.String(length=16), server_default='', nullable=False),
        sa.Column('ip', _INET, nullable=True),
        sa.Column('user_agent', sa.String(length=512), nullable=True),
        sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('progress_offset', sa.String(length=16), server_default='', nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name='fk_tracking_events_campaign_id_campaigns', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('ad_serving_id', 'event', 'error_code', 'progress_offset', name='pk_tracking_events'),
    )
    op.create_index('ix_tracking_events_campaign_id', 'tracking_events', ['campaign_id'], unique=False)
    op.create_table(
        'ad_requests',
        sa.Column('request_id', sa.String(length=128), nullable=False),
        sa.Column('ad_serving_id', sa.String(length=64), nullable=True),
        sa.Column('campaign_id', sa.Uuid(), nullable=True),
        sa.Column('creative_id', sa.Uuid(), nullable=True),
        sa.Column('duration', sa.Float(), nullable=False),
        sa.Column('ip', _INET, nullable=True),
        sa.Column('user_agent', sa.String(length=512), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.CheckConstraint('duration > 0', name='ck_ad_requests_duration_positive'),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name='fk_ad_requests_campaign_id_campaigns', ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['creative_id'], ['creatives.id'], name='fk_ad_requests_creative_id_creatives', ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name='pk_ad_requests'),
        sa.UniqueConstraint('request_id', name='uq_ad_requests_request_id'),
    )
    op.create_index('ix_ad_requests_campaign_id', 'ad_requests', ['campaign_id'], unique=False)
    op.execute(
        f"INSERT INTO impressions ({_COLUMNS['impressions']}, id) SELECT DISTINCT ON (ad_serving_id) "
        f"{_COLUMNS['impressions']}, gen_random_uuid() FROM impressions_by_day ORDER BY ad_serving_id, served_on"
    )
    op.execute(
        f"INSERT INTO tracking_events ({_COLUMNS['tracking_events']}) SELECT DISTINCT ON "
        f"(ad_serving_id, event, error_code, progress_offset) {_COLUMNS['tracking_events']} FROM tracking_events_by_day "
        "ORDER BY ad_serving_id, event, error_code, progress_offset, served_on"
    )
    op.execute(
        f"INSERT INTO ad_requests ({_COLUMNS['ad_requests']}, id) SELECT DISTINCT ON (request_id) "
        f"{_COLUMNS['ad_requests']}, gen_random_uuid() FROM ad_requests_by_day ORDER BY request_id, created_at"
    )
    for table in ('impressions', 'tracking_events', 'ad_requests'):
        op.drop_table(f'{table}_by_day')  # its partitions with it
    op.execute(f'DROP SCHEMA IF EXISTS {SCHEMA} CASCADE')


def _downgrade_sqlite() -> None:
    op.execute(
        'DELETE FROM impressions WHERE EXISTS (SELECT 1 FROM impressions o WHERE o.ad_serving_id = '
        'impressions.ad_serving_id AND o.served_on < impressions.served_on)'
    )
    op.execute(
        'DELETE FROM tracking_events WHERE EXISTS (SELECT 1 FROM tracking_events o WHERE o.ad_serving_id = '
        'tracking_events.ad_serving_id AND o.event = tracking_events.event AND o.error_code = '
        'tracking_events.error_code AND o.progress_offset = tracking_events.progress_offset AND o.served_on < '
        'tracking_events.served_on)'
    )
    op.execute(
        'DELETE FROM ad_requests WHERE EXISTS (SELECT 1 FROM ad_requests o WHERE o.request_id = '
        'ad_requests.request_id AND o.created_at < ad_requests.created_at)'
    )
    for table in ('impressions', 'ad_requests'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('id', sa.Uuid(), nullable=True))
        op.execute(f'UPDATE {table} SET id = lower(hex(randomblob(16)))')
    with op.batch_alter_table('impressions', recreate='always') as batch:
        batch.drop_constraint('pk_impressions', type_='primary')
        batch.drop_column('served_on')
        batch.alter_column('id', existing_type=sa.Uuid(), nullable=False)
        batch.create_primary_key('pk_impressions', ['id'])
        batch.create_unique_constraint('uq_impressions_ad_serving_id', ['ad_serving_id'])
    with op.batch_alter_table('tracking_events', recreate='always') as batch:
        batch.drop_constraint('pk_tracking_events', type_='primary')
        batch.drop_column('served_on')
        batch.create_primary_key('pk_tracking_events', ['ad_serving_id', 'event', 'error_code', 'progress_offset'])
    with op.batch_alter_table('ad_requests', recreate='always') as batch:
        batch.drop_constraint('pk_ad_requests', type_='primary')
        batch.alter_column('id', existing_type=sa.Uuid(), nullable=False)
        batch.create_primary_key('pk_ad_requests', ['id'])
        batch.create_unique_constraint('uq_ad_requests_request_id', ['request_id'])
