"""Group commit against real Redis: many concurrent beacons share round trips and each is counted exactly
once, retries included; a write that fails alone fails no other of its call; a failed round trip fails each
of its writes; WAIT covers each batch; the SDK answer and its request are one script."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid

import pytest
import redis

from app.tracking.events import AD_REQUEST, Event, RedisEventStore, StoreUnavailable
from app.tracking.frequency import CapCount, decode_history, history_key
from app.tracking.record_script import Write
from app.tracking.signing import new_ad_serving_id
from harness.servers import wait_until

CAMPAIGN = str(uuid.uuid4())
NOW = 1_800_000_000.0


@pytest.fixture
def store(redis_server, redis_prefix) -> RedisEventStore:
    return RedisEventStore(redis_server, redis_prefix, dedupe_seconds=3600)


def impression(ad_serving_id: str, cost_units: int = 10) -> Event:
    return Event(
        "impression", ad_serving_id, CAMPAIGN, str(uuid.uuid4()), occurred_at=NOW, cost_units=cost_units
    )


def concurrently(calls: list) -> list:
    """Each call in a thread of its own, all started together; their results (or exceptions) in order."""
    results: list = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = calls[index]()
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def spend(store: RedisEventStore) -> int:
    return store.spend([uuid.UUID(CAMPAIGN)]).get(uuid.UUID(CAMPAIGN), 0)


def test_concurrent_beacons_share_round_trips_and_retries_count_once(store):
    ads = [new_ad_serving_id() for _ in range(40)]
    # Every beacon sent three times at once, as players retrying after a timeout would.
    results = concurrently([lambda ad=ad: store.record(impression(ad)) for ad in ads * 3])
    assert not [result for result in results if isinstance(result, Exception)]
    assert sum(results) == len(ads)
    for ad in ads:
        assert [counted for a, counted in zip(ads * 3, results, strict=True) if a == ad].count(True) == 1
    assert store.pending() == len(ads)
    assert spend(store) == 10 * len(ads)
    assert store.commits.round_trips < len(ads) * 3  # shared: fewer round trips than beacons


GREENLETS = """
from gevent import monkey

monkey.patch_all()
import json, sys, uuid

import gevent, redis

from app.tracking.events import Event, RedisEventStore

url, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = RedisEventStore(redis.Redis.from_url(url), prefix, dedupe_seconds=3600)
campaign = str(uuid.uuid4())
ads = [uuid.uuid4().hex for _ in range(count)]
beacons = [
    gevent.spawn(store.record, Event("impression", ad, campaign, None, cost_units=1)) for ad in ads * 2
]
gevent.joinall(beacons, raise_error=True)
print(json.dumps({"counted": sum(b.value for b in beacons), "round_trips": store.commits.round_trips,
                  "pending": store.pending()}))
"""


def test_many_greenlets_of_a_gevent_worker(redis_server, redis_prefix):
    """As under gunicorn's gevent workers: monkey-patched, the committer is a greenlet."""
    url = "redis://{host}:{port}/{db}".format(**redis_server.connection_pool.connection_kwargs)
    done = subprocess.run(
        [sys.executable, "-c", GREENLETS, url, redis_prefix, "300"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["counted"] == 300  # each of the 300 ads once, its copy a repeat
    assert figures["pending"] == 300
    assert figures["round_trips"] <= 10  # 600 beacons: the first alone, the rest in batches behind it


def test_a_bad_write_fails_alone_and_writes_nothing(store, redis_server, redis_prefix):
    good, bad, other = new_ad_serving_id(), new_ad_serving_id(), new_ad_serving_id()
    redis_server.set(f"{redis_prefix}seen:{bad}", "not a hash")  # the bad event's seen-hash is a string
    writes = []
    for ad in (good, bad, other):
        keys, args = store._event_write(impression(ad), 0)
        writes.append(Write("e", tuple(keys), tuple(args)))
    results = store.script.send(writes)
    assert results[0] == results[2] == 1
    assert isinstance(results[1], redis.ResponseError)
    assert "holds a string, not a hash" in str(results[1])
    assert store.pending() == 2 and spend(store) == 20  # nothing of the bad one
    # Through the store: the bad one is refused (the beacon path then writes it to the database).
    with pytest.raises(StoreUnavailable, match="not a hash"):
        store.record(impression(bad))
    assert store.record(impression(new_ad_serving_id())) is True


def test_a_frequency_cap_history_is_written_with_its_impression(store, redis_server, redis_prefix):
    count = CapCount("device-1", ((f"c:{CAMPAIGN}", NOW - 3600, 2),), ttl_seconds=3600)
    ad = new_ad_serving_id()
    assert concurrently([lambda: store.record(impression(ad), count)] * 4).count(True) == 1
    history = decode_history(redis_server.hgetall(history_key(redis_prefix, "device-1")))
    assert history == {f"c:{CAMPAIGN}": (NOW,)}


def test_a_failed_round_trip_fails_each_of_its_beacons(redis_process, redis_prefix):
    store = RedisEventStore(
        redis.Redis.from_url(redis_process.url, socket_timeout=2), redis_prefix, dedupe_seconds=60
    )
    assert store.record(impression(new_ad_serving_id())) is True
    redis_process.kill()
    ads = [new_ad_serving_id() for _ in range(20)]
    results = concurrently([lambda ad=ad: store.record(impression(ad)) for ad in ads])
    assert all(isinstance(result, StoreUnavailable) for result in results)
    redis_process.start()
    # Nothing was acknowledged, so the players' retries count each one now, once.
    assert concurrently([lambda ad=ad: store.record(impression(ad)) for ad in ads * 2]).count(True) == 20


def test_wait_covers_each_batch(start_redis, redis_prefix):
    primary = start_redis()
    client = redis.Redis.from_url(primary.url)
    store = RedisEventStore(client, redis_prefix, dedupe_seconds=60, wait_replicas=1)
    ads = [new_ad_serving_id() for _ in range(10)]
    # No replica: WAIT comes back short, and no beacon of the batch is acknowledged.
    results = concurrently([lambda ad=ad: store.record(impression(ad)) for ad in ads])
    assert all(isinstance(result, StoreUnavailable) for result in results)
    assert "replicas took the batch" in str(results[0])
    replica = start_redis("--replicaof", "127.0.0.1", str(primary.port))
    online = lambda: client.info("replication").get("slave0", {}).get("state") == "online"  # noqa: E731
    wait_until(online, 10, what="a replica in sync")
    more = [new_ad_serving_id() for _ in range(10)]
    assert concurrently([lambda ad=ad: store.record(impression(ad)) for ad in more]) == [True] * 10
    assert redis.Redis.from_url(replica.url).xlen(store.stream) == store.pending()


def test_the_sdk_answer_and_its_request_are_one_step(store):
    def ask(answer: str):
        request = Event(AD_REQUEST, "nofill-req-1", request_id="req-1", payload='{"duration": 30}')
        return lambda: store.remember_answer("req-1", answer, 60, request)

    results = concurrently([ask(f"answer {n}") for n in range(12)])
    ours = [n for n, result in enumerate(results) if result is None]
    assert len(ours) == 1  # one answer stored, and only its request recorded
    assert set(results) - {None} == {f"answer {ours[0]}"}
    assert store.answer("req-1") == f"answer {ours[0]}"
    entries = store.read_batch("test", 10, 0)
    assert [event.request_id for _, event in entries] == ["req-1"]
