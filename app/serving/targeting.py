"""Targeting in the decision: a request draws only from the campaigns whose rules it meets
(app.campaigns.targeting), without looking at the others.

The index follows "Indexing Boolean Expressions" (Whang et al., VLDB 2009) for conjunctions of IN / NOT IN
predicates, with campaigns numbered once per catalog load and sets of campaigns held as bitsets (Python ints,
where AND/OR over 10,000 campaigns cost well under a microsecond):
- `including[(attribute, value)]`: campaigns whose include rule on the attribute names the value, and
  `constrained[attribute]`: campaigns with an include rule on it at all (a request without a listed value
  leaves them out);
- `excluding[(attribute, value)]`: campaigns whose exclude rule names the value;
- day-part: campaigns grouped by (time zone, hours, days); each catalog tick marks the groups out of their
  hours now, in their own time zone (so DST is the time zone database's business).

A request's profile (its attribute values) gives the matching set in a few bitset operations, one per
attribute the catalog constrains and one per value the request carries, memoised per profile until the next
tick (bounded). The draw keeps pacing's weights and O(log n): it draws from the tick's whole index and keeps
a matching creative (rejection sampling), and after a few misses draws from a cumulative-weight view of only
the matching creatives, built once per match and tick (TargetedIndex). A profile that matches every campaign
draws from the tick's index itself; a catalog without any rule skips all of this.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import accumulate, compress, pairwise
from operator import itemgetter
from typing import TYPE_CHECKING, NamedTuple
from zoneinfo import ZoneInfo

from app.serving.decision import EligibleIndex
from app.serving.device_class import classify, openrtb_device_type
from app.serving.geo import country

if TYPE_CHECKING:
    from app.serving.catalog import CampaignEntry, Catalog, CreativeEntry, ServingState
    from app.serving.request import AdRequest

VIEWS_PER_TICK = 1024  # distinct profiles (and matches) memoised between two ticks
REJECTION_DRAWS = 8  # draws from the whole index before one from the matching creatives only
_SINGLE = (
    "device_type",
    "platform",
    "app_bundle",
    "country",
    "region",
    "content_rating",
    "livestream",
    "supply_tag",
)


class Profile(NamedTuple):
    """A request's values on every dimension a campaign can target (app.campaigns.targeting), normalised as
    the rules are. A plain tuple: it is built and hashed on every targeted request."""

    device_type: str | None = None
    platform: str | None = None
    app_bundle: str | None = None
    country: str | None = None
    region: str | None = None  # ISO 3166-2, looked up only when some campaign targets regions
    content_rating: str | None = None
    livestream: str | None = None  # "1" live, "0" on demand
    supply_tag: str | None = None  # the request's supply tag id (app.supply)
    content_genres: frozenset[str] = frozenset()
    custom: frozenset[tuple[str, str]] = frozenset()

    def pairs(self) -> list[tuple[str, str]]:
        """(attribute, value) pairs, as the rules name attributes (`custom:<key>` for custom pairs)."""
        pairs = [(name, value) for name, value in zip(_SINGLE, self, strict=False) if value is not None]
        pairs += [("content_genre", genre) for genre in self.content_genres]
        pairs += [(f"custom:{key}", value) for key, value in self.custom]
        return pairs


def profile_of(ad_request: AdRequest, region: str | None = None) -> Profile:
    """The request's profile: device type from `device_type`, else the user agent, which also gives the
    platform; the country of the device's IP, and its `region` when looked up (index_for); the content
    signals, supply tag and custom pairs as parsed."""
    user_type, platform = classify(ad_request.user_agent)
    live = ad_request.livestream
    return Profile(
        openrtb_device_type(ad_request.device_type) or user_type,
        platform,
        ad_request.app_bundle.lower() if ad_request.app_bundle else None,
        country(ad_request.ip),
        region,
        ad_request.content_rating,
        None if live is None else str(live),
        str(ad_request.supply_tag) if ad_request.supply_tag else None,
        ad_request.content_genres,
        ad_request.custom,
    )


def device_profile(ip: str | None, user_agent: str | None) -> Profile:
    """The profile of a request that carries only its device (the SDK's JSON ad request)."""
    user_type, platform = classify(user_agent)
    return Profile(user_type, platform, country=country(ip))


@dataclass(frozen=True, slots=True)
class RuleIndex:
    """The catalog's rules, indexed once per catalog load (see the module's docstring)."""

    bit: dict[uuid.UUID, int]  # campaign id -> its bit number
    every: int  # all campaigns
    including: dict[tuple[str, str], int]
    constrained: dict[str, int]
    excluding: dict[tuple[str, str], int]
    schedules: tuple[tuple[ZoneInfo, frozenset[int] | None, frozenset[int] | None, int], ...]
    creative_bits: tuple[int, ...]  # per creative of catalog.ordered, its campaign's bit number
    regional: bool = False  # some rule names regions: requests need their region looked up

    def matching(self, profile: Profile, off_schedule: int = 0) -> int:
        """The campaigns (a bitset) whose every rule `profile` meets, less those off their day-part."""
        allowed = self.every & ~off_schedule
        admitted: dict[str, int] = {}
        for pair in profile.pairs():
            allowed &= ~self.excluding.get(pair, 0)
            admitted[pair[0]] = admitted.get(pair[0], 0) | self.including.get(pair, 0)
        for name, constrained in self.constrained.items():
            allowed &= ~constrained | admitted.get(name, 0)
        return allowed

    def off_schedule(self, now: float) -> int:
        """The campaigns whose day-part excludes `now` (seconds since the epoch), each in its time zone."""
        off = 0
        for zone, hours, days, campaigns in self.schedules:
            local = datetime.fromtimestamp(now, zone)
            if (hours is not None and local.hour not in hours) or (
                days is not None and local.weekday() not in days
            ):
                off |= campaigns
        return off


def build_rules(catalog: Catalog) -> RuleIndex | None:
    """The rule index of a catalog, or None when no campaign has any rule (requests then skip targeting)."""
    if not any(campaign.targeting for campaign in catalog.campaigns.values()):
        return None
    bit = {campaign_id: number for number, campaign_id in enumerate(catalog.campaigns)}
    # Bit numbers first, one int per set at the end: OR-ing into growing ints would cost O(n²).
    including: dict[tuple[str, str], list[int]] = {}
    constrained: dict[str, list[int]] = {}
    excluding: dict[tuple[str, str], list[int]] = {}
    schedules: dict[tuple, list[int]] = {}
    for campaign_id, campaign in catalog.campaigns.items():
        rules = campaign.targeting
        if rules is None:
            continue
        number = bit[campaign_id]
        for name, values in rules.include.items():
            constrained.setdefault(name, []).append(number)
            for value in values:
                including.setdefault((name, value), []).append(number)
        for name, values in rules.exclude.items():
            for value in values:
                excluding.setdefault((name, value), []).append(number)
        if rules.scheduled:
            schedules.setdefault((rules.time_zone, rules.hours, rules.days), []).append(number)
    return RuleIndex(
        bit=bit,
        every=(1 << len(bit)) - 1,
        including=_bitsets(including),
        constrained=_bitsets(constrained),
        excluding=_bitsets(excluding),
        schedules=tuple(
            (ZoneInfo(tz), hours, days, _bitset(numbers)) for (tz, hours, days), numbers in schedules.items()
        ),
        creative_bits=tuple(bit[creative.campaign_id] for creative in catalog.ordered),
        regional="region" in constrained or any(name == "region" for name, _ in excluding),
    )


def _bitset(numbers: Iterable[int]) -> int:
    numbers = list(numbers)
    flags = bytearray(max(numbers) // 8 + 1)
    for number in numbers:
        flags[number >> 3] |= 1 << (number & 7)
    return int.from_bytes(flags, "little")


def _bitsets(table: dict) -> dict:
    return {key: _bitset(numbers) for key, numbers in table.items()}


class TargetedIndex:
    """The tick's index restricted to the campaigns a profile matches (a bitset), for `choose` as the
    decision calls it (app.serving.pods).

    A draw first tries the whole index and keeps a creative of a matching campaign: rejection sampling,
    which gives exactly the restricted distribution and costs O(log n) a try, so broad targeting never
    builds anything. After REJECTION_DRAWS misses (narrow targeting) it draws from the view of only the
    matching creatives, built once per tick and match; the mixture of the two is still exact."""

    __slots__ = ("_bits", "_views", "matching")

    def __init__(self, views: TargetedViews, matching: int):
        self._views = views
        self.matching = matching
        # One character per campaign bit: reading one is O(1), where shifting a 10,000-bit int is not.
        self._bits = format(matching, "b")[::-1].ljust(len(views.rules.bit), "0")

    def choose(
        self, min_duration: float, max_duration: float, rng: random.Random = random
    ) -> CreativeEntry | None:
        views, bits = self._views, self._bits
        for _ in range(REJECTION_DRAWS):
            creative = views.index.choose(min_duration, max_duration, rng)
            if creative is None:  # nothing of any campaign fits the durations
                return None
            if bits[views.rules.bit[creative.campaign_id]] == "1":
                return creative
        return self.view().choose(min_duration, max_duration, rng)

    def view(self) -> EligibleIndex:
        """An EligibleIndex of the matching creatives only, in duration order, with their weights."""
        return self._views.view(self.matching)


@dataclass(slots=True)
class TargetedViews:
    """One tick's targeting: which campaigns are off their day-part now, and what requests drew from."""

    rules: RuleIndex
    index: EligibleIndex
    off_schedule: int
    _profiles: dict[Profile, EligibleIndex | TargetedIndex] = field(default_factory=dict)
    _views: dict[int, EligibleIndex] = field(default_factory=dict)
    _weights: list[float] | None = None

    def index_for(self, profile: Profile) -> EligibleIndex | TargetedIndex:
        """What a request of this profile draws from: the whole index when it matches every campaign."""
        chosen = self._profiles.get(profile)
        if chosen is None:
            matching = self.rules.matching(profile, self.off_schedule)
            if matching == self.rules.every:
                chosen = self.index
            elif not matching:
                chosen = EligibleIndex(spend=self.index.spend, pending=self.index.pending)
            else:
                chosen = TargetedIndex(self, matching)
            if len(self._profiles) >= VIEWS_PER_TICK:
                del self._profiles[next(iter(self._profiles))]
            self._profiles[profile] = chosen
        return chosen

    def view(self, matching: int) -> EligibleIndex:
        view = self._views.get(matching)
        if view is None:
            if len(self._views) >= VIEWS_PER_TICK:
                self._views.clear()
            view = self._views[matching] = self._restrict(matching)
        return view

    def _restrict(self, matching: int) -> EligibleIndex:
        index = self.index
        if self._weights is None:  # each creative's own weight, once per tick
            self._weights = [b - a for a, b in pairwise([0.0, *index.cumulative])]
        # The creatives whose campaign matches, in duration order, all in C: the match's bits as text, read
        # at each creative's campaign bit.
        bits = format(matching, "b")[::-1].ljust(len(self.rules.bit), "0")
        flags = (
            map("1".__eq__, itemgetter(*self.rules.creative_bits)(bits)) if self.rules.creative_bits else ()
        )
        positions = list(compress(range(len(index.creatives)), flags))
        if not positions:
            return EligibleIndex(spend=index.spend, pending=index.pending)
        pick = itemgetter(*positions) if len(positions) > 1 else lambda seq: (seq[positions[0]],)
        return EligibleIndex(
            durations=pick(index.durations),
            creatives=pick(index.creatives),
            cumulative=list(accumulate(pick(self._weights))),
            spend=index.spend,
            pending=index.pending,
        )


def tick_views(catalog: Catalog, index: EligibleIndex, now: float | None = None) -> TargetedViews | None:
    """This tick's targeting for a freshly weighed index; None when the catalog has no rule."""
    rules = catalog.targeting
    if rules is None:
        return None
    return TargetedViews(rules, index, rules.off_schedule(time.time() if now is None else now))


def held_back_by_targeting(state: ServingState, campaign: CampaignEntry, profile: Profile) -> str | None:
    """Why the campaign's targeting keeps it from a request of `profile`, in words (its first rule the
    request fails), or None when it may serve it. Whether it matches is read from the tick's index, as
    serving draws through it; only the words are worked out here."""
    views, rules = state.targeting, campaign.targeting
    if views is None or rules is None:
        return None
    if views.rules.matching(profile, views.off_schedule) >> views.rules.bit[campaign.id] & 1:
        return None
    values: dict[str, set[str]] = {}
    for name, value in profile.pairs():
        values.setdefault(name, set()).add(value)
    for name, allowed in rules.include.items():
        if not values.get(name, set()) & allowed:
            sent = ", ".join(sorted(values.get(name, ()))) or "none"
            return f"{name}: the request's ({sent}) is not among {', '.join(sorted(allowed))}"
    for name, denied in rules.exclude.items():
        if hit := values.get(name, set()) & denied:
            return f"{name}: the request's {', '.join(sorted(hit))} is excluded"
    return f"day_part: outside its hours and days now in {rules.time_zone}"


def index_for(
    state: ServingState, profile: Callable[[], Profile], region: Callable[[], str | None] | None = None
) -> EligibleIndex | TargetedIndex:
    """What the decision draws from for a request: the tick's whole index when no campaign targets
    anything. `profile` is read only when some campaign targets, `region` (the device's, ISO 3166-2) only
    when some campaign targets regions: the region database is not read otherwise."""
    views = state.targeting
    if views is None:
        return state.index
    if views.rules.regional and region is not None:
        return views.index_for(profile()._replace(region=region()))
    return views.index_for(profile())
