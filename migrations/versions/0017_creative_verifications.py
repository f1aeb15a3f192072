"""creative verification vendors (VAST 4.1 AdVerifications)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 03:00:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0017'
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('creatives') as batch:
        batch.add_column(sa.Column('verifications', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table('creatives') as batch:
        batch.drop_column('verifications')
