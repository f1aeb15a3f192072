"""pod figures in the hourly serving counts

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 19:10:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_COLUMNS = ('pod_requests', 'pod_ads', 'pod_requested_ms', 'pod_filled_ms')


def upgrade() -> None:
    with op.batch_alter_table('serving_counts_hourly') as batch:
        for name in _COLUMNS:
            batch.add_column(sa.Column(name, sa.BigInteger(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('serving_counts_hourly') as batch:
        for name in reversed(_COLUMNS):
            batch.drop_column(name)
