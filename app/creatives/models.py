import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, UUIDPrimaryKey, utcnow

STATUSES = ("active", "inactive")
# Where a creative's renditions stand (app.creatives.jobs): waiting for a worker, being made, all made, or
# given up on (transcode_error says why).
TRANSCODE_STATUSES = ("queued", "running", "ready", "failed")


def new_identity() -> str:
    """A fresh creative identity: stitchers key their own transcodes by it, so each stored file gets one."""
    return uuid.uuid4().hex


class Creative(UUIDPrimaryKey, Base):
    __tablename__ = "creatives"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {STATUSES!r}", name="status_valid"),
        sa.CheckConstraint("duration > 0", name="duration_positive"),
        sa.CheckConstraint("file_size > 0", name="file_size_positive"),
        sa.CheckConstraint(f"transcode_status IN {TRANSCODE_STATUSES!r}", name="transcode_status_valid"),
    )

    campaign_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(255))
    # The uploaded file, kept as it came: the mezzanine (VAST 4.1 §3.9.2) the renditions are made from.
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
    # Creative@id and our own UniversalAdId value; new whenever the file is replaced (app.creatives.identity).
    identity: Mapped[str] = mapped_column(sa.String(32), default=new_identity)
    # The advertiser's Ad-ID (ad-id.org), when given: Creative@adId and UniversalAdId.
    ad_id: Mapped[str | None] = mapped_column(sa.String(12))
    transcode_status: Mapped[str] = mapped_column(sa.String(16), default="queued")
    transcode_progress: Mapped[int] = mapped_column(sa.Integer, default=0)  # percent of all renditions
    transcode_error: Mapped[str | None] = mapped_column(sa.Text)
    poster_key: Mapped[str | None] = mapped_column(sa.String(255))
    # Quality warnings found on upload (app.creatives.quality): [{"code": ..., "message": ...}]
    warnings: Mapped[list] = mapped_column(sa.JSON, default=list)
    # Third-party verification (VAST 4.1 AdVerifications, app.creatives.verifications): [{"vendor": ...,
    # "javascript_url": ..., "parameters": ... | None, "not_executed_url": ... | None}]
    verifications: Mapped[list] = mapped_column(sa.JSON, default=list)
    # Archived (app.creatives.services.archive_creative): never served, out of the default lists; a creative
    # that delivered is archived, never deleted.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    renditions: Mapped[list["Rendition"]] = relationship(
        back_populates="creative",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(Rendition.height.desc(), Rendition.target_bitrate.desc())",
    )


class Rendition(UUIDPrimaryKey, Base):
    """One ready-to-serve H.264/AAC MP4 made from a creative's mezzanine (app.creatives.transcode)."""

    __tablename__ = "creative_renditions"
    __table_args__ = (
        sa.UniqueConstraint("creative_id", "name"),
        sa.CheckConstraint(f"status IN {TRANSCODE_STATUSES!r}", name="status_valid"),
    )

    creative_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("creatives.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(16))  # the ladder rung, e.g. "720p"
    width: Mapped[int] = mapped_column(sa.Integer)
    height: Mapped[int] = mapped_column(sa.Integer)
    target_bitrate: Mapped[int] = mapped_column(sa.Integer)  # bits per second asked of the encoder
    status: Mapped[str] = mapped_column(sa.String(16), default="queued")
    storage_key: Mapped[str | None] = mapped_column(sa.String(255))  # set once the file is stored whole
    bitrate: Mapped[int | None] = mapped_column(sa.Integer)  # bits per second of the file, measured
    file_size: Mapped[int | None] = mapped_column(sa.BigInteger)
    codec: Mapped[str | None] = mapped_column(sa.String(32))  # RFC 6381, e.g. "avc1.640028,mp4a.40.2"
    loudness: Mapped[float | None] = mapped_column(sa.Float)  # integrated LUFS of the file, measured
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    creative: Mapped[Creative] = relationship(back_populates="renditions")
