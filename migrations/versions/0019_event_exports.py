"""event exports: the hours of raw events written as Parquet, and the rows of each file

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 03:10:00
"""

from alembic import op
import sqlalchemy as sa

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_exports",
        sa.Column("table_name", sa.String(length=32), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("table_name", "hour", name=op.f("pk_event_exports")),
    )


def downgrade() -> None:
    op.drop_table("event_exports")
