"""dead-letter events; tracking events keyed by error code and progress offset

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 17:30:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dead_letter_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_id', sa.String(length=64), nullable=True),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dead_letter_events'))
    )
    op.create_index(op.f('ix_dead_letter_events_failed_at'), 'dead_letter_events', ['failed_at'], unique=False)
    # An ad may report several errors, and progress at several offsets: each counts once.
    op.execute("UPDATE tracking_events SET error_code = '' WHERE error_code IS NULL")
    with op.batch_alter_table('tracking_events') as batch:
        batch.drop_constraint('pk_tracking_events', type_='primary')
        batch.alter_column('error_code', existing_type=sa.String(length=16), nullable=False, server_default='')
        batch.add_column(sa.Column('progress_offset', sa.String(length=16), nullable=False, server_default=''))
        batch.create_primary_key('pk_tracking_events', ['ad_serving_id', 'event', 'error_code', 'progress_offset'])


def downgrade() -> None:
    op.execute("DELETE FROM tracking_events WHERE progress_offset <> ''")
    op.execute(
        "DELETE FROM tracking_events WHERE error_code <> '' AND EXISTS (SELECT 1 FROM tracking_events o "
        "WHERE o.ad_serving_id = tracking_events.ad_serving_id AND o.event = tracking_events.event "
        "AND o.error_code < tracking_events.error_code)"
    )
    with op.batch_alter_table('tracking_events') as batch:
        batch.drop_constraint('pk_tracking_events', type_='primary')
        batch.drop_column('progress_offset')
        batch.alter_column('error_code', existing_type=sa.String(length=16), nullable=True, server_default=None)
        batch.create_primary_key('pk_tracking_events', ['ad_serving_id', 'event'])
    op.execute("UPDATE tracking_events SET error_code = NULL WHERE error_code = ''")
    op.drop_index(op.f('ix_dead_letter_events_failed_at'), table_name='dead_letter_events')
    op.drop_table('dead_letter_events')
