"""Campaign stats and the dashboard, from the hourly aggregates the flusher maintains."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.campaigns.models import STATUSES, Campaign
from app.campaigns.pacing import delivery_flag, expected_units, goals_of, line_at, pacing_status
from app.campaigns.services import get_campaign
from app.exceptions import Invalid
from app.reporting.money import money_text
from app.serving.money import currency_to_units
from app.serving.traffic import read_forecast
from app.tracking.models import EventCountHourly, ServingCountHourly
from vast.errors import UNKNOWN, meaning

TOTALS = ("impressions", "completes", "completion_rate", "clicks", "ctr", "spend")  # of the dashboard
MAX_POINTS = 24 * 93  # a quarter of hours, or that many days


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
        "error_codes": error_codes(errors),
        "spend": money_text(spend_units),
    }


def error_codes(errors: dict[str, int]) -> list[dict]:
    """[{code, meaning, count}] of the VAST error codes players reported (vast.errors), by code: the
    specification's codes in order, then the others (`unexpanded`, `unknown`)."""
    return [
        {"code": code, "meaning": meaning(code), "count": count}
        for code, count in sorted(errors.items(), key=lambda item: (not item[0].isdigit(), item[0].zfill(4)))
    ]


# VAST error codes a player reports when a wrapper's tag gives it no playable ad (VAST 4.2 §2.3.6.3): XML
# parsing (100), schema validation (101), unsupported version (102), a wrapper error (300), the tag's timeout
# (301), the wrapper limit (302) and no ad after the wrappers (303).
PARTNER_FAILURE_CODES = ("100", "101", "102", "300", "301", "302", "303")


def partner_figures(impressions: int, errors: dict[str, int]) -> dict:
    """A VAST redirect line item's partner, from what players reported: each wrapper they followed ended in
    an impression or in one of PARTNER_FAILURE_CODES; fill_rate is impressions over both."""
    failures = sum(errors.get(code, 0) for code in PARTNER_FAILURE_CODES)
    return {
        "no_ads": errors.get("303", 0),
        "timeouts": errors.get("301", 0),
        "failures": failures,
        "fill_rate": _ratio(impressions, impressions + failures),
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
    positions: dict[int, dict] = {}  # pod position (0: a single ad) -> counts and spend
    for row in rows:
        totals[row.event] += row.count
        spend_units += row.spend_units
        position = positions.setdefault(row.pod_position, {"counts": defaultdict(int), "spend": 0})
        position["counts"][row.event] += row.count
        position["spend"] += row.spend_units
        if row.event == "error":
            errors[row.error_code or UNKNOWN] += row.count
        bucket = series.setdefault(_truncate(row.hour, granularity), {"counts": defaultdict(int), "spend": 0})
        bucket["counts"][row.event] += row.count
        bucket["spend"] += row.spend_units

    lifetime = campaign_figures(session, [campaign], now=now)[campaign.id]

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
        "partner": None if campaign.kind == "direct" else partner_figures(totals["impression"], errors),
        "budget_total": f"{campaign.budget_total:.2f}",
        "spend_to_date": lifetime["spend"],
        "budget_remaining": lifetime["budget_remaining"],
        "pacing": lifetime["pacing"],
        "series": points,
        "pod_positions": [
            {
                "position": position,
                "impressions": figures["counts"]["impression"],
                "completes": figures["counts"]["complete"],
                "clicks": figures["counts"]["click"],
                "errors": figures["counts"]["error"],
                "spend": money_text(figures["spend"]),
            }
            for position, figures in sorted(positions.items())
        ],
    }


def _lifetime(session: Session, campaign_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[int, int]]:
    """Impressions and spend units of each campaign over its whole life (campaigns without any are absent)."""
    rows = session.execute(
        sa.select(
            EventCountHourly.campaign_id,
            sa.func.sum(EventCountHourly.count),
            sa.func.sum(EventCountHourly.spend_units),
        )
        .where(EventCountHourly.campaign_id.in_(campaign_ids), EventCountHourly.event == "impression")
        .group_by(EventCountHourly.campaign_id)
    )
    return {campaign_id: (int(count), int(units)) for campaign_id, count, units in rows}


def _pacing(campaign: Campaign, spent_units: int, now: datetime) -> dict:
    """Spend share of the budget, elapsed share of the flight, and their ratio computed from the exact
    figures (never from the rounded shares: a large budget early in its flight has tiny shares)."""
    flight = (campaign.end_date - campaign.start_date).total_seconds()
    elapsed = min(max((now - campaign.start_date).total_seconds(), 0.0), flight)
    budget_units = currency_to_units(campaign.budget_total)
    on_pace = budget_units * elapsed  # spend / budget == elapsed / flight, cross-multiplied
    return {
        "spend_share": _ratio(spent_units, budget_units),
        "elapsed_share": _ratio(int(elapsed), int(flight)),
        "index": round(spent_units * flight / on_pace, 6) if on_pace else 0.0,
    }


