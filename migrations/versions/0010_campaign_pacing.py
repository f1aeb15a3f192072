"""campaign pacing: even, asap or frontloaded, an impression goal, a daily budget and a daily impression cap

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 20:30:00
"""

from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_CHECKS = {
    "pacing_valid": "pacing IN ('even', 'asap', 'frontloaded')",
    "impression_goal_positive": "impression_goal > 0",
    "daily_budget_positive": "daily_budget > 0",
    "daily_impression_cap_positive": "daily_impression_cap > 0",
}


def upgrade() -> None:
    # Existing campaigns pace evenly, with no goal beyond their budget.
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("pacing", sa.String(length=16), nullable=False, server_default="even"))
        batch.add_column(sa.Column("impression_goal", sa.BigInteger(), nullable=True))
        batch.add_column(
            sa.Column("daily_budget", sa.Numeric(14, 2).with_variant(sa.String(40), "sqlite"), nullable=True)
        )
        batch.add_column(sa.Column("daily_impression_cap", sa.BigInteger(), nullable=True))
        for name, condition in _CHECKS.items():
            batch.create_check_constraint(op.f(f"ck_campaigns_{name}"), condition)


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        for name in reversed(_CHECKS):
            batch.drop_constraint(op.f(f"ck_campaigns_{name}"), type_="check")
        batch.drop_column("daily_impression_cap")
        batch.drop_column("daily_budget")
        batch.drop_column("impression_goal")
        batch.drop_column("pacing")
