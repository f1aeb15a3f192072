"""The traffic forecast that pacing follows: ad requests expected in each hour of the week, learned from the
server's own serving counts (`serving_counts_hourly`, flushed by app.serving.counts.ServingCounter).

Ad servers forecast the supply a campaign can reach and pace its goal along that forecast rather than the
clock (Agarwal, Ghosh, Wei and You, "Budget Pacing for Targeted Online Advertisements at LinkedIn", KDD
2014: the allocation plan follows the forecast traffic of each time slot; Lee, Jalali and Dasdan, "Real Time
Bid Optimization with Smooth Budget Delivery in Online Advertising", ADKDD 2013: the budget schedule follows
the request volume). CTV traffic repeats weekly (prime time, weekends), so the forecast of an hour is
the mean of the same hour of the week over the last `LEARN_WEEKS` weeks, in UTC.

Read once per catalog load (app.runtime), never per request.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.tracking.models import ServingCountHourly

HOURS_PER_WEEK = 168
LEARN_WEEKS = 4
MAX_KNOWN = 100_000  # moments remembered by a forecast (a few MB); forgotten all at once past it
# 1970-01-01 (epoch hour 0) was a Thursday: 72 hours after the Monday 00:00 that starts hour-of-week 0.
_EPOCH_HOUR_OF_WEEK = 72


def hour_of_week(timestamp: float) -> int:
    """0 for Monday 00:00-01:00 UTC, 167 for Sunday 23:00-24:00."""
    return (int(timestamp // 3600) + _EPOCH_HOUR_OF_WEEK) % HOURS_PER_WEEK


@dataclass(frozen=True, slots=True)
class TrafficForecast:
    """Expected ad requests per hour for each hour of the week (168 floats, Monday 00:00 UTC first)."""

    per_hour: tuple[float, ...]
    _before: tuple[float, ...] = field(init=False, repr=False, compare=False)  # prefix sums, 169
    # Each tick asks for the same moments for every campaign (flight starts and ends, now, an hour ahead).
    _known: dict[float, float] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.per_hour) != HOURS_PER_WEEK or min(self.per_hour) < 0:
            raise ValueError("a forecast has 168 hourly request counts, none negative")
        object.__setattr__(self, "_before", (0.0, *accumulate(self.per_hour)))

    def cumulative(self, timestamp: float) -> float:
        """Requests expected from a fixed origin (a Monday 00:00 UTC) to `timestamp` (seconds since epoch);
        within an hour traffic is taken as uniform."""
        known = self._known.get(timestamp)
        if known is None:
            if len(self._known) >= MAX_KNOWN:
                self._known.clear()
            known = self._known[timestamp] = self._cumulative(timestamp)
        return known

    def _cumulative(self, timestamp: float) -> float:
        hours = timestamp / 3600 + _EPOCH_HOUR_OF_WEEK
        hour = math.floor(hours)
        weeks, slot = divmod(hour, HOURS_PER_WEEK)
        before = self._before
        return weeks * before[-1] + before[slot] + self.per_hour[slot] * (hours - hour)

    def requests_between(self, start: float, end: float) -> float:
        """Requests expected in [start, end) (timestamps in seconds); 0 when end <= start."""
        return max(self.cumulative(end) - self.cumulative(start), 0.0) if end > start else 0.0


def learn_forecast(counts: Iterable[tuple[datetime, int]], now: datetime) -> TrafficForecast | None:
    """The forecast from hourly request counts (hour start, requests) of the `LEARN_WEEKS` weeks before
    `now`'s hour. An hour without a row after the first counted hour had no requests; an hour of the week
    not yet seen takes the mean of those seen. None when nothing was counted: pacing then follows the clock.
    """
    current = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    since = current - timedelta(weeks=LEARN_WEEKS)
    totals = [0.0] * HOURS_PER_WEEK
    first = None
    for hour, requests in counts:
        hour = hour.astimezone(UTC)
        if since <= hour < current:
            totals[hour_of_week(hour.timestamp())] += requests
            first = hour if first is None or hour < first else first
    if first is None:
        return None
    seen = [0] * HOURS_PER_WEEK  # how many times each hour of the week passed since the first count
    hour = first
    while hour < current:
        seen[hour_of_week(hour.timestamp())] += 1
        hour += timedelta(hours=1)
    means = [total / n for total, n in zip(totals, seen, strict=True) if n]
    fallback = sum(means) / len(means)
    return TrafficForecast(tuple(total / n if n else fallback for total, n in zip(totals, seen, strict=True)))


def read_forecast(session: Session, now: datetime | None = None) -> TrafficForecast | None:
    """`learn_forecast` over the serving counts the database holds (one indexed range read)."""
    now = now or datetime.now(UTC)
    since = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(weeks=LEARN_WEEKS)
    rows = session.execute(  # an hour has a row per supply tag
        sa.select(
            ServingCountHourly.hour,
            sa.cast(sa.func.sum(ServingCountHourly.requests), sa.BigInteger).label("requests"),  # not NUMERIC
        )
        .where(ServingCountHourly.hour >= since)
        .group_by(ServingCountHourly.hour)
    ).all()
    return learn_forecast(((row.hour, row.requests) for row in rows), now)
