"""A week of ad requests with a CTV daily curve, through the real decision and the real spend accounting.

The catalog service (fake clock) re-ranks every 30 simulated seconds from the in-process event store, which
counts each impression as the beacon path does (`MemoryEventStore.record`); requests draw from its index as
/vast does (`choose_one`). The traffic forecast is learned (`learn_forecast`) from the previous week's serving
counts, and this week's traffic is 10 % higher with ±8 % noise per hour: the throttle must absorb both.
Every campaign ends within ±2 % of its goal and delivers each day within ±5 % of its line.
"""

from __future__ import annotations

import dataclasses
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.serving.catalog import CampaignEntry, CatalogService, make_catalog
from app.serving.pacing import line_share, traffic_share
from app.serving.pods import choose_one
from app.serving.traffic import learn_forecast
from app.tracking.events import Event, MemoryEventStore
from tests.unit.serving.test_decision import creative

WEEK_START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
DAY = 86400.0
TICK = 30.0
# Requests per hour at each hour of a weekday (UTC as the viewers' time): the night is a tenth of prime time.
WEEKDAY = [22, 14, 9, 7, 6, 8, 14, 22, 28, 30, 32, 34, 36, 38, 40, 44, 52, 64, 80, 96, 104, 100, 80, 44]
WEEKEND_DAYTIME = 1.3  # weekend days (08:00-20:00) watch more
SCALE = 1000  # requests per hour unit of the table
GROWTH = 1.10  # this week against the learned one
COST = 1000  # money units per impression (a CPM of 10.00)


def hourly_requests(moment: datetime) -> float:
    base = WEEKDAY[moment.hour] * SCALE / 10
    if moment.weekday() >= 5 and 8 <= moment.hour < 20:
        base *= WEEKEND_DAYTIME
    return base


def last_weeks_counts(rng: random.Random) -> list[tuple[datetime, int]]:
    start = WEEK_START - timedelta(weeks=1)
    return [
        (hour, round(hourly_requests(hour) * rng.uniform(0.95, 1.05)))
        for hour in (start + timedelta(hours=h) for h in range(168))
    ]


def entry(name, pacing, start_day, days, *, budget=None, goal=None, daily_budget=None) -> CampaignEntry:
    campaign_id = uuid.uuid4()
    start = WEEK_START.timestamp() + start_day * DAY
    return CampaignEntry(
        id=campaign_id,
        name=name,
        cost_units=COST,
        budget_units=(budget or 10**12) * COST,  # impressions at COST each; a large budget with a goal
        start_ts=start,
        end_ts=start + days * DAY,
        creatives=(creative(campaign_id, 15.0), creative(campaign_id, 30.0)),
        pacing=pacing,
        impression_goal=goal,
        daily_budget_units=daily_budget * COST if daily_budget else None,
    )


CAMPAIGNS = [
    entry("even budget, the week", "even", 0, 7, budget=60_000),
    entry("even goal, the week", "even", 0, 7, goal=45_000, budget=90_000),
    entry("even budget, Mon-Wed", "even", 0, 3, budget=30_000),
    entry("even goal, Tue-Fri noon", "even", 1, 3.5, goal=28_000),
    entry("even budget, Wed-Sun", "even", 2, 5, budget=40_000),
    entry("even goal, Thu-Sat", "even", 3, 3, goal=20_000),
    entry("even budget, weekend", "even", 5, 2, budget=24_000),
    entry("even goal, Mon noon-Thu", "even", 0.5, 3.5, goal=26_000),
    entry("frontloaded, the week", "frontloaded", 0, 7, budget=50_000),
    entry("frontloaded goal, Tue-Sat", "frontloaded", 1, 5, goal=30_000),
    entry("frontloaded, Fri-Sun", "frontloaded", 4, 3, budget=18_000),
    entry("even budget, Sat noon-Sun", "even", 5.5, 1.5, budget=12_000),
    entry("asap daily budget, the week", "asap", 0, 7, budget=21_000, daily_budget=3_000),
    entry("asap, Thu", "asap", 3, 1, budget=8_000),
]


