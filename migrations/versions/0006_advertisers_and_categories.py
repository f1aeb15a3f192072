"""advertisers; a campaign's advertiser, IAB category and category exclusivity

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 09:00:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('advertisers',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('domain', sa.String(length=253), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_advertisers')),
    sa.UniqueConstraint('domain', name=op.f('uq_advertisers_domain'))
    )
    # Existing campaigns have no advertiser and no category, and are not exclusive.
    with op.batch_alter_table('campaigns') as batch:
        batch.add_column(sa.Column('advertiser_id', sa.Uuid(), nullable=True))
        batch.add_column(sa.Column('category', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('category_exclusive', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_index(op.f('ix_campaigns_advertiser_id'), ['advertiser_id'], unique=False)
        batch.create_foreign_key(
            op.f('fk_campaigns_advertiser_id_advertisers'), 'advertisers', ['advertiser_id'], ['id'],
            ondelete='RESTRICT',
        )


def downgrade() -> None:
    with op.batch_alter_table('campaigns') as batch:
        batch.drop_constraint(op.f('fk_campaigns_advertiser_id_advertisers'), type_='foreignkey')
        batch.drop_index(op.f('ix_campaigns_advertiser_id'))
        batch.drop_column('category_exclusive')
        batch.drop_column('category')
        batch.drop_column('advertiser_id')
    op.drop_table('advertisers')
