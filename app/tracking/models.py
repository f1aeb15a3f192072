import uuid
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IPAddress, Money, UTCDateTime, UUIDPrimaryKey, utcnow


class Impression(UUIDPrimaryKey, Base):
    """One counted (billable) impression. `ad_serving_id` is unique: an ad is billed at most once."""

    __tablename__ = "impressions"

    ad_serving_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    creative_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("creatives.id", ondelete="SET NULL"))
    cost: Mapped[Decimal] = mapped_column(Money(16, 7))
    ip: Mapped[str | None] = mapped_column(IPAddress)
    user_agent: Mapped[str | None] = mapped_column(sa.String(512))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