def campaign_figures(
    session: Session, campaigns: list[Campaign], *, now: datetime | None = None
) -> dict[uuid.UUID, dict]:
    """Lifetime impressions, spend, budget remaining and pacing of each campaign, in one query: the columns
    of a campaign list."""
    now = now or datetime.now(UTC)
    lifetime = _lifetime(session, [campaign.id for campaign in campaigns])
    figures = {}
    for campaign in campaigns:
        impressions, spent_units = lifetime.get(campaign.id, (0, 0))
        figures[campaign.id] = {
            "impressions": impressions,
            "spend": money_text(spent_units),
            "budget_remaining": money_text(max(currency_to_units(campaign.budget_total) - spent_units, 0)),
            "pacing": _pacing(campaign, spent_units, now),
        }
    return figures


def spend_curve(session: Session, campaign_id: uuid.UUID, *, now: datetime | None = None) -> list[dict]:
    """Spend to date at the end of each day of the flight (None for days to come), against the pacing line:
    the goal along the traffic the server forecasts (app.campaigns.pacing), in money."""
    campaign = get_campaign(session, campaign_id)
    now = now or datetime.now(UTC)
    end = min(campaign.end_date, campaign.start_date + timedelta(days=MAX_POINTS))
    daily = campaign_stats(
        session, campaign_id, start=campaign.start_date, end=end, granularity="day", now=now
    )
    forecast = read_forecast(session, now)
    goals = goals_of(campaign)
    spent_units = 0
    points = []
    for point in daily["series"]:
        day = point["period_start"]
        spent_units += currency_to_units(Decimal(point["spend"]))
        line = line_at(campaign, forecast, (day + timedelta(days=1)).timestamp())
        points.append(
            {
                "day": day,
                "spend_to_date": money_text(spent_units) if day <= now else None,
                "pacing_line": money_text(expected_units(goals, line)),
            }
        )
    return points


def totals(session: Session, *, since: datetime | None = None) -> dict:
    """Impressions, completes, completion rate, clicks, CTR and spend of every campaign, over all time or
    from the hour of `since`."""
    query = sa.select(
        EventCountHourly.event, sa.func.sum(EventCountHourly.count), sa.func.sum(EventCountHourly.spend_units)
    ).group_by(EventCountHourly.event)
    if since is not None:
        query = query.where(EventCountHourly.hour >= _truncate(since, "hour"))
    by_event: dict[str, int] = defaultdict(int)
    spend_units = 0
    for event, count, units in session.execute(query):
        by_event[event] = int(count)
        spend_units += int(units)
    summary = _summary(by_event, {}, spend_units)
    return {name: summary[name] for name in TOTALS}


def dashboard(session: Session, *, now: datetime | None = None, top: int = 5) -> dict:
    now = now or datetime.now(UTC)
    since = _truncate(now, "hour") - timedelta(hours=23)
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
    pods = dict.fromkeys(("pod_requests", "pod_ads", "pod_requested_ms", "pod_filled_ms"), 0)
    for counts in session.scalars(sa.select(ServingCountHourly).where(ServingCountHourly.hour >= since)):
        point = hourly.get(_truncate(counts.hour, "hour"))
        if point is not None:  # an hour has a row per supply tag
            for name in ("requests", "fills", "no_fills"):
                point[name] += getattr(counts, name)
            for name in pods:
                pods[name] += getattr(counts, name)

    series = [{**p, "spend": money_text(p.pop("spend_units"))} for p in hourly.values()]
    requests = sum(p["requests"] for p in series)
    fills = sum(p["fills"] for p in series)
    return {
        "totals": totals(session),
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
            "pod_requests": pods["pod_requests"],
            "ads_per_pod": _ratio(pods["pod_ads"], pods["pod_requests"]),
            "break_fill_rate": _ratio(pods["pod_filled_ms"], pods["pod_requested_ms"]),
            "series": series,
        },
    }


def pacing(session: Session, campaign_id: uuid.UUID, *, now: datetime | None = None) -> dict:
    """Delivered against the pacing line to date, in impressions and money, and the projected end
    (app.campaigns.pacing)."""
    campaign = get_campaign(session, campaign_id)
    status = pacing_status(session, campaign, now)
    return {
        "campaign_id": campaign.id,
        "pacing": status.pacing,
        "goal_impressions": round(status.goal_impressions),
        "delivered_impressions": status.delivered_impressions,
        "expected_impressions": status.expected_impressions,
        "delivered_spend": money_text(status.delivered_units),
        "expected_spend": money_text(status.expected_units),
        "index": status.index,
        "delivery": delivery_flag(status.index),
        "projected_end": status.projected_end,
    }
