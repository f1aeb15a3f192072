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
   programme over bitsets) counts durations in tenths of a second rounded up; for a rounded total past
   the break, a combination of that total whose exact durations fit is searched for: the break is
   never overrun (beyond float rounding, 1 ns), and the fill is within 0.1 s per ad of the best combination.
   Ties go to the groups drawn first, which also come first in the pod.

A break whose best fill is below `min_seconds` is still answered with it: a shorter pod beats slate.
"""

from __future__ import annotations

import bisect
import itertools
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
    break fits it, and is taken in priority order; for a rounded total past the break (by less than a tenth
    per ad), a combination of that total whose exact durations fit is searched for (branch and bound). So
    the fill is within 0.1 s per ad of the best."""
    capacity = math.floor(max_seconds * _UNITS_PER_SECOND + 1e-9)
    max_ads = min(max_ads, len(groups))
    limit = (1 << (capacity + max_ads + 1)) - 1  # rounded totals up to capacity + one unit per ad
    units = [[_units(c.duration) for c in group] for group in groups]
    # after[g][c]: bit s set when c ads of groups g.. can total s units. Groups are added last to first:
    # backtracking from the first group then meets the first groups first and prefers them.
    after: list[list[int]] = [[]] * len(groups) + [[1] + [0] * max_ads]
    for g in range(len(groups) - 1, -1, -1):
        reach = after[g + 1]
        updated = reach[:]
        for weight in set(units[g]):
            for count in range(1, max_ads + 1):
                updated[count] |= (reach[count - 1] << weight) & limit
        after[g] = updated

    def fill(count: int, total: int) -> list[CreativeEntry]:
        chosen = []
        for g, group in enumerate(groups):
            if count == 0:
                break
            for creative, weight in zip(group, units[g], strict=True):
                if weight <= total and after[g + 1][count - 1] >> (total - weight) & 1:
                    chosen.append(creative)
                    count, total = count - 1, total - weight
                    break
        return chosen

    past: _PastBreak | None = None  # built only when a rounded total passes the break
    for low in (min_ads, 1):
        best: list[CreativeEntry] = []
        best_seconds = 0.0
        for count in range(low, max_ads + 1):
            sums = after[0][count]
            while sums:
                total = sums.bit_length() - 1
                sums &= ~(1 << total)
                if total <= capacity:
                    chosen = fill(count, total)
                else:
                    past = past or _PastBreak(groups, units, after, max_ads)
                    chosen = past.find(count, total, total / _UNITS_PER_SECOND - max_seconds - 1e-9) or []
                seconds = sum(c.duration for c in chosen)
                if chosen and seconds <= max_seconds + 1e-9:  # always so at or below capacity
                    if seconds > best_seconds:  # counts ascend: equal totals keep the fewest ads
                        best, best_seconds = chosen, seconds
                    break
        if best:
            return best
    return []


class _PastBreak:
    """Ads of a rounded total past the break that still fit it: their excess (rounded less exact duration,
    under a tenth of a second each) must cover the overrun. A branch and bound in priority order, each group
    offering per rounded duration its creative of the largest excess; searches known to fail are memoised,
    and the whole search stops after `STEPS` steps (then a lower total is taken), so its cost stays bounded
    whatever the inventory."""

    STEPS = 1_000

    def __init__(
        self, groups: list[list[CreativeEntry]], units: list[list[int]], after: list[list[int]], max_ads: int
    ):
        self.after = after
        self.offers: list[list[tuple[int, float, CreativeEntry]]] = []
        for group, weights in zip(groups, units, strict=True):
            by_weight: dict[int, CreativeEntry] = {}
            for creative, weight in zip(group, weights, strict=True):
                if weight not in by_weight or creative.duration < by_weight[weight].duration:
                    by_weight[weight] = creative
            self.offers.append([(w, w / _UNITS_PER_SECOND - c.duration, c) for w, c in by_weight.items()])
        # most[g][c]: the largest excess c ads of groups g.. could have (one per group, each its group's best)
        self.most: list[list[float]] = [[]] * len(groups) + [[0.0]]
        best_per_group: list[float] = []
        for g in range(len(groups) - 1, -1, -1):
            bisect.insort(best_per_group, -max(excess for _, excess, _ in self.offers[g]))
            self.most[g] = [0.0, *itertools.accumulate(-e for e in best_per_group[:max_ads])]
        self.fails_at: dict[tuple[int, int, int], float] = {}  # needing at least this much excess fails
        self.steps = 0

    def find(self, count: int, total: int, need: float) -> list[CreativeEntry] | None:
        """`count` ads totalling `total` units whose excess is at least `need` seconds, or None."""
        return self._search(0, count, total, need)

    def _search(self, g: int, count: int, total: int, need: float) -> list[CreativeEntry] | None:
        if count == 0:
            return [] if total == 0 and need <= 0 else None
        key = (g, count, total)
        self.steps += 1
        if (
            self.steps > self.STEPS
            or count >= len(self.most[g])
            or need > self.most[g][count]
            or need >= self.fails_at.get(key, math.inf)
            or not self.after[g][count] >> total & 1
        ):
            return None
        for weight, excess, creative in self.offers[g]:
            if weight <= total:
                rest = self._search(g + 1, count - 1, total - weight, need - excess)
                if rest is not None:
                    return [creative, *rest]
        rest = self._search(g + 1, count, total, need)
        if rest is None:
            self.fails_at[key] = min(need, self.fails_at.get(key, math.inf))
        return rest


def _units(seconds: float) -> int:
    return math.ceil(seconds * _UNITS_PER_SECOND - 1e-9)
