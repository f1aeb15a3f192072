"""hourly event counts by pod position

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 18:20:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_KEY = ['hour', 'campaign_id', 'creative_id', 'event', 'error_code']


def upgrade() -> None:
    with op.batch_alter_table('event_counts_hourly') as batch:
        batch.add_column(sa.Column('pod_position', sa.SmallInteger(), nullable=False, server_default='0'))
        batch.drop_constraint('pk_event_counts_hourly', type_='primary')
        batch.create_primary_key('pk_event_counts_hourly', [*_KEY, 'pod_position'])


def downgrade() -> None:
    # Positions are added up into the single row each key had before.
    op.execute(
        "UPDATE event_counts_hourly SET count = (SELECT SUM(o.count) FROM event_counts_hourly o WHERE "
        + " AND ".join(f"o.{c} = event_counts_hourly.{c}" for c in _KEY)
        + "), spend_units = (SELECT SUM(o.spend_units) FROM event_counts_hourly o WHERE "
        + " AND ".join(f"o.{c} = event_counts_hourly.{c}" for c in _KEY)
        + ") WHERE pod_position = (SELECT MIN(o.pod_position) FROM event_counts_hourly o WHERE "
        + " AND ".join(f"o.{c} = event_counts_hourly.{c}" for c in _KEY)
        + ")"
    )
    op.execute(
        "DELETE FROM event_counts_hourly WHERE pod_position <> (SELECT MIN(o.pod_position) FROM "
        "event_counts_hourly o WHERE "
        + " AND ".join(f"o.{c} = event_counts_hourly.{c}" for c in _KEY)
        + ")"
    )
    with op.batch_alter_table('event_counts_hourly') as batch:
        batch.drop_constraint('pk_event_counts_hourly', type_='primary')
        batch.drop_column('pod_position')
        batch.create_primary_key('pk_event_counts_hourly', _KEY)
