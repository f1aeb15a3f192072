"""The event store's key layout (app.tracking.shards): one shard keeps the keys of a store without shards,
several put every key of a write under its shard's hash tag."""

import pytest
from redis.crc import key_slot

from app.settings import Settings, SettingsError
from app.tracking.frequency import history_key
from app.tracking.shards import Shards


def test_one_shard_on_one_redis_keeps_the_keys_as_they_were():
    shards = Shards("adserver:")
    assert shards.streams() == ["adserver:events"]
    assert shards.key(shards.of("ad-1"), "seen:ad-1") == "adserver:seen:ad-1"
    assert shards.history_key("device") == history_key("adserver:", "device") == "adserver:cap:device"
    assert shards.answer_key("r-1") == "adserver:answer:r-1"


def test_a_cluster_tags_even_one_shard():
    assert Shards("adserver:", tagged=True).streams() == ["adserver:{e0}events"]


def test_every_key_of_a_shard_is_in_its_streams_slot():
    shards = Shards("adserver:", 6)
    assert len({key_slot(stream.encode()) for stream in shards.streams()}) == 6
    for route in ("device-1", "ad-2", "request-3"):
        shard = shards.of(route)
        slot = key_slot(shards.streams()[shard].encode())
        assert key_slot(shards.key(shard, f"seen:{route}").encode()) == slot
        assert key_slot(shards.key(shard, "spend:campaign").encode()) == slot
    assert key_slot(shards.history_key("device-1").encode()) == key_slot(
        shards.streams()[shards.of("device-1")].encode()
    )
    assert key_slot(shards.answer_key("request-3").encode()) == key_slot(
        shards.streams()[shards.of("request-3")].encode()
    )


@pytest.mark.parametrize("primaries", [2, 3, 4, 6])
@pytest.mark.parametrize("per_primary", [1, 2, 4])
def test_a_multiple_of_the_primaries_puts_as_many_shards_on_each(primaries, per_primary):
    """Primaries hold equal contiguous ranges of the 16,384 slots, as ElastiCache and redis-cli lay them out
    (the boundaries rounded either way)."""
    shards = Shards("adserver:", primaries * per_primary)
    for rounding in (0, 1):
        bounds = [n * 16384 // primaries + rounding for n in range(1, primaries)]
        held = [
            sum(slot >= bound for bound in bounds)
            for slot in map(key_slot, map(str.encode, shards.streams()))
        ]
        assert sorted(held) == [p for p in range(primaries) for _ in range(per_primary)]


def test_shard_tags_stay_what_they_were():
    assert Shards("p:", tagged=True).tags == ["{e0}"]
    assert Shards("p:", 3).tags == ["{e0-2}", "{e1-3}", "{e2-3}"]  # the keys of a running cluster


def test_routes_spread_over_every_shard_the_same_way_each_time():
    shards = Shards("p:", 4)
    assert {shards.of(f"ad-{n}") for n in range(200)} == {0, 1, 2, 3}
    assert [Shards("p:", 4).of(f"ad-{n}") for n in range(50)] == [shards.of(f"ad-{n}") for n in range(50)]


def test_a_prefix_holding_a_brace_or_no_shard_is_refused():
    with pytest.raises(ValueError):
        Shards("a{b}:", 2)
    with pytest.raises(ValueError):
        Shards("p:", 0)
    with pytest.raises(SettingsError):
        Settings(event_shards=3, redis_key_prefix="a{b}:")
    with pytest.raises(SettingsError):
        Settings(event_shards=0)
    with pytest.raises(SettingsError):
        Settings(redis_cluster=2)


def test_the_admin_side_on_a_cluster_needs_a_redis_for_its_jobs():
    with pytest.raises(SettingsError, match="JOBS_REDIS_URL"):
        Settings(redis_url="redis://cluster:6379", redis_cluster=1)
    assert Settings(
        redis_url="redis://c:6379", redis_cluster=1, jobs_redis_url="redis://j:6379"
    ).jobs_redis == ("redis://j:6379")
    assert Settings(redis_url="redis://one:6379").jobs_redis == "redis://one:6379"
