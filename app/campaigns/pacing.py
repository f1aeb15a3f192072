"""A campaign's pacing as people read it: its goals checked on every write, and its delivery against the line.

The line and the goals are the serving rule's own (app.serving.pacing), over the same learned traffic
(app.serving.traffic), so the console and the API show what the decision aims at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from app.exceptions import Invalid
from app.serving.money import currency_to_units
from app.serving.pacing import MIN_REQUESTS, Delivered, Goals, line_share, traffic_share
from app.serving.traffic import TrafficForecast, read_forecast
from app.tracking.models import EventCountHourly

ON_PACE_TOLERANCE = 0.1  # delivered / expected within 1 ± this is on pace
RECENT = timedelta(hours=24)  # the "current rate" of the projection
MAX_PROJECTION = timedelta(days=366)


def check_goals(
    budget_total: Decimal,
    daily_budget: Decimal | None,
    impression_goal: int | None,
    daily_impression_cap: int | None,
) -> None:
    """A daily limit larger than its total would never bind: refused, naming the field (Invalid)."""
    errors = {}
    if daily_budget is not None and daily_budget > budget_total:
        errors["daily_budget"] = "Must not exceed budget_total."
    if (
        daily_impression_cap is not None
        and impression_goal is not None
        and daily_impression_cap > impression_goal
    ):
        errors["daily_impression_cap"] = "Must not exceed impression_goal."
    if errors:
        raise Invalid(
            "Invalid campaign: " + "; ".join(f"{name}: {message}" for name, message in errors.items()), errors
        )


def goals_of(campaign: Campaign) -> Goals:
    return Goals(
        cost_units=currency_to_units(campaign.cpm / Decimal(1000)),
        budget_units=currency_to_units(campaign.budget_total),
        impression_goal=campaign.impression_goal,
        daily_budget_units=currency_to_units(campaign.daily_budget) if campaign.daily_budget else None,
        daily_impression_cap=campaign.daily_impression_cap,
    )


@dataclass(frozen=True, slots=True)
class PacingStatus:
    """Delivered and expected to date (impressions; money in units of 10⁻⁷), the goal in impressions, the
    index delivered / expected (None before any is expected), and when the goal will be reached at the rate
    of the last 24 hours (None without delivery in them, or once reached)."""

    pacing: str
    goal_impressions: float
    delivered_impressions: int
    delivered_units: int
    expected_impressions: int
    expected_units: int
    index: float | None
    projected_end: datetime | None


def pacing_status(session: Session, campaign: Campaign, now: datetime | None = None) -> PacingStatus:
    """From the stored (flushed) impressions and the traffic forecast: two indexed reads."""
    now = now or datetime.now(UTC)
    goals = goals_of(campaign)
    forecast = read_forecast(session, now)
    total, recent = _delivered(session, campaign, now - RECENT)
    start, at = campaign.start_date.timestamp(), now.timestamp()
    line = line_at(campaign, forecast, at)
    expected = round(goals.total * line)
    done = goals.done(total)
    recent_done = goals.done(recent)
    since = max(start, (now - RECENT).timestamp())
    projected = None
    if recent_done > 0 and done < goals.total and at > since:
        rate = recent_done / _opportunities(forecast, since, at)
        projected = _reach(forecast, at, (goals.total - done) / rate)
    return PacingStatus(
        pacing=campaign.pacing,
        goal_impressions=goals.total,
        delivered_impressions=total.impressions,
        delivered_units=total.spend_units,
        expected_impressions=expected,
        expected_units=expected_units(goals, line),
        index=round(done / (goals.total * line), 4) if line > 0 else None,
        projected_end=projected,
    )


def delivery_flag(index: float | None) -> str | None:
    """ "under" or "over" when delivered / expected is off the line by more than ON_PACE_TOLERANCE, else
    "on_pace"; None before anything is expected."""
    if index is None:
        return None
    if index < 1 - ON_PACE_TOLERANCE:
        return "under"
    return "over" if index > 1 + ON_PACE_TOLERANCE else "on_pace"


def line_at(campaign: Campaign, forecast: TrafficForecast | None, at: float) -> float:
    """The share of the goal the pacing line expects by `at` (epoch seconds); asap is measured as even."""
    start, end = campaign.start_date.timestamp(), campaign.end_date.timestamp()
    return line_share(campaign.pacing, traffic_share(forecast, start, end, at))


def expected_units(goals: Goals, line: float) -> int:
    """The money the line expects at this share of the goal, never above the budget."""
    return min(round(goals.total * line) * goals.cost_units, goals.budget_units)


def _delivered(session: Session, campaign: Campaign, recent_from: datetime) -> tuple[Delivered, Delivered]:
    """Impressions and spend over the whole flight, and since `recent_from` (whole hours)."""
    recent = EventCountHourly.hour >= recent_from.replace(minute=0, second=0, microsecond=0)
    row = session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(EventCountHourly.count), 0),
            sa.func.coalesce(sa.func.sum(EventCountHourly.spend_units), 0),
            sa.func.coalesce(sa.func.sum(sa.case((recent, EventCountHourly.count), else_=0)), 0),
            sa.func.coalesce(sa.func.sum(sa.case((recent, EventCountHourly.spend_units), else_=0)), 0),
        ).where(EventCountHourly.campaign_id == campaign.id, EventCountHourly.event == "impression")
    ).one()
    impressions, units, recent_impressions, recent_units = (int(value) for value in row)
    return Delivered(units, impressions), Delivered(recent_units, recent_impressions)


def _opportunities(forecast: TrafficForecast | None, start: float, end: float) -> float:
    """Forecast requests in [start, end) (at least MIN_REQUESTS), or seconds without a forecast."""
    if forecast is None:
        return end - start
    return max(forecast.requests_between(start, end), MIN_REQUESTS)


def _reach(forecast: TrafficForecast | None, now: float, opportunities: float) -> datetime | None:
    """When `opportunities` more requests (or seconds) will have passed; None past MAX_PROJECTION."""
    limit = now + MAX_PROJECTION.total_seconds()
    moment = now
    if forecast is None:
        moment += opportunities
    else:
        while moment < limit:
            hour_end = (moment // 3600 + 1) * 3600
            available = forecast.requests_between(moment, hour_end)
            if available >= opportunities:
                moment += (hour_end - moment) * (opportunities / available)
                break
            opportunities -= available
            moment = hour_end
    return datetime.fromtimestamp(moment, UTC) if moment < limit else None
