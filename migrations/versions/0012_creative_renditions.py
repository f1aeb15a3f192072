"""creative renditions, identity, Ad-ID, transcode state, poster and quality warnings

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 20:45:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_STATUSES = "('queued', 'running', 'ready', 'failed')"


def upgrade() -> None:
    with op.batch_alter_table('creatives') as batch:
        batch.add_column(sa.Column('identity', sa.String(32), nullable=True))
        batch.add_column(sa.Column('ad_id', sa.String(12), nullable=True))
        # Creatives stored before renditions existed serve their original, as they did.
        batch.add_column(sa.Column('transcode_status', sa.String(16), nullable=False, server_default='ready'))
        batch.add_column(sa.Column('transcode_progress', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('transcode_error', sa.Text(), nullable=True))
        batch.add_column(sa.Column('poster_key', sa.String(255), nullable=True))
        batch.add_column(sa.Column('warnings', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
    creatives = sa.table('creatives', sa.column('id', sa.Uuid), sa.column('identity', sa.String))
    bind = op.get_bind()
    for (creative_id,) in bind.execute(sa.select(creatives.c.id)).all():
        # An existing creative keeps the identity players and stitchers already know: its id.
        bind.execute(creatives.update().where(creatives.c.id == creative_id).values(identity=creative_id.hex))
    with op.batch_alter_table('creatives') as batch:
        batch.alter_column('identity', existing_type=sa.String(32), nullable=False)
        batch.create_check_constraint(op.f('ck_creatives_transcode_status_valid'), f'transcode_status IN {_STATUSES}')

    op.create_table(
        'creative_renditions',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('creative_id', sa.Uuid(), nullable=False),
        sa.Column('name', sa.String(16), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('target_bitrate', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('storage_key', sa.String(255), nullable=True),
        sa.Column('bitrate', sa.Integer(), nullable=True),
        sa.Column('file_size', sa.BigInteger(), nullable=True),
        sa.Column('codec', sa.String(32), nullable=True),
        sa.Column('loudness', sa.Float(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_creative_renditions')),
        sa.ForeignKeyConstraint(
            ['creative_id'], ['creatives.id'], name=op.f('fk_creative_renditions_creative_id_creatives'),
            ondelete='CASCADE',
        ),
        sa.UniqueConstraint('creative_id', 'name', name=op.f('uq_creative_renditions_creative_id_name')),
        sa.CheckConstraint(f'status IN {_STATUSES}', name=op.f('ck_creative_renditions_status_valid')),
    )
    op.create_index(op.f('ix_creative_renditions_creative_id'), 'creative_renditions', ['creative_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_creative_renditions_creative_id'), 'creative_renditions')
    op.drop_table('creative_renditions')
    with op.batch_alter_table('creatives') as batch:
        batch.drop_constraint(op.f('ck_creatives_transcode_status_valid'), type_='check')
        for name in ('warnings', 'poster_key', 'transcode_error', 'transcode_progress', 'transcode_status',
                     'ad_id', 'identity'):
            batch.drop_column(name)
