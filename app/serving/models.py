import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IPAddress, UTCDateTime, UUIDPrimaryKey, utcnow


class AdRequest(UUIDPrimaryKey, Base):
    """An ad request from an SDK (`POST /api/v1/ad-request`), kept so that a retry gets the same answer."""

    __tablename__ = "ad_requests"
    __table_args__ = (sa.CheckConstraint("duration > 0", name="duration_positive"),)

    request_id: Mapped[str] = mapped_column(sa.String(128), unique=True)
    ad_serving_id: Mapped[str | None] = mapped_column(sa.String(64))
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    creative_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("creatives.id", ondelete="SET NULL"))
    duration: Mapped[float] = mapped_column(sa.Float)
    ip: Mapped[str | None] = mapped_column(IPAddress)
    user_agent: Mapped[str | None] = mapped_column(sa.String(512))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
