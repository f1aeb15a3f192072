from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, UUIDPrimaryKey, utcnow


class Advertiser(UUIDPrimaryKey, Base):
    """Who pays for an ad: a name for people (VAST <Advertiser>), a domain for machines (OpenRTB adomain,
    badv, competitive separation)."""

    __tablename__ = "advertisers"

    name: Mapped[str] = mapped_column(sa.String(255))
    domain: Mapped[str] = mapped_column(sa.String(253), unique=True)
    # Frequency caps over all its campaigns (app.campaigns.caps): a list of rules, in the API's shape.
    frequency_caps: Mapped[list] = mapped_column(sa.JSON, default=list, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
