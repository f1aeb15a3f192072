"""Filling an ad break (a pod): which ads, in which order, for a break of at most `max_seconds`.

The rule, in two steps:
1. **Who competes** (fair, paced): up to `POOL_GROUPS` campaigns are drawn from the eligible index exactly as
   a single ad is (pacing weight, `app.serving.decision`), without repeats and without the campaigns the
   request excludes (`app.serving.separation`: blocked advertisers and categories, what the stream showed):
   such a draw is redrawn, at most `POOL_DRAWS` draws in all, so the cost does not grow with the catalog.
   Each drawn campaign brings every creative of its own that fits the per-ad duration limits, into the
   group of the campaigns it shares a separation key with (its advertiser, an exclusive category).
2. **What fills best**: among those, the combination with the longest total duration that never passes
   `max_seconds`, with at most `max_ads` ads (at least `min_ads` when possible), at most one ad per group
   (so one per campaign and advertiser, and the same creative never twice). The search (an exact dynamic
   programme over bitsets) counts durations in tenths of a second rounded up, and checks a fill that
   rounds past the break on its exact durations: the break is never overrun, and the fill is within 0.1 s
   per ad of the best combination. Ties go to the groups drawn first, which also come first in the pod.

A break whose best fill is below `min_seconds` is still answered with it: a shorter pod beats slate.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass

from app.serving.catalog import Catalog, CreativeEntry
from app.serving.decision import EligibleIndex
from app.serving.separation import blocked, pod_keys

POOL_GROUPS = 24
POOL_DRAWS = 64
_UNITS_PER_SECOND = 10  # the search works in tenths of a second


@dataclass(frozen=True, slots=True)
class PodRequest:
    max_seconds: float
    min_seconds: float = 0.0
    max_ads: int = 20
    min_ads: int = 1
    ad_min_seconds: float = 0.0  # each ad's duration limits (min_duration, max_duration)
    ad_max_seconds: float = math.inf


def choose_pod(
    index: EligibleIndex,
    catalog: Catalog,
    request: PodRequest,
    rng: random.Random = random,
    excluded: frozenset[str] = frozenset(),
) -> list[CreativeEntry]:
    """The ads of the break, in pod order (sequence 1..k); empty when nothing fits."""
    ad_max = min(request.ad_max_seconds, request.max_seconds)
    groups = _draw_groups(index, catalog, request.ad_min_seconds, ad_max, rng, excluded)
    return best_fill(groups, request.max_seconds, request.max_ads, request.min_ads)


def choose_one(
    index: EligibleIndex,
    catalog: Catalog,
    low: float,
    high: float,
    rng: random.Random = random,
    excluded: frozenset[str] = frozenset(),
) -> CreativeEntry | None:
    """A single ad as the decision draws it, redrawn (at most POOL_DRAWS times) past excluded campaigns."""
    for _ in range(POOL_DRAWS if excluded else 1):
        creative = index.choose(low, high, rng)
        if creative is None or not blocked(catalog.campaigns[creative.campaign_id], excluded):
            return creative
    return None


def _draw_groups(
    index: EligibleIndex,
    catalog: Catalog,
    ad_min: float,
    ad_max: float,
    rng: random.Random,
    excluded: frozenset[str],
) -> list[list[CreativeEntry]]:
    drawn: set[uuid.UUID] = set()
    groups: list[list[CreativeEntry]] = []
    group_of: dict[str, int] = {}  # separation key -> index in groups
    for _ in range(POOL_DRAWS):
        creative = index.choose(ad_min, ad_max, rng)
        if creative is None:
            break
        campaign = catalog.campaigns[creative.campaign_id]
        if campaign.id in drawn or blocked(campaign, excluded):
            continue
        drawn.add(campaign.id)
        held, conflicts = pod_keys(campaign)
        fitting = [c for c in campaign.creatives if ad_min <= c.duration <= ad_max]
        joined = sorted({group_of[key] for key in conflicts if key in group_of})
        if joined:  # shares an advertiser or exclusive category: one group, at most one ad of it
            target = joined[0]
            for other in reversed(joined[1:]):
                groups[target] += groups[other]
                groups[other] = []
            groups[target] += fitting
        else:
            target = len(groups)
            groups.append(fitting)
        if joined:
            for key, at in list(group_of.items()):
                if at in joined:
                    group_of[key] = target
        group_of.update(dict.fromkeys(held, target))
        if len(drawn) == POOL_GROUPS:
            break
    return [group for group in groups if group]


def best_fill(
    groups: list[list[CreativeEntry]], max_seconds: float, max_ads: int, min_ads: int = 1
) -> list[CreativeEntry]:
    """At most one creative of each group, at most `max_ads` (at least `min_ads` when any fill allows it),
    the longest total that is ≤ max_seconds. `groups` in priority order; the result in that order.

    The search counts durations in tenths of a second, rounded up: a fill whose rounded total is within the
    break fits it; one that passes it by less than a tenth per ad is checked on its exact durations."""
    capacity = math.floor(max_seconds * _UNITS_PER_SECOND + 1e-9)
    max_ads = min(max_ads, len(groups))
    limit = (1 << (capacity + max_ads + 1)) - 1  # rounded totals up to capacity + one unit per ad
    units = [[_units(c.duration) for c in group] for group in groups]
    # reach[c]: bit s set when c ads can total s units. Groups are added last to first, and `before[g]` is
    # reach before group g: backtracking then meets the first groups first and prefers them.
    reach = [1] + [0] * max_ads
    before: list[list[int]] = [[]] * len(groups)
    for g in range(len(groups) - 1, -1, -1):
        before[g] = reach
        updated = reach[:]
        for weight in set(units[g]):
            for count in range(1, max_ads + 1):
                updated[count] |= (reach[count - 1] << weight) & limit
        reach = updated

    def fill(count: int, total: int) -> list[CreativeEntry]:
        chosen = []
        for g, group in enumerate(groups):
            if count == 0:
                break
            for creative, weight in zip(group, units[g], strict=True):
                if weight <= total and before[g][count - 1] >> (total - weight) & 1:
                    chosen.append(creative)
                    count, total = count - 1, total - weight
                    break
        return chosen

    for low in (min_ads, 1):
        best: list[CreativeEntry] = []
        best_seconds = 0.0
        for count in range(low, max_ads + 1):
            sums = reach[count]
            while sums:
                total = sums.bit_length() - 1
                sums &= ~(1 << total)
                chosen = fill(count, total)
                seconds = sum(c.duration for c in chosen)
                if seconds <= max_seconds:  # always so at or below capacity
                    if seconds > best_seconds:  # counts ascend: equal totals keep the fewest ads
                        best, best_seconds = chosen, seconds
                    break
                if total <= capacity:
                    break
        if best:
            return best
    return []


def _units(seconds: float) -> int:
    return math.ceil(seconds * _UNITS_PER_SECOND - 1e-9)
