"""What the database holds of each campaign's delivery, to seed the live counters pacing reads (after a Redis
restart, live figures must never drop below what is stored)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.serving.pacing import Delivered
from app.tracking.models import EventCountHourly


def stored_delivery(
    session: Session, campaign_ids: list[uuid.UUID], now: float
) -> dict[uuid.UUID, Delivered]:
    """Spend (money units) and impressions of each campaign, in total and on `now`'s UTC day: one grouped
    read through the (campaign_id, hour) index. Campaigns without any impression are absent."""
    if not campaign_ids:
        return {}
    today = sa.literal(_day_start(now), EventCountHourly.hour.type)
    on_day = EventCountHourly.hour >= today
    rows = session.execute(
        sa.select(
            EventCountHourly.campaign_id,
            sa.func.sum(EventCountHourly.spend_units),
            sa.func.sum(EventCountHourly.count),
            sa.func.sum(sa.case((on_day, EventCountHourly.spend_units), else_=0)),
            sa.func.sum(sa.case((on_day, EventCountHourly.count), else_=0)),
        )
        .where(EventCountHourly.event == "impression", EventCountHourly.campaign_id.in_(campaign_ids))
        .group_by(EventCountHourly.campaign_id)
    )
    return {campaign_id: Delivered(*(int(value) for value in values)) for campaign_id, *values in rows}


def _day_start(now: float) -> datetime:
    return datetime.fromtimestamp(now // 86400 * 86400, UTC)


def has_delivered(
    session: Session, *, campaign_id: uuid.UUID | None = None, creative_id: uuid.UUID | None = None
) -> bool:
    """Whether any impression of the campaign (or of the creative) is stored: such a thing is in reporting,
    so it is archived, never deleted. One indexed EXISTS."""
    query = sa.select(EventCountHourly.hour).where(EventCountHourly.event == "impression")
    if campaign_id is not None:
        query = query.where(EventCountHourly.campaign_id == campaign_id)
    if creative_id is not None:
        query = query.where(EventCountHourly.creative_id == creative_id)
    return bool(session.scalar(sa.select(query.exists())))


def delivered_creatives(session: Session, campaign_id: uuid.UUID) -> set[uuid.UUID]:
    """The campaign's creatives with a stored impression (those has_delivered names), in one query."""
    return set(
        session.scalars(
            sa.select(EventCountHourly.creative_id)
            .where(EventCountHourly.campaign_id == campaign_id, EventCountHourly.event == "impression")
            .distinct()
        )
    )
