from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Money, UTCDateTime, UUIDPrimaryKey, utcnow

STATUSES = ("draft", "active", "paused", "completed")


class Campaign(UUIDPrimaryKey, Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {STATUSES!r}", name="status_valid"),
        sa.CheckConstraint("budget_total > 0", name="budget_positive"),
        sa.CheckConstraint("cpm > 0", name="cpm_positive"),
        sa.CheckConstraint("end_date > start_date", name="end_after_start"),
    )

    name: Mapped[str] = mapped_column(sa.String(255))
    description: Mapped[str | None] = mapped_column(sa.Text)
    budget_total: Mapped[Decimal] = mapped_column(Money(14, 2))
    cpm: Mapped[Decimal] = mapped_column(Money(12, 4))
    start_date: Mapped[datetime] = mapped_column(UTCDateTime)
    end_date: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(16), default="draft", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
