"""The impression and its frequency-cap count are one step: in Redis (the record script, real Redis) and in
the in-process store alike, a repeated beacon never counts twice, and a history keeps only what a rule can
still need."""

from __future__ import annotations

import uuid

import pytest

from app.tracking.events import Event, MemoryEventStore, RedisEventStore
from app.tracking.frequency import CapCount, decode_history, history_key
from app.tracking.signing import new_ad_serving_id

NOW = 1_800_000_000.0
CAMPAIGN = str(uuid.uuid4())
CREATIVE = str(uuid.uuid4())
DEVICE = "q3VYb2sH1d5m0XkKq7w7RA"


@pytest.fixture(params=["memory", "redis", "redis-sharded"])
def store(request):
    if request.param == "memory":
        return MemoryEventStore(dedupe_seconds=3600)
    client = request.getfixturevalue("redis_server")
    shards = 3 if request.param == "redis-sharded" else 1  # app.tracking.shards, on one Redis
    return RedisEventStore(
        client, request.getfixturevalue("redis_prefix"), dedupe_seconds=3600, shards=shards
    )


def history(store, device=DEVICE) -> dict:
    if isinstance(store, MemoryEventStore):
        return dict(store.histories.get(device, NOW))
    return decode_history(store.client.hgetall(store.shards.history_key(device)))


def impression(ad_serving_id: str, at: float, name: str = "impression") -> Event:
    return Event(name, ad_serving_id, CAMPAIGN, CREATIVE, occurred_at=at, cost_units=10)


def count(keep: int = 3, oldest: float = NOW - 3600) -> CapCount:
    return CapCount(DEVICE, ((f"c:{CAMPAIGN}", oldest, keep), ("a:adv", oldest, 1)), ttl_seconds=3600)


def test_a_repeated_impression_beacon_counts_once(store):
    ad = new_ad_serving_id()
    assert store.record(impression(ad, NOW - 5), count()) is True
    for _ in range(3):
        assert store.record(impression(ad, NOW - 4), count()) is False
    assert store.record(impression(ad, NOW - 3, "start"), count()) is True  # not an impression: no count
    assert history(store) == {f"c:{CAMPAIGN}": (NOW - 5,), "a:adv": (NOW - 5,)}


def test_a_history_keeps_the_latest_within_the_longest_window(store):
    for at in (NOW - 7200, NOW - 40, NOW - 10, NOW - 30, NOW - 20):
        store.record(impression(new_ad_serving_id(), at), count(keep=3))
    assert history(store) == {f"c:{CAMPAIGN}": (NOW - 30, NOW - 20, NOW - 10), "a:adv": (NOW - 10,)}


def test_an_impression_without_a_count_leaves_no_history(store):
    store.record(impression(new_ad_serving_id(), NOW), None)
    assert history(store) == {}


def test_in_redis_the_history_is_one_hash_per_hashed_device_that_expires(redis_server, redis_prefix):
    store = RedisEventStore(redis_server, redis_prefix, dedupe_seconds=3600)
    store.record(impression(new_ad_serving_id(), NOW), count())
    key = history_key(redis_prefix, DEVICE)
    assert 3590 <= redis_server.ttl(key) <= 3600
    longer = CapCount(DEVICE, ((f"c:{CAMPAIGN}", NOW - 3600, 3),), ttl_seconds=86_400)
    store.record(impression(new_ad_serving_id(), NOW + 1), longer)
    assert redis_server.ttl(key) > 86_000  # the longest window of what it holds
    store.record(impression(new_ad_serving_id(), NOW + 2), count())
    assert redis_server.ttl(key) > 86_000  # a shorter one never shortens it
    assert redis_server.hget(key, f"c:{CAMPAIGN}") == f"{NOW:.0f} {NOW + 1:.0f} {NOW + 2:.0f}".encode()


def test_a_repeat_no_longer_capped_is_routed_by_its_device_and_counts_once(store):
    """The catalog may stop capping between an impression and its repeat (the campaign ended): the repeat
    then has no count, but its token's device key still routes it to the shard that saw it."""
    ad = new_ad_serving_id()
    assert store.record(impression(ad, NOW), count()) is True
    assert store.record(impression(ad, NOW + 1), None, DEVICE) is False
