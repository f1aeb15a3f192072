"""The ad decision: which creative, among those eligible now, for a requested duration range.

Eligible: the campaign is active (the catalog holds only those), now is within its flight, its spend (live,
plus what the ads served since the last spend reading will cost) is below its budget, and the creative's
duration, exactly as measured from its file, lies within [min_duration, max_duration]: never a creative
longer than the break (a 30.4 s spot does not fit 30 s; SSAI services drop an ad that overruns its avail).
The caller may widen the maximum by DURATION_TOLERANCE_SECONDS (default 0).

Choice, the pacing rule: each campaign weighs what it must still spend per second to use its budget by the
end of its flight (remaining budget / remaining flight time, the time floored at one minute), split evenly
among its creatives; a creative is drawn with probability proportional to its weight among those that fit.
A campaign behind its schedule therefore gets more traffic and one ahead of it less, and a request costs
O(log n) whatever the number of campaigns: the index is sorted by duration with cumulative weights.
"""

from __future__ import annotations

import random
import uuid
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from itertools import accumulate
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.serving.catalog import CampaignEntry, Catalog, CreativeEntry

MIN_REMAINING_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class EligibleIndex:
    durations: tuple[float, ...] = ()
    creatives: tuple[CreativeEntry, ...] = ()
    cumulative: list[float] = field(default_factory=list)  # ineligible creatives weigh 0
    spend: dict[uuid.UUID, int] = field(default_factory=dict)
    pending: dict[uuid.UUID, int] = field(default_factory=dict)
    at: float = 0.0  # when it was weighed (epoch seconds)

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
        position = bisect_right(self.cumulative, base + rng.random() * total, low, high)
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
        return self.spend.get(campaign.id, 0) + pending_units >= campaign.budget_units


def remaining_units(
    campaign: CampaignEntry, spend: dict[uuid.UUID, int], pending: dict[uuid.UUID, int]
) -> int:
    return campaign.budget_units - spend.get(campaign.id, 0) - pending.get(campaign.id, 0)


@dataclass(frozen=True, slots=True)
class HeldBack:
    """Why a campaign does not compete: the rule (`flight`, `budget`) and what it found, in words."""

    rule: str
    detail: str


def held_back(
    campaign: CampaignEntry, now: float, spend: dict[uuid.UUID, int], pending: dict[uuid.UUID, int]
) -> HeldBack | None:
    """The first rule that keeps the campaign out of every decision at `now`, or None when it competes."""
    if now < campaign.start_ts:
        return HeldBack("flight", "its flight has not started")
    if now >= campaign.end_ts:
        return HeldBack("flight", "its flight has ended")
    if remaining_units(campaign, spend, pending) <= 0:
        return HeldBack("budget", "its budget is spent (with the ads served since the last spend reading)")
    return None


def build_index(
    catalog: Catalog,
    now: float,
    spend: dict[uuid.UUID, int],
    pending: dict[uuid.UUID, int] | None = None,
) -> EligibleIndex:
    """Weigh every creative of the catalog (sorted once when it was loaded): one pass, no sort."""
    pending = pending or {}
    weights: dict[uuid.UUID, float] = {}
    for campaign in catalog.campaigns.values():
        if held_back(campaign, now, spend, pending) is None:
            time_left = max(campaign.end_ts - now, MIN_REMAINING_SECONDS)
            remaining = remaining_units(campaign, spend, pending)
            weights[campaign.id] = remaining / time_left / len(campaign.creatives)
    return EligibleIndex(
        durations=catalog.durations,
        creatives=catalog.ordered,
        cumulative=list(accumulate(weights.get(creative.campaign_id, 0.0) for creative in catalog.ordered)),
        spend=dict(spend),
        pending=dict(pending),
        at=now,
    )
