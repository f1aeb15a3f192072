import uuid
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.advertisers.models import Advertiser
from app.db import Base, Money, UTCDateTime, UUIDPrimaryKey, utcnow

STATUSES = ("draft", "active", "paused", "completed")
PACINGS = ("even", "asap", "frontloaded")  # app.serving.pacing
# direct: plays its own creatives; vast_redirect: a third party's VAST tag, served as a <Wrapper>
# (app.serving.wrappers) with the declared duration standing for the ad's.
KINDS = ("direct", "vast_redirect")


class Campaign(UUIDPrimaryKey, Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {STATUSES!r}", name="status_valid"),
        sa.CheckConstraint("budget_total > 0", name="budget_positive"),
        sa.CheckConstraint("cpm > 0", name="cpm_positive"),
        sa.CheckConstraint("end_date > start_date", name="end_after_start"),
        sa.CheckConstraint(f"pacing IN {PACINGS!r}", name="pacing_valid"),
        sa.CheckConstraint("impression_goal > 0", name="impression_goal_positive"),
        sa.CheckConstraint("daily_budget > 0", name="daily_budget_positive"),
        sa.CheckConstraint("daily_impression_cap > 0", name="daily_impression_cap_positive"),
        sa.CheckConstraint(f"kind IN {KINDS!r}", name="kind_valid"),
        sa.CheckConstraint(
            "kind = 'direct' OR (vast_ad_tag_uri IS NOT NULL AND ad_duration > 0)", name="redirect_complete"
        ),
    )

    name: Mapped[str] = mapped_column(sa.String(255))
    description: Mapped[str | None] = mapped_column(sa.Text)
    budget_total: Mapped[Decimal] = mapped_column(Money(14, 2))
    cpm: Mapped[Decimal] = mapped_column(Money(12, 4))
    start_date: Mapped[datetime] = mapped_column(UTCDateTime)
    end_date: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(16), default="draft", index=True)
    # Who advertises and what (app.campaigns.categories): the VAST <Advertiser> and <Category>, and
    # competitive separation. An advertiser with campaigns cannot be deleted.
    advertiser_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("advertisers.id", ondelete="RESTRICT"), index=True
    )
    category: Mapped[str | None] = mapped_column(sa.String(16))
    # Two ads of one exclusive category are never in one ad break.
    category_exclusive: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    # Frequency caps (app.campaigns.caps): a list of rules, in the API's shape.
    frequency_caps: Mapped[list] = mapped_column(sa.JSON, default=list, server_default="[]")
    # Pacing (app.serving.pacing): how the goal is spread over the flight, and the optional goals beside the
    # budget (null: none): a total impression goal, a daily budget and a daily impression cap (UTC days).
    pacing: Mapped[str] = mapped_column(sa.String(16), default="even", server_default="even")
    impression_goal: Mapped[int | None] = mapped_column(sa.BigInteger)
    daily_budget: Mapped[Decimal | None] = mapped_column(Money(14, 2))
    daily_impression_cap: Mapped[int | None] = mapped_column(sa.BigInteger)
    # Which requests it may serve (app.campaigns.targeting), the day-part in `time_zone` (IANA).
    targeting: Mapped[dict | None] = mapped_column(sa.JSON)
    time_zone: Mapped[str] = mapped_column(sa.String(64), default="UTC", server_default="UTC")
    # Archived (app.campaigns.services.archive_campaign): out of the default lists, its figures kept; a
    # campaign that delivered is archived, never deleted.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A VAST redirect line item (kind vast_redirect): the partner's tag (http or https, with VAST macros
    # expanded per request: vast.macros), the duration of the ad it returns in seconds, and whether the server
    # follows the tag itself and answers with the InLine (for SSAI callers that cannot follow wrappers).
    kind: Mapped[str] = mapped_column(sa.String(16), default="direct", server_default="direct")
    vast_ad_tag_uri: Mapped[str | None] = mapped_column(sa.Text)
    ad_duration: Mapped[float | None] = mapped_column(sa.Float)
    server_side_unwrap: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    advertiser: Mapped[Advertiser | None] = relationship(lazy="selectin")

    @property
    def advertiser_name(self) -> str | None:
        return self.advertiser.name if self.advertiser is not None else None

    @property
    def advertiser_domain(self) -> str | None:
        return self.advertiser.domain if self.advertiser is not None else None
