"""VAST redirect line items: a campaign's kind, its partner tag, the ad's duration, server-side unwrapping

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 02:50:00
"""

from alembic import op
import sqlalchemy as sa

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="direct"))
        batch.add_column(sa.Column("vast_ad_tag_uri", sa.Text(), nullable=True))
        batch.add_column(sa.Column("ad_duration", sa.Float(), nullable=True))
        batch.add_column(
            sa.Column("server_side_unwrap", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_check_constraint(op.f("ck_campaigns_kind_valid"), "kind IN ('direct', 'vast_redirect')")
        batch.create_check_constraint(
            op.f("ck_campaigns_redirect_complete"),
            "kind = 'direct' OR (vast_ad_tag_uri IS NOT NULL AND ad_duration > 0)",
        )


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_constraint(op.f("ck_campaigns_redirect_complete"), type_="check")
        batch.drop_constraint(op.f("ck_campaigns_kind_valid"), type_="check")
        batch.drop_column("server_side_unwrap")
        batch.drop_column("ad_duration")
        batch.drop_column("vast_ad_tag_uri")
        batch.drop_column("kind")
