"""Targeting in the decision: each dimension includes and excludes, the index returns exactly what a
brute-force filter does, day-parts follow the campaign's time zone across DST, and pods respect it too."""

from __future__ import annotations

import dataclasses
import random
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import hypothesis
import pytest
from hypothesis import strategies as st

from app.campaigns.targeting import DAYS, DEVICE_TYPES, PLATFORMS, Targeting, TargetingSchema, targeting_of
from app.serving.catalog import CampaignEntry, ServingState, make_catalog
from app.serving.decision import build_index
from app.serving.geo import RegionDatabase
from app.serving.pods import PodRequest, choose_one, choose_pod
from app.serving.request import parse_ad_request
from app.serving.targeting import VIEWS_PER_TICK, Profile, TargetedIndex, index_for, profile_of, tick_views
from app.settings import Settings
from tests.unit.serving.test_pods import creative

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=ZoneInfo("UTC")).timestamp()  # a Monday, noon UTC
ROKU = "Roku/DVP-9.10 (519.10E04111A)"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
REGIONS = RegionDatabase(
    Settings().region_database_dir
)  # installed by `make assets` (tests/unit/serving/test_geo.py)


def campaign(rules: dict | None, time_zone: str = "UTC", durations=(15.0,)) -> CampaignEntry:
    campaign_id = uuid.uuid4()
    loaded = TargetingSchema().load(rules) if rules is not None else None
    return CampaignEntry(
        id=campaign_id,
        name="c",
        cost_units=1,
        budget_units=10**9,
        start_ts=NOW - 86400 * 800,
        end_ts=NOW + 86400 * 800,
        creatives=tuple(creative(campaign_id, d) for d in durations),
        targeting=targeting_of(loaded, time_zone),
    )


def state_of(campaigns: list[CampaignEntry], now: float = NOW) -> ServingState:
    catalog = make_catalog(1, now, {c.id: c for c in campaigns})
    index = build_index(catalog, now, {})
    return ServingState(catalog, index, tick_views(catalog, index, now))


def request(query: dict | None = None, ip: str = "8.8.8.8", ua: str | None = None):
    headers = {"User-Agent": ua} if ua else {}
    return parse_ad_request(query or {}, headers, ip)


def restricted(index):
    """The EligibleIndex a request draws from, as a TargetedIndex falls back to."""
    return index.view() if isinstance(index, TargetedIndex) else index


def served(state: ServingState, ad_request) -> set[uuid.UUID]:
    """Every campaign the request can draw (the view's creatives that carry weight)."""
    view = restricted(index_for(state, lambda: profile_of(ad_request), lambda: REGIONS.region(ad_request.ip)))
    weights = [b - a for a, b in zip([0.0, *view.cumulative], view.cumulative, strict=False)]
    return {c.campaign_id for c, w in zip(view.creatives, weights, strict=True) if w > 0}


# One case per dimension: (rule, a request meeting the include, one that does not).
DIMENSIONS = {
    "device_type": ({"include": ["ctv"]}, request({"device_type": "3"}), request({"device_type": "1"})),
    "device_type_from_ua": ({"include": ["ctv"]}, request(ua=ROKU), request(ua=IPHONE)),
    "platform": ({"include": ["roku"]}, request(ua=ROKU), request(ua=IPHONE)),
    "app_bundle": ({"include": ["com.Example.TV"]}, request({"app_bundle": "com.example.tv"}), request()),
    "country": ({"include": ["us"]}, request(ip="8.8.8.8"), request(ip="81.2.69.160")),
    "region": ({"include": ["us-ca"]}, request(ip="8.8.8.8"), request(ip="81.2.69.160")),
    "region_ipv6": ({"include": ["DE-HE"]}, request(ip="2a00:1450:4001::1"), request(ip="2003::1")),
    "content_genre": (
        {"include": ["Drama"]},
        request({"content_genre": "comedy,drama"}),
        request({"content_genre": "news"}),
    ),
    "content_rating": (
        {"include": ["TV-PG"]},
        request({"content_rating": "tv-pg"}),
        request({"content_rating": "TV-MA"}),
    ),
}


@pytest.mark.parametrize("case", sorted(DIMENSIONS))
def test_each_dimension_includes_and_excludes(case):
    rule, meets, misses = DIMENSIONS[case]
    dimension = case.removesuffix("_from_ua").removesuffix("_ipv6")
    included = campaign({dimension: rule})
    excluded = campaign({dimension: {"exclude": rule["include"]}})
    untargeted = campaign(None)
    state = state_of([included, excluded, untargeted])
    assert served(state, meets) == {included.id, untargeted.id}
    assert served(state, misses) == {excluded.id, untargeted.id}


