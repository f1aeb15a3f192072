"""A supply tag's figures, from the hourly serving and event counts (kept per tag by the flusher)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.reporting.services import money_text
from app.supply.services import get_tag
from app.tracking.models import EventCountHourly, ServingCountHourly


def tag_stats(
    session: Session, tag_id: int, start: datetime | None = None, end: datetime | None = None
) -> dict:
    """The tag's figures over [start, end) by whole hours (default: the last 24 hours): requests, fills,
    no-fills and fill rate (serving counts), impressions, completes, clicks, errors by VAST error code
    and spend (counted events)."""
    get_tag(session, tag_id)
    end = end or datetime.now(UTC)
    start = (start or end - timedelta(hours=24)).replace(minute=0, second=0, microsecond=0)
    served = session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(ServingCountHourly.requests), 0),
            sa.func.coalesce(sa.func.sum(ServingCountHourly.fills), 0),
            sa.func.coalesce(sa.func.sum(ServingCountHourly.no_fills), 0),
        ).where(
            ServingCountHourly.supply_tag_id == tag_id,
            ServingCountHourly.hour >= start,
            ServingCountHourly.hour < end,
        )
    ).one()
    rows = session.execute(
        sa.select(
            EventCountHourly.event,
            EventCountHourly.error_code,
            sa.func.sum(EventCountHourly.count),
            sa.func.sum(EventCountHourly.spend_units),
        )
        .where(
            EventCountHourly.supply_tag_id == tag_id,
            EventCountHourly.hour >= start,
            EventCountHourly.hour < end,
        )
        .group_by(EventCountHourly.event, EventCountHourly.error_code)
    ).all()
    events: Counter = Counter()
    errors: Counter = Counter()
    spend = 0
    for event, code, count, units in rows:
        events[event] += int(count)
        spend += int(units or 0)
        if event == "error":
            errors[code] += int(count)
    requests, fills, no_fills = (int(value) for value in served)
    return {
        "supply_tag_id": tag_id,
        "start": start,
        "end": end,
        "requests": requests,
        "fills": fills,
        "no_fills": no_fills,
        "fill_rate": fills / requests if requests else 0.0,
        "impressions": events["impression"],
        "completes": events["complete"],
        "clicks": events["click"],
        "errors": events["error"],
        "errors_by_code": dict(sorted(errors.items())),
        "spend": money_text(spend),
    }
