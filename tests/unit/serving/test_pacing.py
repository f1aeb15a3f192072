"""The pacing rule: goals, the line along the traffic, the throttle, daily goals and the hard stop."""

import dataclasses
import random
from datetime import UTC, datetime

import pytest
from werkzeug.datastructures import Headers

from app.serving.catalog import CatalogService, ServingState
from app.serving.decision import build_index, held_back
from app.serving.diagnosis import COMPETES, diagnose
from app.serving.pacing import (
    CATCH_UP_SECONDS,
    Delivered,
    Goals,
    day_key,
    goal_impressions,
    goal_reached,
    line_share,
    participation,
    traffic_share,
)
from app.serving.request import parse_ad_request
from app.serving.traffic import TrafficForecast
from tests.unit.serving.test_decision import campaign, catalog

MONDAY = datetime(2026, 11, 30, tzinfo=UTC).timestamp()
HOUR = 3600.0
# Busy evenings: 18:00-24:00 carry three times the requests of any other hour.
EVENINGS = TrafficForecast(tuple(3000.0 if h % 24 >= 18 else 1000.0 for h in range(168)))
FLAT = TrafficForecast((1000.0,) * 168)
DAY_GOAL = Goals(1000, 24_000_000)
NOTHING = Delivered()


def test_the_goal_is_the_budget_at_the_cpm_or_the_impression_goal_if_smaller():
    assert goal_impressions(1000, 5_000_000, None) == 5000
    assert goal_impressions(1000, 5_000_000, 3000) == 3000
    assert goal_impressions(1000, 0, None) == float("inf")  # no daily goal
    goals = Goals(cost_units=1000, budget_units=5_000_000, impression_goal=3000)
    # Progress counts in whichever binds first: half the impressions, or most of the money.
    assert goals.done(Delivered(spend_units=1_000_000, impressions=1500)) == 1500
    assert goals.done(Delivered(spend_units=4_000_000, impressions=1500)) == 2400


def test_the_line_follows_the_traffic_not_the_clock():
    start, end = MONDAY, MONDAY + 86400
    at_six_pm = traffic_share(EVENINGS, start, end, start + 18 * HOUR)
    assert at_six_pm == pytest.approx(18_000 / 36_000)  # 75 % of the day, half its requests
    assert traffic_share(None, start, end, start + 18 * HOUR) == pytest.approx(0.75)
    assert (
        traffic_share(EVENINGS, start, end, start - HOUR) == 0
        and traffic_share(EVENINGS, start, end, end) == 1
    )


def test_frontloaded_runs_ahead_of_even_and_meets_it_at_the_end():
    assert line_share("even", 0.5) == 0.5
    assert line_share("frontloaded", 0.5) == pytest.approx(0.625)  # 25 % ahead mid-flight
    assert line_share("frontloaded", 0.0) == 0 and line_share("frontloaded", 1.0) == 1
    assert line_share("asap", 0.3) == 0.3


def served(impressions: int) -> Delivered:
    return Delivered(spend_units=impressions * 1000, impressions=impressions)


def rate(pacing="even", goals=DAY_GOAL, now=MONDAY, delivered=NOTHING, forecast=FLAT, **kw):
    """Participation of a campaign flying over the Monday (24,000 impressions: 1,000 an hour when flat)."""
    return participation(pacing, goals, MONDAY, MONDAY + 86400, now, delivered, forecast, **kw)


def test_on_the_line_a_campaign_takes_its_share_of_the_coming_traffic():
    # 1,000 of the next hour's 1,000 requests... on a flat day of 24,000 requests for 24,000 impressions.
    assert rate() == pytest.approx(1.0)
    half = Goals(1000, 12_000_000)
    assert rate(goals=half) == pytest.approx(0.5)
    # Behind by 250 impressions: it takes them back within the hour; ahead by as many, it takes fewer.
    noon = MONDAY + 12 * HOUR
    assert rate(goals=half, now=noon, delivered=served(5750)) == pytest.approx(0.75)
    assert rate(goals=half, now=noon, delivered=served(6250)) == pytest.approx(0.25)
    assert rate(goals=half, now=noon, delivered=served(7000)) == 0  # far ahead: waits
    assert CATCH_UP_SECONDS == HOUR


def test_outside_the_flight_past_a_goal_or_ahead_of_its_line_a_campaign_is_held_back_and_says_why():
    day = campaign(budget=24_000_000, start=MONDAY, end=MONDAY + 86400)  # 24,000 impressions at 1000
    asap = dataclasses.replace(day, pacing="asap")
    assert held_back(day, MONDAY - 1, {}, {}).rule == "flight"
    assert held_back(day, MONDAY + 86400, {}, {}).detail == "its flight has ended"
    spent = held_back(asap, MONDAY, {day.id: 23_000_000}, {day.id: 1_000_000})  # with what was just served
    assert (spent.rule, spent.detail) == (
        "budget",
        "its goal is reached (budget or impression goal) (with the ads served since the last reading)",
    )
    today = dataclasses.replace(day, daily_impression_cap=10)
    assert "daily goal" in held_back(today, MONDAY, {}, {}, {day.id: Delivered(day_impressions=10)}).detail
    ahead = held_back(day, MONDAY + HOUR, {day.id: 5_000_000}, {}, traffic=FLAT)
    assert (ahead.rule, ahead.detail) == (
        "pacing",
        "it is ahead of its pacing line: it waits for the traffic to catch up",
    )
    assert held_back(day, MONDAY + HOUR, {day.id: 1_000_000}, {}, traffic=FLAT) is None
    assert held_back(asap, MONDAY + HOUR, {day.id: 5_000_000}, {}, traffic=FLAT) is None
    assert rate(pacing="asap") == 1.0


