"""campaign targeting rules and time zone

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 20:45:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('campaigns') as batch:
        batch.add_column(sa.Column('targeting', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('time_zone', sa.String(length=64), nullable=False, server_default='UTC'))


def downgrade() -> None:
    with op.batch_alter_table('campaigns') as batch:
        batch.drop_column('time_zone')
        batch.drop_column('targeting')
