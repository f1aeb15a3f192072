"""Pacing: how much of the traffic each campaign takes, so that it delivers its goal along the traffic curve.

A campaign's **goal**, in impressions, is its budget at its CPM, or its impression goal when that is smaller;
a daily budget and a daily impression cap make a **daily goal** the same way (UTC days). Progress is counted
in whichever binds first, so spend and impressions never pass either.

The **line** (expected delivery to date) is the goal times the share of the flight's forecast traffic
(app.serving.traffic) that has passed: even against traffic, not the clock, so prime time gets more and the
night less, as the requests do. `frontloaded` bends it ahead: it starts at 150 % of the even rate and ends
at 50 % (line = s·(1 + ½(1 - s)) of the goal at traffic share s; 25 % ahead of even mid-flight).
Without any learned traffic the share is the share of flight time.

The **throttle** (Agarwal et al., "Budget Pacing for Targeted Online Advertisements at LinkedIn", KDD 2014:
a pass-through rate per campaign from the forecast and the delivery so far): at every catalog tick each
even or frontloaded campaign gets the participation probability that brings it back onto its line one
hour (`CATCH_UP_SECONDS`) ahead:

    participation = (line(t + 1 h) - delivered) / requests forecast in [t, t + 1 h)

so under- and over-delivery are caught up within about an hour, whatever the error of the forecast's level.
A daily goal caps it with (daily goal - delivered today) / requests forecast for the rest of the day.
The decision (app.serving.decision) draws a campaign in proportion to its participation, and no ad with the
probability 1 - Σ participation when that is positive (demand below supply). `asap` campaigns take
every request they can (participation 1) until a goal is met.

**Hard stop**: a campaign whose delivery (plus what was served since the last reading) reaches a goal, or a
daily goal, times 1 + the over-delivery allowance (OVER_DELIVERY_PERCENT, default 0) is not eligible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.serving.traffic import TrafficForecast

CATCH_UP_SECONDS = 3600.0
FRONTLOAD = 0.5  # the frontloaded line's rate runs from 1 + FRONTLOAD to 1 - FRONTLOAD times even
ASAP_PARTICIPATION = 1.0
MIN_REQUESTS = 1.0  # a forecast of no traffic left still lets a campaign that is behind take what comes


@dataclass(frozen=True, slots=True)
class Delivered:
    """A campaign's delivery, live (app.tracking.events): in total and on the current UTC day."""

    spend_units: int = 0
    impressions: int = 0
    day_spend_units: int = 0
    day_impressions: int = 0


def day_key(timestamp: float) -> str:
    """The UTC day a delivery counts on, as the event store keys it: "2026-11-30"."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def _day_bounds(timestamp: float) -> tuple[float, float]:
    start = timestamp // 86400 * 86400
    return start, start + 86400


def goal_impressions(cost_units: int, budget_units: int, impression_goal: int | None) -> float:
    """The goal in impressions: the budget at this cost per impression, or the impression goal if smaller;
    inf when neither is set (a daily goal may be absent)."""
    goals = [budget_units / cost_units] if budget_units else []
    if impression_goal:
        goals.append(float(impression_goal))
    return min(goals, default=math.inf)


def _done(goal: float, spend_units: int, budget_units: int, impressions: int, impression_goal: int | None):
    """Delivery towards a goal, in impressions of that goal: the share of whichever binds most."""
    shares = [spend_units / budget_units] if budget_units else []
    if impression_goal:
        shares.append(impressions / impression_goal)
    return goal * max(shares, default=0.0)


@dataclass(frozen=True, slots=True)
class Goals:
    """What a campaign must deliver: money units and impressions, in total and per day (None: no limit)."""

    cost_units: int
    budget_units: int
    impression_goal: int | None = None
    daily_budget_units: int | None = None
    daily_impression_cap: int | None = None

    total: float = field(init=False)  # the goal in impressions
    daily: float = field(init=False)  # the daily goal in impressions, inf for none

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "total", goal_impressions(self.cost_units, self.budget_units, self.impression_goal))
        set_(
            self,
            "daily",
            goal_impressions(self.cost_units, self.daily_budget_units or 0, self.daily_impression_cap),
        )

    def done(self, delivered: Delivered) -> float:
        return _done(
            self.total, delivered.spend_units, self.budget_units, delivered.impressions, self.impression_goal
        )

    def done_today(self, delivered: Delivered) -> float:
        return _done(
            self.daily,
            delivered.day_spend_units,
            self.daily_budget_units or 0,
            delivered.day_impressions,
            self.daily_impression_cap,
        )


def traffic_share(forecast: TrafficForecast | None, start: float, end: float, at: float) -> float:
    """The share (0..1) of the flight [start, end) passed at `at`: of its forecast requests, or time."""
    at = min(max(at, start), end)
    if forecast is not None:  # cumulative counts, not requests_between: each tick asks for 10,000s of these
        first = forecast.cumulative(start)
        total = forecast.cumulative(end) - first
        if total > 0:
            return (forecast.cumulative(at) - first) / total
    return (at - start) / (end - start)


def line_share(pacing: str, share: float) -> float:
    """The share of the goal expected once `share` of the flight's traffic has passed."""
    if pacing == "frontloaded":
        return share * (1 + FRONTLOAD * (1 - share))
    return share  # even; asap has no line and is measured against even


def goal_reached(goals: Goals, delivered: Delivered, over_delivery: float) -> str | None:
    """Which goal the delivery reached, with the over-delivery allowance (0.05 for 5 %), in words; None
    while both the total and today's goals leave room."""
    allowance = 1 + over_delivery
    if goals.done(delivered) >= goals.total * allowance:
        return "its goal is reached (budget or impression goal)"
    if goals.done_today(delivered) >= goals.daily * allowance:
        return "its daily goal is reached for today, UTC (daily budget or impression cap)"
    return None


def participation(
    pacing: str,
    goals: Goals,
    start_ts: float,
    end_ts: float,
    now: float,
    delivered: Delivered,
    forecast: TrafficForecast | None,
) -> float:
    """The weight in the draw of a campaign in flight with room left (app.serving.decision checks both
    first): with a forecast, the probability that it takes a request (above 1 when it is behind: it then
    outweighs the others); without one, impressions it needs per second (only the proportions matter then).
    0 when it is ahead of its line."""
    if pacing == "asap":
        return ASAP_PARTICIPATION
    ahead = min(now + CATCH_UP_SECONDS, end_ts)
    line = goals.total * line_share(pacing, traffic_share(forecast, start_ts, end_ts, ahead))
    rate = (line - goals.done(delivered)) / _opportunities(forecast, now, ahead)
    if goals.daily < math.inf:
        day_end = min(_day_bounds(now)[1], end_ts)
        rate = min(rate, (goals.daily - goals.done_today(delivered)) / _opportunities(forecast, now, day_end))
    return max(rate, 0.0)


def _opportunities(forecast: TrafficForecast | None, start: float, end: float) -> float:
    if forecast is None:
        return max(end - start, 1.0)
    return max(forecast.cumulative(end) - forecast.cumulative(start), MIN_REQUESTS)
