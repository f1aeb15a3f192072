from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow
from app.supply.presets import PLATFORMS


class SupplyTag(Base):
    """Where ad requests come from (a placement): requests carry `tag=<id>`, its defaults fill what they
    leave out, and serving and event counts are kept per tag (app.supply)."""

    __tablename__ = "supply_tags"
    __table_args__ = (
        sa.CheckConstraint(f"platform IN {PLATFORMS!r}", name="platform_valid"),
        sa.CheckConstraint("max_duration > 0", name="max_duration_positive"),
        sa.CheckConstraint("min_duration >= 0", name="min_duration_not_negative"),
        sa.CheckConstraint("pod_max_duration > 0", name="pod_max_duration_positive"),
        sa.CheckConstraint("pod_max_ads > 0", name="pod_max_ads_positive"),
        # SQLite would reuse a deleted tag's number: its history would be another tag's.
        {"sqlite_autoincrement": True},
    )

    # A small number: it travels in every ad request URL, beacon token and counts row (0 is "no tag").
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    platform: Mapped[str] = mapped_column(sa.String(16), default="generic")
    # Defaults for requests that do not give them (null: none; the request's own rules apply).
    vast_version: Mapped[str | None] = mapped_column(sa.String(8))
    min_duration: Mapped[float | None] = mapped_column(sa.Float)
    max_duration: Mapped[float | None] = mapped_column(sa.Float)
    pod_max_duration: Mapped[float | None] = mapped_column(sa.Float)
    pod_max_ads: Mapped[int | None] = mapped_column(sa.SmallInteger)
    # Per URL parameter, the macro to put in the tag's URL instead of the preset's (app.supply.presets).
    macros: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
