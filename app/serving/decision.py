"""The ad decision: which creative, among those eligible now, for a requested duration range.

Eligible: the campaign is active (the catalog holds only those), now is within its flight, its delivery
(live, plus what the ads served since the last reading will cost) is below its goals (app.serving.pacing), and
the creative's duration, exactly as measured from its file, lies within [min_duration, max_duration]: never a
creative longer than the break (a 30.4 s spot does not fit 30 s; SSAI services drop an ad that overruns its
avail). The caller may widen the maximum by DURATION_TOLERANCE_SECONDS (default 0).

Choice: each campaign weighs its pacing participation (app.serving.pacing: the share of requests it must
take to stay on its line along the forecast traffic), split evenly among its creatives; a creative is drawn
with probability proportional to its weight among those that fit, and with a traffic forecast no ad is drawn
with probability 1 - Σ weights when that is positive (the throttle). A request costs O(log n) whatever the
number of campaigns: the index is sorted by duration with cumulative weights.
"""

from __future__ import annotations

import random
import uuid
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from itertools import accumulate
from typing import TYPE_CHECKING

from app.serving.pacing import Delivered, goal_reached, participation

if TYPE_CHECKING:
    from app.serving.catalog import CampaignEntry, Catalog, CreativeEntry
    from app.serving.traffic import TrafficForecast


@dataclass(frozen=True, slots=True)
class EligibleIndex:
    durations: tuple[float, ...] = ()
    creatives: tuple[CreativeEntry, ...] = ()
    cumulative: list[float] = field(default_factory=list)  # ineligible creatives weigh 0
    spend: dict[uuid.UUID, int] = field(default_factory=dict)
    pending: dict[uuid.UUID, int] = field(default_factory=dict)
    at: float = 0.0  # when it was weighed (epoch seconds)
    delivery: dict[uuid.UUID, Delivered] = field(default_factory=dict)
    traffic: TrafficForecast | None = None
    over_delivery: float = 0.0
    floor: float = 0.0  # draws below 1 leave no ad (1.0 with a traffic forecast: the pacing throttle)

    def choose(
        self, min_duration: float, max_duration: float, rng: random.Random = random
    ) -> CreativeEntry | None:
        low = bisect_left(self.durations, min_duration)
        high = bisect_right(self.durations, max_duration)
        if low >= high:
            return None
        base = self.cumulative[low - 1] if low else 0.0
        total = self.cumulative[high - 1] - base
        if total <= 0:
            return None
        point = rng.random() * max(total, self.floor)
        if point >= total and total < self.floor:  # the no-ad share of the throttle
            return None
        position = bisect_right(self.cumulative, base + point, low, high)
        if position >= high:  # rounding at the very top: the last creative that has any weight
            position = bisect_left(self.cumulative, self.cumulative[high - 1], low, high)
        return self.creatives[position]

    def weights(self) -> dict[uuid.UUID, float]:
        """Each creative's pacing weight (0 for one that does not compete), by creative id."""
        previous = 0.0
        weights = {}
        for creative, cumulative in zip(self.creatives, self.cumulative, strict=True):
            weights[creative.id], previous = cumulative - previous, cumulative
        return weights

    def would_exhaust(self, campaign: CampaignEntry, pending_units: int) -> bool:
        delivered = _delivered(campaign, self.spend, self.delivery, pending_units)
        return goal_reached(campaign.goals, delivered, self.over_delivery) is not None


def _delivered(
    campaign: CampaignEntry,
    spend: dict[uuid.UUID, int],
    delivery: dict[uuid.UUID, Delivered],
    pending_units: int,
) -> Delivered:
    """Live delivery with what was served since it was read (pending money units, at the campaign's cost)."""
    live = delivery.get(campaign.id, NOTHING)
    impressions = pending_units // campaign.cost_units
    return Delivered(
        spend.get(campaign.id, 0) + pending_units,
        live.impressions + impressions,
        live.day_spend_units + pending_units,
        live.day_impressions + impressions,
    )


NOTHING = Delivered()


@dataclass(frozen=True, slots=True)
class HeldBack:
    """Why a campaign does not compete: the rule (`flight`, `budget`, `pacing`) and what it found."""

    rule: str
    detail: str


def held_back(
    campaign: CampaignEntry,
    now: float,
    spend: dict[uuid.UUID, int],
    pending: dict[uuid.UUID, int],
    delivery: dict[uuid.UUID, Delivered] | None = None,
    traffic: TrafficForecast | None = None,
    over_delivery: float = 0.0,
) -> HeldBack | None:
    """The first rule that keeps the campaign out of every decision at `now`, or None when it competes."""
    return _assess(campaign, now, spend, pending, delivery or {}, traffic, over_delivery)[0]


def _assess(
    campaign: CampaignEntry,
    now: float,
    spend: dict[uuid.UUID, int],
    pending: dict[uuid.UUID, int],
    delivery: dict[uuid.UUID, Delivered],
    traffic: TrafficForecast | None,
    over_delivery: float,
) -> tuple[HeldBack | None, float]:
    """Why the campaign does not compete, or its pacing weight (app.serving.pacing)."""
    if now < campaign.start_ts:
        return HeldBack("flight", "its flight has not started"), 0.0
    if now >= campaign.end_ts:
        return HeldBack("flight", "its flight has ended"), 0.0
    delivered = _delivered(campaign, spend, delivery, pending.get(campaign.id, 0))
    reached = goal_reached(campaign.goals, delivered, over_delivery)
    if reached is not None:
        return HeldBack("budget", f"{reached} (with the ads served since the last reading)"), 0.0
    weight = participation(
        campaign.pacing, campaign.goals, campaign.start_ts, campaign.end_ts, now, delivered, traffic
    )
    if weight <= 0:
        return HeldBack("pacing", "it is ahead of its pacing line: it waits for the traffic to catch up"), 0.0
    return None, weight


def build_index(
    catalog: Catalog,
    now: float,
    spend: dict[uuid.UUID, int],
    pending: dict[uuid.UUID, int] | None = None,
    delivery: dict[uuid.UUID, Delivered] | None = None,
) -> EligibleIndex:
    """Weigh every creative of the catalog (sorted once when it was loaded): one pass, no sort. `spend` and
    `pending` in money units; `delivery` the live impressions and today's figures (app.serving.pacing)."""
    pending = pending or {}
    delivery = delivery or {}
    weights: dict[uuid.UUID, float] = {}
    for campaign in catalog.campaigns.values():
        _, weight = _assess(campaign, now, spend, pending, delivery, catalog.traffic, catalog.over_delivery)
        if weight > 0:
            weights[campaign.id] = weight / len(campaign.creatives)
    return EligibleIndex(
        durations=catalog.durations,
        creatives=catalog.ordered,
        cumulative=list(accumulate(weights.get(creative.campaign_id, 0.0) for creative in catalog.ordered)),
        spend=dict(spend),
        pending=dict(pending),
        at=now,
        delivery=dict(delivery),
        traffic=catalog.traffic,
        over_delivery=catalog.over_delivery,
        floor=1.0 if catalog.traffic is not None else 0.0,
    )