def test_livestream_and_custom_pairs():
    live = campaign({"livestream": True})
    vod = campaign({"livestream": False})
    bulls = campaign({"custom": {"team": {"include": ["bulls"]}}})
    no_news = campaign({"custom": {"section": {"exclude": ["news"]}}})
    state = state_of([live, vod, bulls, no_news])
    assert served(state, request({"livestream": "1", "cust_params": "team=Bulls,cubs"})) == {
        live.id,
        bulls.id,
        no_news.id,
    }
    assert served(state, request({"livestream": "0", "cust_params": "section=news"})) == {vod.id}
    assert served(state, request()) == {no_news.id}  # no value: include rules fail, exclude rules hold


def test_the_region_is_looked_up_only_when_a_campaign_targets_regions():
    us = request(ip="8.8.8.8")
    state = state_of([campaign({"country": {"include": ["US"]}}), campaign(None)])
    assert not state.targeting.rules.regional
    index_for(state, lambda: profile_of(us), lambda: pytest.fail("no region needed"))
    for rules in ({"region": {"include": ["US-CA"]}}, {"region": {"exclude": ["US-TX"]}}):
        state = state_of([campaign(rules), campaign(None)])
        looked_up: list[str] = []
        index_for(state, lambda: profile_of(us), lambda seen=looked_up: seen.append("once") or "US-CA")
        assert state.targeting.rules.regional and looked_up == ["once"]


def test_an_unknown_region_fails_include_rules_and_meets_exclude_rules():
    california = campaign({"region": {"include": ["US-CA"]}})
    not_texas = campaign({"region": {"exclude": ["US-TX"]}})
    state = state_of([california, not_texas])
    no_database = RegionDatabase("/nonexistent")
    view = restricted(
        index_for(state, lambda: profile_of(request(ip="8.8.8.8")), lambda: no_database.region("8.8.8.8"))
    )
    assert {c.campaign_id for c in view.creatives} == {not_texas.id}


def test_untargeted_catalog_draws_from_the_tick_index_itself():
    state = state_of([campaign(None), campaign({})])
    assert state.targeting is None
    assert index_for(state, lambda: pytest.fail("no profile needed")) is state.index


def test_a_profile_that_matches_everything_uses_the_whole_index_and_views_are_memoised():
    state = state_of([campaign({"country": {"exclude": ["FR"]}}), campaign(None)])
    us = request(ip="8.8.8.8")
    assert index_for(state, lambda: profile_of(us)) is state.index
    gb = campaign({"country": {"include": ["GB"]}})
    state = state_of([gb, campaign(None)])
    first = index_for(state, lambda: profile_of(us))
    assert index_for(state, lambda: profile_of(us)) is first
    assert isinstance(first, TargetedIndex) and first.view() is first.view()
    for n in range(VIEWS_PER_TICK + 1):  # bounded: the oldest profile goes first
        index_for(state, lambda n=n: Profile(app_bundle=f"b{n}"))
        state.targeting.view(n + 1)
    assert len(state.targeting._profiles) <= VIEWS_PER_TICK
    assert len(state.targeting._views) <= VIEWS_PER_TICK


def budgeted(rules: dict | None, budget: int) -> CampaignEntry:
    return dataclasses.replace(campaign(rules), budget_units=budget)


@pytest.mark.parametrize("others", [3, 400])  # broad targeting (rejection draws), narrow (the view)
def test_draws_keep_the_pacing_shares_among_matching_campaigns(others):
    heavy = budgeted({"country": {"include": ["US"]}}, 3 * 10**9)
    light = budgeted({"country": {"include": ["US", "GB"]}}, 10**9)
    rest = [budgeted({"country": {"include": ["DE"]}}, 10**9) for _ in range(others)]
    state = state_of([heavy, light, *rest])
    index = index_for(state, lambda: profile_of(request(ip="8.8.8.8")))
    rng = random.Random(3)
    drawn = [index.choose(0, 30, rng).campaign_id for _ in range(4000)]
    assert set(drawn) == {heavy.id, light.id}
    assert drawn.count(heavy.id) / len(drawn) == pytest.approx(0.75, abs=0.03)
    assert index.choose(16, 30, rng) is None  # nothing of any campaign fits


# ---- Day-part in the campaign's time zone, across DST. ----


