"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 08:38:04.319977
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("budget_total", sa.Numeric(14, 2).with_variant(sa.String(40), "sqlite"), nullable=False),
        sa.Column("cpm", sa.Numeric(12, 4).with_variant(sa.String(40), "sqlite"), nullable=False),
        sa.Column("start_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'active', 'paused', 'completed')", name=op.f("ck_campaigns_status_valid")
        ),
        sa.CheckConstraint("budget_total > 0", name=op.f("ck_campaigns_budget_positive")),
        sa.CheckConstraint("cpm > 0", name=op.f("ck_campaigns_cpm_positive")),
        sa.CheckConstraint("end_date > start_date", name=op.f("ck_campaigns_end_after_start")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_index(op.f("ix_campaigns_status"), "campaigns", ["status"], unique=False)
    op.create_table(
        "users",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "auth_tokens",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_auth_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_auth_tokens_token_hash")),
    )
    op.create_index(op.f("ix_auth_tokens_user_id"), "auth_tokens", ["user_id"], unique=False)
    op.create_table(
        "creatives",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("bitrate", sa.Integer(), nullable=False),
        sa.Column("mime_type", sa.String(length=64), nullable=False),
        sa.Column("video_codec", sa.String(length=16), nullable=False),
        sa.Column("click_through_url", sa.String(length=2048), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("status IN ('active', 'inactive')", name=op.f("ck_creatives_status_valid")),
        sa.CheckConstraint("duration > 0", name=op.f("ck_creatives_duration_positive")),
        sa.CheckConstraint("file_size > 0", name=op.f("ck_creatives_file_size_positive")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_creatives_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_creatives")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_creatives_storage_key")),
    )
    op.create_index(op.f("ix_creatives_campaign_id"), "creatives", ["campaign_id"], unique=False)
    op.create_table(
        "ad_requests",
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("ad_serving_id", sa.String(length=64), nullable=True),
        sa.Column("campaign_id", sa.Uuid(), nullable=True),
        sa.Column("creative_id", sa.Uuid(), nullable=True),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("ip", sa.String(length=45).with_variant(postgresql.INET(), "postgresql"), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("duration > 0", name=op.f("ck_ad_requests_duration_positive")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_ad_requests_campaign_id_campaigns"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["creative_id"],
            ["creatives.id"],
            name=op.f("fk_ad_requests_creative_id_creatives"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ad_requests")),
        sa.UniqueConstraint("request_id", name=op.f("uq_ad_requests_request_id")),
    )
    op.create_index(op.f("ix_ad_requests_campaign_id"), "ad_requests", ["campaign_id"], unique=False)
    op.create_table(
        "impressions",
        sa.Column("ad_serving_id", sa.String(length=64), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("creative_id", sa.Uuid(), nullable=True),
        sa.Column("cost", sa.Numeric(16, 7).with_variant(sa.String(40), "sqlite"), nullable=False),
        sa.Column("ip", sa.String(length=45).with_variant(postgresql.INET(), "postgresql"), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_impressions_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["creative_id"],
            ["creatives.id"],
            name=op.f("fk_impressions_creative_id_creatives"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_impressions")),
        sa.UniqueConstraint("ad_serving_id", name=op.f("uq_impressions_ad_serving_id")),
    )
    op.create_index(op.f("ix_impressions_campaign_id"), "impressions", ["campaign_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_impressions_campaign_id"), table_name="impressions")
    op.drop_table("impressions")
    op.drop_index(op.f("ix_ad_requests_campaign_id"), table_name="ad_requests")
    op.drop_table("ad_requests")
    op.drop_index(op.f("ix_creatives_campaign_id"), table_name="creatives")
    op.drop_table("creatives")
    op.drop_index(op.f("ix_auth_tokens_user_id"), table_name="auth_tokens")
    op.drop_table("auth_tokens")
    op.drop_table("users")
    op.drop_index(op.f("ix_campaigns_status"), table_name="campaigns")
    op.drop_table("campaigns")