def simulate():
    rng = random.Random(20261102)
    clock = [WEEK_START.timestamp()]
    store = MemoryEventStore(dedupe_seconds=3600)
    forecast = learn_forecast(last_weeks_counts(rng), WEEK_START)
    catalog = dataclasses.replace(
        make_catalog(1, clock[0], {c.id: c for c in CAMPAIGNS}), traffic=forecast, over_delivery=0.0
    )
    service = CatalogService(
        lambda version: catalog,
        lambda: 1,
        store.spend,
        read_delivery=store.delivery,
        clock=lambda: clock[0],
        rebuild_seconds=10 * DAY,
    )
    served = 0
    end = WEEK_START.timestamp() + 7 * DAY
    hour_factor = 1.0
    while clock[0] < end:
        moment = datetime.fromtimestamp(clock[0], UTC)
        if clock[0] % 3600 == 0:
            hour_factor = GROWTH * rng.uniform(0.92, 1.08)
            store.ack([entry_id for entry_id, _ in store.read_batch("sim", 10**6, 0)])  # the flusher's part
        service.refresh()
        expected = hourly_requests(moment) * hour_factor * TICK / 3600
        for _ in range(int(expected + rng.random())):
            state = service.current()
            chosen = choose_one(state.index, state.catalog, 15.0, 30.0, rng)
            if chosen is None:
                continue
            campaign = state.catalog.campaigns[chosen.campaign_id]
            service.note_served(campaign.id)
            served += 1
            store.record(
                Event(
                    name="impression",
                    ad_serving_id=f"sim-{served}",
                    campaign_id=str(campaign.id),
                    creative_id=str(chosen.id),
                    occurred_at=clock[0],
                    cost_units=campaign.cost_units,
                )
            )
        clock[0] += TICK
    return forecast, store


def test_a_week_of_traffic_delivers_every_goal_along_its_line():
    forecast, store = simulate()
    ids = [c.id for c in CAMPAIGNS]
    by_day = [store.delivery(ids, WEEK_START.timestamp() + day * DAY) for day in range(7)]
    totals = by_day[0]

    worst_goal = worst_day = 0.0
    print()
    for campaign in CAMPAIGNS:
        goal = campaign.goals.total
        delivered = totals[campaign.id].impressions
        assert store.spend([campaign.id])[campaign.id] == delivered * COST  # the spend accounting agrees
        goal_error = delivered / goal - 1
        day_errors = []
        for day in range(7):
            start = max(campaign.start_ts, WEEK_START.timestamp() + day * DAY)
            stop = min(campaign.end_ts, WEEK_START.timestamp() + (day + 1) * DAY)
            if stop <= start:
                continue
            if campaign.pacing == "asap":
                if not campaign.daily_budget_units:
                    continue  # as fast as traffic allows: no line to keep
                planned = campaign.goals.daily
            else:
                shares = [
                    traffic_share(forecast, campaign.start_ts, campaign.end_ts, t) for t in (start, stop)
                ]
                planned = goal * (
                    line_share(campaign.pacing, shares[1]) - line_share(campaign.pacing, shares[0])
                )
            day_errors.append(by_day[day][campaign.id].day_impressions / planned - 1)
        worst = max(day_errors, key=abs, default=0.0)
        print(
            f"{campaign.name:32} goal {goal:9.0f} delivered {delivered:7d} error {goal_error:+7.2%}"
            f"  days {' '.join(f'{e:+6.2%}' for e in day_errors)}"
        )
        worst_goal = max(worst_goal, abs(goal_error))
        worst_day = max(worst_day, abs(worst))
        assert goal_error == pytest.approx(0, abs=0.02), campaign.name
        assert delivered <= goal  # never past the goal: over-delivery 0 %
        assert all(abs(error) <= 0.05 for error in day_errors), campaign.name
    print(f"worst goal error {worst_goal:.2%}, worst daily error {worst_day:.2%}")