def test_a_daily_goal_spreads_what_is_left_of_it_over_the_rest_of_the_day():
    daily = Goals(1000, 240_000_000, daily_impression_cap=6000)  # the total would allow 10,000 an hour
    assert rate(goals=daily) == pytest.approx(6000 / 24_000)
    assert rate(
        goals=daily, now=MONDAY + 12 * HOUR, delivered=Delivered(day_impressions=5000)
    ) == pytest.approx(1000 / 12_000)
    money = Goals(1000, 240_000_000, daily_budget_units=3_000_000)  # 3,000 impressions a day
    assert rate(goals=money) == pytest.approx(3000 / 24_000)
    assert goal_reached(money, Delivered(day_spend_units=3_000_000), 0.0) is not None  # asap stops there


def test_the_hard_stop_allows_the_over_delivery_and_no_more():
    goals = Goals(1000, 1_000_000, impression_goal=800, daily_impression_cap=500)
    assert goal_reached(goals, Delivered(impressions=799), 0.0) is None
    assert (
        goal_reached(goals, Delivered(impressions=800), 0.0)
        == "its goal is reached (budget or impression goal)"
    )
    assert goal_reached(goals, Delivered(impressions=839), 0.05) is None
    assert goal_reached(goals, Delivered(impressions=840), 0.05) is not None
    assert goal_reached(goals, Delivered(day_impressions=500), 0.0).startswith("its daily goal is reached")
    assert goal_reached(goals, Delivered(day_impressions=500), 0.01) is None


def test_days_are_utc():
    assert day_key(MONDAY - 1) == "2026-11-29" and day_key(MONDAY) == "2026-11-30"


def test_with_a_forecast_demand_below_supply_leaves_requests_without_an_ad():
    small = campaign(budget=1_000_000, start=MONDAY, end=MONDAY + 86400)  # 1,000 impressions, cost 1000
    paced = dataclasses.replace(catalog(small), traffic=FLAT)  # 24,000 requests that day
    index = build_index(paced, MONDAY, {})
    rng = random.Random(3)
    filled = sum(index.choose(0, 3600, rng) is not None for _ in range(20_000))
    assert filled / 20_000 == pytest.approx(1000 / 24_000, abs=0.006)  # its share of the hour's requests
    # Without a forecast the weights are only proportions: every request gets an ad.
    assert all(build_index(catalog(small), MONDAY, {}).choose(0, 3600, rng) for _ in range(100))


def test_the_catalog_reads_live_delivery_at_each_tick_and_keeps_the_last_on_failure():
    capped = dataclasses.replace(
        campaign(start=MONDAY - 10, end=MONDAY + 86400), impression_goal=100, pacing="asap"
    )
    readings = iter(
        [
            {capped.id: Delivered(impressions=50)},
            RuntimeError("down"),
            {capped.id: Delivered(impressions=100)},
        ]
    )

    def read_delivery(ids, now):
        reading = next(readings)
        if isinstance(reading, Exception):
            raise reading
        assert ids == [capped.id] and now == MONDAY
        return reading

    service = CatalogService(
        lambda version: catalog(capped),
        lambda: 1,
        lambda ids: {},
        read_delivery=read_delivery,
        clock=lambda: MONDAY,
    )
    service.refresh()
    assert service.current().index.choose(0, 3600) is not None
    service.refresh()  # unreadable: the last reading stands
    assert service.current().index.delivery == {capped.id: Delivered(impressions=50)}
    service.refresh()  # the impression goal is met
    assert service.current().index.choose(0, 3600) is None


def test_serving_the_last_impressions_of_a_goal_stops_the_campaign_before_the_next_tick():
    capped = dataclasses.replace(
        campaign(start=MONDAY - 10, end=MONDAY + 86400), impression_goal=3, pacing="asap"
    )
    service = CatalogService(
        lambda version: catalog(capped),
        lambda: 1,
        lambda ids: {},
        read_delivery=lambda ids, now: {capped.id: Delivered(impressions=1)},
        clock=lambda: MONDAY,
    )
    service.refresh()
    service.note_served(capped.id)
    assert service.current().index.choose(0, 3600) is not None
    service.note_served(capped.id)  # 1 counted + 2 served: the goal
    assert service.current().index.choose(0, 3600) is None


def test_the_diagnosis_names_the_pacing_rule_as_serving_applies_it():
    ahead = campaign(budget=24_000_000, start=MONDAY, end=MONDAY + 86400)
    behind = campaign(budget=24_000_000, start=MONDAY, end=MONDAY + 86400)
    paced = dataclasses.replace(catalog(ahead, behind), traffic=FLAT)
    state = ServingState(paced, build_index(paced, MONDAY + HOUR, {ahead.id: 5_000_000, behind.id: 0}))
    verdicts = diagnose(
        state,
        parse_ad_request({"max_duration": "30"}, Headers(), "198.51.100.1"),
        blocks=frozenset(),
        shown=frozenset(),
    )
    rules = {verdict.campaign_id: verdict.rule for verdict in verdicts}
    assert rules == {ahead.id: "pacing", behind.id: COMPETES}
