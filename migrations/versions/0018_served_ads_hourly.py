"""ads served per hour, campaign and creative (the fills of a campaign or creative in reports)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 03:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "served_ads_hourly",
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("creative_id", sa.Uuid(), nullable=False),
        sa.Column("supply_tag_id", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("ads", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_served_ads_hourly_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "hour", "campaign_id", "creative_id", "supply_tag_id", name=op.f("pk_served_ads_hourly")
        ),
    )


def downgrade() -> None:
    op.drop_table("served_ads_hourly")
