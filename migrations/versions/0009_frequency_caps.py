"""frequency caps of campaigns and advertisers

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-30 20:40:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None

TABLES = ('campaigns', 'advertisers')


def upgrade() -> None:
    # Existing campaigns and advertisers have no cap.
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('frequency_caps', sa.JSON(), nullable=False, server_default='[]'))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column('frequency_caps')
