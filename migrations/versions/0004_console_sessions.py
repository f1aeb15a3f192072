"""console page sessions kept server-side beside the API tokens

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 10:00:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every existing row is an API token; console sessions were only signed cookies until now.
    with op.batch_alter_table('auth_tokens') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='api'))
        batch.create_check_constraint(op.f('ck_auth_tokens_kind_valid'), "kind IN ('api', 'console')")


def downgrade() -> None:
    op.execute("DELETE FROM auth_tokens WHERE kind <> 'api'")
    with op.batch_alter_table('auth_tokens') as batch:
        batch.drop_constraint(op.f('ck_auth_tokens_kind_valid'), type_='check')
        batch.drop_column('kind')
