"""Live delivery for pacing, counted by the event store in the same step as the spend (memory and Redis)."""

import uuid
from datetime import UTC, datetime

import pytest

from app.serving.pacing import Delivered
from app.tracking.events import Event, MemoryEventStore, RedisEventStore

MONDAY = datetime(2026, 11, 30, tzinfo=UTC).timestamp()


@pytest.fixture(params=["memory", "redis", "redis-sharded"])
def store(request):
    if request.param == "memory":
        return MemoryEventStore(dedupe_seconds=3600)
    client = request.getfixturevalue("redis_server")
    shards = 3 if request.param == "redis-sharded" else 1  # app.tracking.shards, on one Redis
    return RedisEventStore(
        client, request.getfixturevalue("redis_prefix"), dedupe_seconds=3600, shards=shards
    )


def impression(campaign_id, serving_id, at, cost=1000, name="impression"):
    return Event(
        name=name,
        ad_serving_id=serving_id,
        campaign_id=str(campaign_id),
        creative_id=str(uuid.uuid4()),
        occurred_at=at,
        cost_units=cost,
    )


def test_impressions_count_in_total_and_on_their_utc_day_once(store):
    campaign, other = uuid.uuid4(), uuid.uuid4()
    assert store.record(impression(campaign, "a-1", MONDAY - 60))  # Sunday
    assert store.record(impression(campaign, "a-2", MONDAY + 60, cost=2500))
    assert not store.record(impression(campaign, "a-2", MONDAY + 90, cost=2500))  # a repeat: once
    assert store.record(impression(campaign, "a-2", MONDAY + 90, name="complete"))  # not an impression
    assert store.delivery([campaign, other], MONDAY + 3600) == {
        campaign: Delivered(spend_units=0, impressions=2, day_spend_units=2500, day_impressions=1)
    }
    assert store.delivery([campaign], MONDAY - 1) == {campaign: Delivered(0, 2, 1000, 1)}
    assert store.delivery([campaign], MONDAY + 86400) == {campaign: Delivered(0, 2, 0, 0)}
    assert store.spend([campaign]) == {campaign: 3500}  # the spend of the same step
    assert store.delivery([], MONDAY) == {}


def test_seeding_raises_live_delivery_to_what_is_stored_and_never_lowers_it(store):
    campaign = uuid.uuid4()
    store.record(impression(campaign, "a-1", MONDAY + 60))
    store.seed_delivery({campaign: Delivered(0, 5, 4000, 4)}, MONDAY + 120)
    assert store.delivery([campaign], MONDAY + 120) == {campaign: Delivered(0, 5, 4000, 4)}
    store.seed_delivery({campaign: Delivered(0, 1, 0, 0)}, MONDAY + 120)
    assert store.delivery([campaign], MONDAY + 120) == {campaign: Delivered(0, 5, 4000, 4)}
    store.seed_delivery({}, MONDAY)


def test_many_campaigns_are_read_whole_across_the_reading_chunks(store):
    from app.tracking.events import READ_CHUNK

    campaigns = [uuid.uuid4() for _ in range(2 * READ_CHUNK + 7)]
    counted = campaigns[:: READ_CHUNK // 2]  # on either side of each chunk's end, the last one too
    counted.append(campaigns[-1])
    for number, campaign in enumerate(counted):
        assert store.record(impression(campaign, f"a-{number}", MONDAY + 60, cost=1000 + number))
    assert store.delivery(campaigns, MONDAY + 120) == {
        campaign: Delivered(0, 1, 1000 + number, 1) for number, campaign in enumerate(counted)
    }
    assert store.spend(campaigns) == {campaign: 1000 + number for number, campaign in enumerate(counted)}
