import random
import uuid

import pytest

from app.serving.catalog import CampaignEntry, Catalog, CreativeEntry, make_catalog
from app.serving.decision import build_index

NOW = 1_000_000.0


def creative(campaign_id, duration=15.0) -> CreativeEntry:
    return CreativeEntry(
        id=uuid.uuid4(),
        campaign_id=campaign_id,
        duration=duration,
        width=1280,
        height=720,
        bitrate=2_000_000,
        file_size=1000,
        video_codec="h264",
        media_url="/media/x.mp4",
        click_through_url=None,
    )


def campaign(budget=1_000_000, durations=(15.0,), start=NOW - 10, end=NOW + 3600, cost=1000) -> CampaignEntry:
    campaign_id = uuid.uuid4()
    return CampaignEntry(
        id=campaign_id,
        name="c",
        cost_units=cost,
        budget_units=budget,
        start_ts=start,
        end_ts=end,
        creatives=tuple(creative(campaign_id, d) for d in durations),
    )


def catalog(*campaigns) -> Catalog:
    return make_catalog(1, NOW, {c.id: c for c in campaigns})


def draw(index, n=20_000, seed=7, low=0.0, high=3600.0):
    rng = random.Random(seed)
    counts = {}
    for _ in range(n):
        chosen = index.choose(low, high, rng)
        counts[chosen.campaign_id] = counts.get(chosen.campaign_id, 0) + 1
    return counts


def test_traffic_follows_the_spend_rate_each_campaign_needs():
    behind = campaign(budget=3_000_000)
    ahead = campaign(budget=1_000_000)
    counts = draw(build_index(catalog(behind, ahead), NOW, {}))
    share = counts[behind.id] / sum(counts.values())
    # Expected 0.75; with 20,000 draws the standard error is 0.003: 5 sigma either way.
    assert share == pytest.approx(0.75, abs=0.015)


def test_spend_so_far_and_time_left_both_count():
    fresh = campaign(budget=2_000_000)  # nothing spent, an hour left: 2e6/3600
    half_spent = campaign(budget=2_000_000)  # half spent, an hour left: 1e6/3600
    ending = campaign(budget=1_000_000, end=NOW + 1800)  # half an hour left: 1e6/1800 = 2e6/3600
    counts = draw(build_index(catalog(fresh, half_spent, ending), NOW, {half_spent.id: 1_000_000}))
    total = sum(counts.values())
    assert counts[fresh.id] / total == pytest.approx(0.4, abs=0.015)
    assert counts[half_spent.id] / total == pytest.approx(0.2, abs=0.015)
    assert counts[ending.id] / total == pytest.approx(0.4, abs=0.015)


def test_only_eligible_campaigns_are_drawn():
    running = campaign()
    not_started = campaign(start=NOW + 1)
    ended = campaign(end=NOW)
    exhausted = campaign(budget=5000)
    index = build_index(catalog(running, not_started, ended, exhausted), NOW, {exhausted.id: 5000})
    assert set(draw(index, n=500)) == {running.id}


def test_pending_spend_of_ads_just_served_counts_against_the_budget():
    small = campaign(budget=3000, cost=1000)
    index = build_index(catalog(small), NOW, {small.id: 1000}, {small.id: 2000})
    assert index.choose(0, 3600) is None
    index = build_index(catalog(small), NOW, {small.id: 1000})
    assert index.would_exhaust(small, 2000) and not index.would_exhaust(small, 1999)


def test_duration_range_selects_by_exact_duration():
    mixed = campaign(durations=(6.0, 15.0, 15.02, 29.6, 30.4, 60.0))
    index = build_index(catalog(mixed), NOW, {})
    rng = random.Random(1)
    assert {index.choose(15, 15, rng).duration for _ in range(50)} == {15.0}
    assert {index.choose(0, 30, rng).duration for _ in range(300)} == {6.0, 15.0, 15.02, 29.6}
    assert index.choose(30.1, 30.3, rng) is None
    assert index.choose(31, 59, rng) is None
    assert index.choose(61, 3600, rng) is None
    assert index.choose(60, 60, rng).duration == 60.0


def test_a_campaigns_weight_is_shared_by_its_creatives():
    two = campaign(durations=(15.0, 30.0))
    one = campaign(durations=(15.0,))
    counts = draw(build_index(catalog(two, one), NOW, {}), low=15, high=15)
    # At 15 s: `two` offers half its weight, `one` all of it -> 1/3 vs 2/3.
    assert counts[two.id] / sum(counts.values()) == pytest.approx(1 / 3, abs=0.015)


def test_empty_index():
    assert build_index(catalog(), NOW, {}).choose(0, 3600) is None


class FixedRandom:
    def __init__(self, value: float):
        self.value = value

    def random(self) -> float:
        return self.value


def test_ineligible_creatives_are_never_drawn_even_at_the_edges():
    running = campaign(durations=(15.0,))
    exhausted = campaign(budget=1000, durations=(15.0, 15.0))  # spent: weighs 0 on both sides of `running`
    index = build_index(catalog(running, exhausted), NOW, {exhausted.id: 1000})
    for value in (0.0, 0.5, 1.0 - 1e-16, 1.0):
        assert index.choose(0, 3600, FixedRandom(value)).campaign_id == running.id
    only_spent = build_index(catalog(exhausted), NOW, {exhausted.id: 1000})
    assert only_spent.choose(0, 3600, FixedRandom(0.5)) is None
