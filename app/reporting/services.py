"""Campaign stats and the dashboard, from the hourly aggregates the flusher maintains."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.campaigns.models import STATUSES, Campaign
from app.campaigns.services import get_campaign
from app.exceptions import Invalid
from app.serving.money import currency_to_units, units_to_currency
from app.tracking.models import EventCountHourly, ServingCountHourly

QUARTILES = ("start", "firstQuartile", "midpoint", "thirdQuartile", "complete")
MAX_POINTS = 24 * 93  # a quarter of hours, or that many days


def money_text(units: int) -> str:
    """Exact, with at least two decimals: "12.50", "0.0123456"."""
    amount = units_to_currency(units)
    if amount == amount.quantize(Decimal("0.01")):
        return f"{amount:.2f}"
    return format(amount.normalize(), "f")


def _ratio(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 6) if denominator else 0.0


def _truncate(moment: datetime, granularity: str) -> datetime:
    moment = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if granularity == "day" else moment


def _summary(counts: dict[str, int], errors: dict[str, int], spend_units: int) -> dict:
    impressions = counts.get("impression", 0)
    return {
        "impressions": impressions,
        "starts": counts.get("start", 0),
        "first_quartiles": counts.get("firstQuartile", 0),
        "midpoints": counts.get("midpoint", 0),
        "third_quartiles": counts.get("thirdQuartile", 0),
        "completes": counts.get("complete", 0),
        "completion_rate": _ratio(counts.get("complete", 0), impressions),
        "clicks": counts.get("click", 0),
        "ctr": _ratio(counts.get("click", 0), impressions),
        "skips": counts.get("skip", 0),
        "errors": sum(errors.values()),
        "errors_by_code": dict(sorted(errors.items())),
        "spend": money_text(spend_units),
    }


def campaign_stats(
    session: Session,
    campaign_id: uuid.UUID,
    *,
    start: datetime | None,
    end: datetime | None,
    granularity: str,
    now: datetime | None = None,
) -> dict:
    campaign = get_campaign(session, campaign_id)
    now = now or datetime.now(UTC)
    start = start or campaign.start_date
    end = end or max(min(now, campaign.end_date), start + timedelta(hours=1))
    if end <= start:
        raise Invalid("Invalid stats range", {"to": "Must be after from."})
    step = timedelta(days=1) if granularity == "day" else timedelta(hours=1)
    if (end - start) / step > MAX_POINTS:
        raise Invalid("Invalid stats range", {"to": f"At most {MAX_POINTS} {granularity}s from `from`."})

    rows = session.execute(
        sa.select(EventCountHourly).where(
            EventCountHourly.campaign_id == campaign_id,
            EventCountHourly.hour >= _truncate(start, "hour"),
            EventCountHourly.hour < end,
        )
    ).scalars()
    totals: dict[str, int] = defaultdict(int)
    errors: dict[str, int] = defaultdict(int)
    spend_units = 0
    series: dict[datetime, dict] = {}
    for row in rows:
        totals[row.event] += row.count
        spend_units += row.spend_units
        if row.event == "error":
            errors[row.error_code or "unknown"] += row.count
        bucket = series.setdefault(_truncate(row.hour, granularity), {"counts": defaultdict(int), "spend": 0})
        bucket["counts"][row.event] += row.count
        bucket["spend"] += row.spend_units

    lifetime_units = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(EventCountHourly.spend_units), 0)).where(
            EventCountHourly.campaign_id == campaign_id, EventCountHourly.event == "impression"
        )
    )
    budget_units = currency_to_units(campaign.budget_total)
    flight = (campaign.end_date - campaign.start_date).total_seconds()
    elapsed = min(max((now - campaign.start_date).total_seconds(), 0.0), flight)
    spend_share = _ratio(lifetime_units, budget_units)
    elapsed_share = _ratio(int(elapsed), int(flight))

    points = []
    moment = _truncate(start, granularity)
    while moment < end:
        bucket = series.get(moment, {"counts": {}, "spend": 0})
        counts = bucket["counts"]
        points.append(
            {
                "period_start": moment,
                "impressions": counts.get("impression", 0),
                "starts": counts.get("start", 0),
                "completes": counts.get("complete", 0),
                "clicks": counts.get("click", 0),
                "errors": counts.get("error", 0),
                "spend": money_text(bucket["spend"]),
            }
        )
        moment += step
    return {
        "campaign_id": campaign.id,
        "from": start,
        "to": end,
        "granularity": granularity,
        **_summary(totals, errors, spend_units),
        "budget_total": f"{campaign.budget_total:.2f}",
        "spend_to_date": money_text(lifetime_units),
        "budget_remaining": money_text(max(budget_units - lifetime_units, 0)),
        "pacing": {
            "spend_share": spend_share,
            "elapsed_share": elapsed_share,
            "index": _ratio(int(spend_share * 10_000), int(elapsed_share * 10_000)),
        },
        "series": points,
    }


def dashboard(session: Session, *, now: datetime | None = None, top: int = 5) -> dict:
    now = now or datetime.now(UTC)
    since = _truncate(now, "hour") - timedelta(hours=23)
    by_event = dict(
        session.execute(
            sa.select(EventCountHourly.event, sa.func.sum(EventCountHourly.count)).group_by(
                EventCountHourly.event
            )
        ).all()
    )
    total_spend = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(EventCountHourly.spend_units), 0)))
    statuses = dict.fromkeys(STATUSES, 0) | dict(
        session.execute(sa.select(Campaign.status, sa.func.count()).group_by(Campaign.status)).all()
    )
    impressions = sa.func.sum(EventCountHourly.count)
    top_rows = session.execute(
        sa.select(
            Campaign.id,
            Campaign.name,
            Campaign.status,
            impressions,
            sa.func.sum(EventCountHourly.spend_units),
        )
        .join(EventCountHourly, EventCountHourly.campaign_id == Campaign.id)
        .where(EventCountHourly.event == "impression")
        .group_by(Campaign.id, Campaign.name, Campaign.status)
        .order_by(impressions.desc(), Campaign.name)
        .limit(top)
    ).all()

    hourly: dict[datetime, dict] = {}
    for hour_index in range(24):
        hour = since + timedelta(hours=hour_index)
        hourly[hour] = {
            "hour": hour,
            "impressions": 0,
            "completes": 0,
            "clicks": 0,
            "spend_units": 0,
            "requests": 0,
            "fills": 0,
            "no_fills": 0,
        }
    recent = session.execute(
        sa.select(
            EventCountHourly.hour,
            EventCountHourly.event,
            sa.func.sum(EventCountHourly.count),
            sa.func.sum(EventCountHourly.spend_units),
        )
        .where(
            EventCountHourly.hour >= since, EventCountHourly.event.in_(("impression", "complete", "click"))
        )
        .group_by(EventCountHourly.hour, EventCountHourly.event)
    ).all()
    names = {"impression": "impressions", "complete": "completes", "click": "clicks"}
    for hour, event, count, spend in recent:
        point = hourly.get(_truncate(hour, "hour"))
        if point is not None:
            point[names[event]] += int(count)
            point["spend_units"] += int(spend)
    for counts in session.scalars(sa.select(ServingCountHourly).where(ServingCountHourly.hour >= since)):
        point = hourly.get(_truncate(counts.hour, "hour"))
        if point is not None:
            point.update(requests=counts.requests, fills=counts.fills, no_fills=counts.no_fills)

    series = [{**p, "spend": money_text(p.pop("spend_units"))} for p in hourly.values()]
    requests = sum(p["requests"] for p in series)
    fills = sum(p["fills"] for p in series)
    total_impressions = int(by_event.get("impression", 0))
    return {
        "totals": {
            "impressions": total_impressions,
            "completes": int(by_event.get("complete", 0)),
            "completion_rate": _ratio(int(by_event.get("complete", 0)), total_impressions),
            "clicks": int(by_event.get("click", 0)),
            "ctr": _ratio(int(by_event.get("click", 0)), total_impressions),
            "spend": money_text(int(total_spend)),
        },
        "campaigns_by_status": statuses,
        "top_campaigns": [
            {"id": i, "name": n, "status": s, "impressions": int(c), "spend": money_text(int(u))}
            for i, n, s, c, u in top_rows
        ],
        "last_24h": {
            "ad_requests": requests,
            "fills": fills,
            "no_fills": sum(p["no_fills"] for p in series),
            "fill_rate": _ratio(fills, requests),
            "series": series,
        },
    }
