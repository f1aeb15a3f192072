import uuid
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IPAddress, Money, UTCDateTime, utcnow

# Raw events are partitioned by day on PostgreSQL (app.tracking.partitions explains the keys); SQLite keeps
# plain tables with the same columns and keys.
_BY_SERVED_DAY = {"postgresql_partition_by": "RANGE (served_on)"}


class Impression(Base):
    """One counted (billable) impression, once per ad serving id: the key is (ad_serving_id, served_on), and
    served_on is fixed per ad serving id (the UTC day the ad was served), so an ad is billed at most once."""

    __tablename__ = "impressions"
    __table_args__ = _BY_SERVED_DAY

    ad_serving_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    served_on: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    creative_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("creatives.id", ondelete="SET NULL"))
    cost: Mapped[Decimal] = mapped_column(Money(16, 7))
    ip: Mapped[str | None] = mapped_column(IPAddress)
    user_agent: Mapped[str | None] = mapped_column(sa.String(512))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TrackingEvent(Base):
    """Every other counted beacon (quartiles, clicks, errors, ...): once per ad serving id and event, and per
    error code for errors and offset for progress events ('' for every other event)."""

    __tablename__ = "tracking_events"

    ad_serving_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    event: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    error_code: Mapped[str] = mapped_column(sa.String(16), primary_key=True, default="", server_default="")
    progress_offset: Mapped[str] = mapped_column(
        sa.String(16), primary_key=True, default="", server_default=""
    )
    served_on: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    creative_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)  # history outlives a deleted creative
    ip: Mapped[str | None] = mapped_column(IPAddress)
    user_agent: Mapped[str | None] = mapped_column(sa.String(512))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EventCountHourly(Base):
    """Counts and spend per hour, campaign, creative, event (and error code), pod position and supply tag,
    from counted events only."""

    __tablename__ = "event_counts_hourly"
    __table_args__ = (sa.Index("ix_event_counts_hourly_campaign_hour", "campaign_id", "hour"),)

    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    creative_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    event: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    error_code: Mapped[str] = mapped_column(sa.String(16), primary_key=True, default="")
    # The ad's sequence in its pod (1..k), 0 for a single ad: stats split by pod position.
    pod_position: Mapped[int] = mapped_column(
        sa.SmallInteger, primary_key=True, default=0, server_default="0"
    )
    # The supply tag the ad was requested through (app.supply), 0 for none: stats per tag.
    supply_tag_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, default=0, server_default="0")
    count: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    spend_units: Mapped[int] = mapped_column(sa.BigInteger, default=0)  # 10⁻⁷ currency: exact sums anywhere


class ServingCountHourly(Base):
    """Ad requests, fills and no-fills per hour, counted by the serving workers without SQL; of them, the ad
    breaks (pods): their ads, and the milliseconds requested and filled. Per supply tag (app.supply; 0 for
    requests without one): an hour's figures are the sum of its rows."""

    __tablename__ = "serving_counts_hourly"

    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    supply_tag_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, default=0, server_default="0")
    requests: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    fills: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    no_fills: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    pod_requests: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    pod_ads: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    pod_requested_ms: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    pod_filled_ms: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")


class EventExport(Base):
    """The hours of raw events written as Parquet (app.tracking.export), and the rows each file holds."""

    __tablename__ = "event_exports"

    table_name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    rows: Mapped[int] = mapped_column(sa.BigInteger)
    exported_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ServedAdHourly(Base):
    """Ads served per hour, campaign and creative: each ad put in an answer (VAST, VMAP or JSON; every ad of
    a pod, its buffet included), counted by the serving workers without SQL in the same batches as
    ServingCountHourly (so added exactly once with them). The fills of a campaign or creative."""

    __tablename__ = "served_ads_hourly"

    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    creative_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)  # outlives a deleted creative
    supply_tag_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, default=0, server_default="0")
    ads: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class ProcessedBatch(Base):
    """Batches of serving counts already added, so a batch the flusher sees twice is added once."""

    __tablename__ = "processed_batches"

    batch_id: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeadLetterEvent(Base):
    """An event the database refused (or a stream entry that is not an event), kept verbatim with the error,
    so that one bad event never stops the others. An operator fixes and replays it (`flask dead-letters`,
    `/api/v1/dead-letter-events`); a replayed event is stored like any other and its row deleted."""

    __tablename__ = "dead_letter_events"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    entry_id: Mapped[str | None] = mapped_column(sa.String(64))  # its event-store entry, for tracing
    raw: Mapped[str] = mapped_column(sa.Text)  # Event.encode() (ASCII), or the undecodable entry
    error: Mapped[str] = mapped_column(sa.Text)
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=1)