def at(text: str, zone: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()


@pytest.mark.parametrize(
    ("utc", "serves"),
    [
        # New York prime time 20:00-22:59. EDT (UTC-4) before 2 Nov 2025 02:00, EST (UTC-5) after.
        ("2025-11-01T00:30", True),  # Fri 20:30 EDT
        ("2025-11-01T03:30", False),  # Fri 23:30 EDT
        ("2025-11-03T00:30", False),  # Sun 19:30 EST: the same UTC hour is an hour earlier now
        ("2025-11-03T01:30", True),  # Sun 20:30 EST
        ("2026-03-09T00:30", True),  # Sun 20:30 EDT, the day DST began (8 Mar 2026)
        ("2026-03-08T00:30", False),  # Sat 19:30 EST
    ],
)
def test_day_part_follows_the_campaign_time_zone_across_dst(utc, serves):
    prime = campaign({"day_part": {"hours": [20, 21, 22]}}, time_zone="America/New_York")
    now = at(utc, "UTC")
    state = state_of([prime], now=now)
    assert (served(state, request()) == {prime.id}) is serves


def test_day_of_week_in_the_time_zone():
    weekend = campaign({"day_part": {"days": ["sat", "sun"]}}, time_zone="Asia/Tokyo")
    friday_night_utc = at("2026-12-04T20:00", "UTC")  # already Saturday 05:00 in Tokyo
    assert served(state_of([weekend], now=friday_night_utc), request()) == {weekend.id}
    assert served(state_of([weekend], now=at("2026-12-04T10:00", "UTC")), request()) == set()


# ---- The index returns exactly what a brute-force filter returns. ----

VALUES = {
    "device_type": list(DEVICE_TYPES),
    "platform": list(PLATFORMS),
    "app_bundle": ["a.one", "a.two", "a.three"],
    "country": ["US", "GB", "DE"],
    "region": ["US-CA", "GB-ENG", "DE-BY"],
    "content_genre": ["drama", "news", "sports"],
    "content_rating": ["tv-g", "tv-ma"],
}
_rule = st.fixed_dictionaries(
    {},
    optional={
        "include": st.lists(st.integers(0, 5), min_size=1, max_size=3),
        "exclude": st.lists(st.integers(0, 5), min_size=1, max_size=3),
    },
).filter(bool)


@st.composite
def targetings(draw) -> dict | None:
    if draw(st.booleans()) and draw(st.booleans()):
        return None
    rules: dict = {}
    for dimension in draw(st.sets(st.sampled_from(sorted(VALUES)), max_size=4)):
        choices = VALUES[dimension]
        rule = draw(_rule)
        include = {choices[i % len(choices)] for i in rule.get("include", [])}
        exclude = {choices[i % len(choices)] for i in rule.get("exclude", [])} - include
        rules[dimension] = {k: sorted(v) for k, v in (("include", include), ("exclude", exclude)) if v}
        rules[dimension] = rules[dimension] or {"include": sorted(include or {choices[0]})}
    if draw(st.booleans()):
        rules["livestream"] = draw(st.booleans())
    if draw(st.booleans()):
        rules["custom"] = {"k": {"include": draw(st.lists(st.sampled_from(["x", "y"]), min_size=1))}}
    if draw(st.booleans()):
        rules["day_part"] = {"hours": draw(st.lists(st.integers(0, 23), min_size=1, max_size=24))}
    return rules


@st.composite
def profiles(draw) -> Profile:
    single = {
        d: draw(st.sampled_from(v)) for d, v in VALUES.items() if d != "content_genre" and draw(st.booleans())
    }
    genres = draw(st.sets(st.sampled_from(VALUES["content_genre"]), max_size=2))  # several values at once
    live = draw(st.sampled_from([None, "0", "1"]))
    custom = frozenset(("k", v) for v in draw(st.sets(st.sampled_from(["x", "y", "z"]))))
    return Profile(**single, livestream=live, content_genres=frozenset(genres), custom=custom)


def brute_force(rules: Targeting | None, profile: Profile, now: float) -> bool:
    if rules is None:
        return True
    values: dict[str, set[str]] = {}
    for name, value in profile.pairs():
        values.setdefault(name, set()).add(value)
    local = datetime.fromtimestamp(now, ZoneInfo(rules.time_zone))
    return (
        all(values.get(name, set()) & allowed for name, allowed in rules.include.items())
        and not any(values.get(name, set()) & denied for name, denied in rules.exclude.items())
        and (rules.hours is None or local.hour in rules.hours)
        and (rules.days is None or local.weekday() in rules.days)
    )


@hypothesis.settings(max_examples=150, deadline=None)
@hypothesis.given(
    st.lists(targetings(), min_size=1, max_size=12),
    st.lists(profiles(), min_size=1, max_size=5),
    st.integers(0, 7 * 24 - 1),
    st.sampled_from(["UTC", "America/Los_Angeles", "Europe/Berlin"]),
)
def test_the_index_matches_a_brute_force_filter(rules, requests, hour, zone):
    now = NOW + hour * 3600
    campaigns = [campaign(r, time_zone=zone, durations=(15.0, 30.0)) for r in rules]
    state = state_of(campaigns, now=now)
    for profile in requests:
        expected = {c.id for c in campaigns if brute_force(c.targeting, profile, now)}
        view = restricted(index_for(state, lambda p=profile: p))
        assert {c.campaign_id for c in view.creatives if c.campaign_id in expected} == expected
        weights = [b - a for a, b in zip([0.0, *view.cumulative], view.cumulative, strict=False)]
        assert {c.campaign_id for c, w in zip(view.creatives, weights, strict=True) if w > 0} == expected
        assert list(view.durations) == sorted(view.durations)  # still sorted: choose bisects it


# ---- The decision's two draws respect it. ----


def test_single_ads_and_pods_draw_only_matching_campaigns():
    ctv = [campaign({"device_type": {"include": ["ctv"]}}, durations=(10.0, 15.0)) for _ in range(4)]
    mobile = [campaign({"device_type": {"include": ["mobile"]}}, durations=(10.0, 15.0)) for _ in range(4)]
    state = state_of(ctv + mobile)
    allowed = {c.id for c in ctv}
    view = index_for(state, lambda: profile_of(request(ua=ROKU)))
    rng = random.Random(7)
    for _ in range(200):
        assert choose_one(view, state.catalog, 0, 30, rng).campaign_id in allowed
    pod = choose_pod(view, state.catalog, PodRequest(max_seconds=60, max_ads=4), rng)
    assert len(pod) == 4 and {c.campaign_id for c in pod} == allowed


def test_no_matching_campaign_is_a_no_fill():
    state = state_of([campaign({"country": {"include": ["DE"]}})])
    view = index_for(state, lambda: profile_of(request(ip="8.8.8.8")))
    assert choose_one(view, state.catalog, 0, 30) is None
    assert choose_pod(view, state.catalog, PodRequest(max_seconds=60)) == []


def test_days_are_iso_names_in_order():
    assert DAYS[datetime(2026, 11, 30).weekday()] == "mon"


def test_the_diagnosis_names_the_first_targeting_rule_a_request_fails():
    from app.serving.diagnosis import COMPETES, diagnose

    ctv = dataclasses.replace(campaign({"device_type": {"include": ["ctv"]}}), name="ctv")
    no_us = dataclasses.replace(campaign({"country": {"exclude": ["US"]}}), name="no-us")
    nights = dataclasses.replace(campaign({"day_part": {"hours": [2]}}), name="nights")
    anyone = dataclasses.replace(campaign(None), name="anyone")
    bavaria = dataclasses.replace(campaign({"region": {"include": ["DE-BY", "DE-HE"]}}), name="bavaria")
    state = state_of([ctv, no_us, nights, anyone, bavaria])
    verdicts = {v.name: v for v in diagnose(state, request(ua=IPHONE), blocks=frozenset(), shown=frozenset())}
    assert verdicts["anyone"].rule == COMPETES and verdicts["anyone"].share == 1.0
    assert (verdicts["ctv"].rule, verdicts["ctv"].detail) == (
        "targeting",
        "device_type: the request's (mobile) is not among ctv",
    )
    assert verdicts["no-us"].detail == "country: the request's US is excluded"
    assert verdicts["nights"].detail == "day_part: outside its hours and days now in UTC"
    assert verdicts["bavaria"].detail == "region: the request's (none) is not among DE-BY, DE-HE"
    in_california = diagnose(state, request(), blocks=frozenset(), shown=frozenset(), region="US-CA")
    assert {v.name: v.detail for v in in_california}["bavaria"] == (
        "region: the request's (US-CA) is not among DE-BY, DE-HE"
    )
    on_roku = {
        v.name: v.rule
        for v in diagnose(state, request(ip="81.2.69.160", ua=ROKU), blocks=frozenset(), shown=frozenset())
    }
    assert on_roku == {
        "ctv": COMPETES,
        "no-us": COMPETES,
        "nights": "targeting",
        "anyone": COMPETES,
        "bavaria": "targeting",
    }


def test_rules_without_any_constraint_are_no_targeting():
    assert targeting_of(None, "UTC") is None
    assert targeting_of({"day_part": {}, "custom": {}}, "UTC") is None
