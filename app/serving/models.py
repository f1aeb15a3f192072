import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IPAddress, UTCDateTime, utcnow


class AdRequest(Base):
    """An ad request from an SDK (`POST /api/v1/ad-request`). Partitioned by the day of `created_at` on
    PostgreSQL (app.tracking.partitions): the key holds it, and a stream entry stored twice has the same."""

    __tablename__ = "ad_requests"
    __table_args__ = (
        sa.CheckConstraint("duration > 0", name="duration_positive"),
        {"postgresql_partition_by": "RANGE (created_at)"},
    )

    request_id: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    ad_serving_id: Mapped[str | None] = mapped_column(sa.String(64))
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    creative_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("creatives.id", ondelete="SET NULL"))
    duration: Mapped[float] = mapped_column(sa.Float)
    ip: Mapped[str | None] = mapped_column(IPAddress)
    user_agent: Mapped[str | None] = mapped_column(sa.String(512))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True, default=utcnow)
