import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, UUIDPrimaryKey, utcnow

STATUSES = ("active", "inactive")


class Creative(UUIDPrimaryKey, Base):
    __tablename__ = "creatives"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {STATUSES!r}", name="status_valid"),
        sa.CheckConstraint("duration > 0", name="duration_positive"),
        sa.CheckConstraint("file_size > 0", name="file_size_positive"),
    )

    campaign_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(255))
    storage_key: Mapped[str] = mapped_column(sa.String(255), unique=True)
    duration: Mapped[float] = mapped_column(sa.Float)
    file_size: Mapped[int] = mapped_column(sa.BigInteger)
    width: Mapped[int] = mapped_column(sa.Integer)
    height: Mapped[int] = mapped_column(sa.Integer)
    bitrate: Mapped[int] = mapped_column(sa.Integer)
    mime_type: Mapped[str] = mapped_column(sa.String(64), default="video/mp4")
    video_codec: Mapped[str] = mapped_column(sa.String(16))
    click_through_url: Mapped[str | None] = mapped_column(sa.String(2048))
    status: Mapped[str] = mapped_column(sa.String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
