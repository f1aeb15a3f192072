"""The event store on a real Redis Cluster of the test's own (3 primaries with a replica each, on loopback):
every script's keys in one slot, shards spread over every primary, and a primary killed with its replica
promoted losing no acknowledged beacon when REDIS_WAIT_REPLICAS=1."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from redis.cluster import RedisCluster

from app import create_app, migrate
from app.db import get_session
from app.serving.caps import FrequencyCaps
from app.serving.pacing import Delivered
from app.serving.streams import StreamMemory
from app.tracking import events as events_module
from app.tracking.events import AD_REQUEST, Event, RedisEventStore, StoreUnavailable, decode_entry
from app.tracking.frequency import CapCount
from app.tracking.test_traffic import RedisTestCounts
from harness.servers import RedisClusterServers, wait_until
from tests import factories
from tests.conftest import REDIS_URL, _with_admin
from tests.factories import CreativeFactory
from tests.integration.test_event_faults import counted, drain
from tests.serving_helpers import ad_urls, get_vast, refresh

pytestmark = pytest.mark.xdist_group("redis-cluster")

CAMPAIGN = str(uuid.uuid4())
NOW = time.time()


@pytest.fixture
def redis_cluster(tmp_path):
    """A cluster of the test's own, for a test that kills nodes."""
    servers = RedisClusterServers(tmp_path / "cluster").start()
    yield servers
    servers.stop()


@pytest.fixture(scope="module")
def shared_cluster(tmp_path_factory):
    """One cluster for the tests that leave every node up (each under a key prefix of its own)."""
    servers = RedisClusterServers(tmp_path_factory.mktemp("cluster")).start()
    yield servers
    servers.stop()


def cluster_client(servers: RedisClusterServers) -> RedisCluster:
    return RedisCluster.from_url(servers.url, socket_timeout=2, socket_connect_timeout=2)


def impression(ad: str, cost: int = 10) -> Event:
    return Event("impression", ad, campaign_id=CAMPAIGN, occurred_at=NOW, cost_units=cost)


def test_the_store_spreads_its_shards_over_every_primary(shared_cluster):
    client = cluster_client(shared_cluster)
    store = RedisEventStore(client, "spread:", dedupe_seconds=60, shards=6)
    assert len({client.get_node_from_key(stream).name for stream in store.streams}) == 3
    devices = [f"device-{n}" for n in range(12)]
    caps = [CapCount(device, ((f"c:{CAMPAIGN}", NOW - 3600, 5),), ttl_seconds=3600) for device in devices]
    ads = [f"ad-{n}" for n in range(30)]
    for n, ad in enumerate(ads):
        assert store.record(impression(ad), caps[n % len(caps)]) is True
        assert store.record(impression(ad), caps[n % len(caps)]) is False  # a repeat, in the same shard
        assert store.record(Event("complete", ad, campaign_id=CAMPAIGN, occurred_at=NOW)) is True
        assert store.record(Event("complete", ad, campaign_id=CAMPAIGN, occurred_at=NOW)) is False
    # every primary took writes
    lengths = {client.get_node_from_key(stream).name: 0 for stream in store.streams}
    for stream in store.streams:
        lengths[client.get_node_from_key(stream).name] += client.xlen(stream)
    assert len(lengths) == 3 and all(lengths.values()), lengths
    campaign = uuid.UUID(CAMPAIGN)
    assert store.spend([campaign]) == {campaign: 300}
    assert store.delivery([campaign], NOW) == {campaign: Delivered(0, 30, 300, 30)}
    # the catalog seeds from the database: the shards' sum raised to it, never lowered
    store.seed_spend({campaign: 1000})
    store.seed_delivery({campaign: Delivered(0, 40, 1000, 40)}, NOW)
    assert store.spend([campaign]) == {campaign: 1000}
    assert store.delivery([campaign], NOW) == {campaign: Delivered(0, 40, 1000, 40)}
    store.seed_spend({campaign: 10})
    assert store.spend([campaign]) == {campaign: 1000}
    # a device's history is one key, read with a stream's separation hash (another slot) in one pipeline
    frequency = FrequencyCaps("test-secret-key-that-is-long-enough-0123456789", client, store.shards, None)
    streams = StreamMemory(client, "cl:stream:", window_seconds=600)
    shown, history = frequency.read(streams, "stream-1", "device-0")
    assert shown == frozenset() and len(history[f"c:{CAMPAIGN}"]) == 3  # ads 0, 12 and 24
    # an SDK answer and its request: one step, in the request's shard
    request = Event(AD_REQUEST, "req-1", request_id="req-1", payload='{"duration": 30}')
    assert store.remember_answer("req-1", "first", 60, request) is None
    assert store.remember_answer("req-1", "second", 60, request) == "first"
    assert store.answer("req-1") == "first"
    assert frequency.answer_and_history(store, "req-1", "device-0")[0] == "first"
    # the flusher's side: every shard read through one consumer group, acknowledged per stream
    read = []
    while batch := store.read_batch("flusher-1", 25, 0):
        read += batch
        store.ack([entry_id for entry_id, _ in batch])
    assert len(read) == 61 and store.pending() == 0
    assert sorted(e.ad_serving_id for _, e in read if e.name == "impression") == sorted(ads)


def test_entries_of_a_dead_flusher_are_claimed_from_every_shard(shared_cluster, monkeypatch):
    client = cluster_client(shared_cluster)
    store = RedisEventStore(client, "claim:", dedupe_seconds=60, shards=3)
    for n in range(20):
        store.record(impression(f"ad-{n}"))
    taken = store.read_batch("dead", 100, 0)
    assert len(taken) == 20 and {entry_id.split("/")[0] for entry_id, _ in taken} == {"0", "1", "2"}
    monkeypatch.setattr(events_module, "CLAIM_IDLE_MS", 0)
    claimed = store.read_batch("alive", 100, 0)
    assert sorted(entry_id for entry_id, _ in claimed) == sorted(entry_id for entry_id, _ in taken)
    store.ack([entry_id for entry_id, _ in claimed])
    assert store.pending() == 0


def app_on(servers: RedisClusterServers, make_postgres_database, make_settings, **settings):
    """The app (committed PostgreSQL) on the cluster, 3 event shards, WAIT for one replica; its transcode
    queue on the single Redis (rq needs one without cluster mode)."""
    url = make_postgres_database("adserver_cluster")
    migrate.upgrade(url)
    _with_admin(url)
    settings = make_settings(
        database_url=url,
        redis_url=servers.url,
        redis_cluster=1,
        event_shards=3,
        redis_wait_replicas=1,
        jobs_redis_url=REDIS_URL,
        **settings,
    )
    app = create_app(settings)
    runtime = app.extensions["runtime"]
    assert isinstance(runtime.store.client, RedisCluster)
    runtime.flusher.block_ms = 0
    runtime.start(background=False)
    with app.app_context():
        factories.bind(get_session())
        CreativeFactory()
    refresh(app)
    return app


@pytest.fixture
def cluster_app(make_postgres_database, make_settings, redis_cluster):
    app = app_on(redis_cluster, make_postgres_database, make_settings)
    yield app
    app.extensions["database"].dispose()


def test_transcode_jobs_go_to_their_own_redis_beside_the_cluster(
    shared_cluster, make_postgres_database, make_settings, redis_server, redis_prefix
):
    app = app_on(shared_cluster, make_postgres_database, make_settings, redis_key_prefix=redis_prefix)
    queue = f"rq:queue:{redis_prefix}transcode"
    try:
        app.extensions["runtime"].transcoder.submit(uuid.uuid4())
        assert redis_server.llen(queue) == 1
    finally:
        redis_server.delete(queue)
        app.extensions["database"].dispose()


def test_the_app_serves_counts_and_flushes_on_the_cluster(
    shared_cluster, make_postgres_database, make_settings
):
    app = app_on(shared_cluster, make_postgres_database, make_settings)
    runtime = app.extensions["runtime"]
    assert runtime.redis_safety.check() == {}  # every primary durable, with its replica online
    client = app.test_client()
    ads = [ad_urls(get_vast(client)) for _ in range(12)]
    for urls in ads:
        for event in ("impression", "complete"):
            assert client.get(urls[event]).headers["X-Beacon"] == "counted"
            assert client.get(urls[event]).headers["X-Beacon"] == "duplicate"
    answer = client.post("/api/v1/ad-request", json={"request_id": "sdk-1", "duration": 30})
    assert answer.status_code == 200
    assert client.post("/api/v1/ad-request", json={"request_id": "sdk-1", "duration": 30}).json == answer.json
    assert client.post("/api/v1/impression", json={"request_id": "sdk-1"}).json["counted"] is True
    assert client.post("/api/v1/impression", json={"request_id": "sdk-1"}).json["counted"] is False
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json
    drain(runtime.flusher)
    assert counted(app, "impression") == 13 and counted(app, "complete") == 12
    assert runtime.fallback_writes == 0  # all through the cluster
    refresh(app)
    assert sum(runtime.store.spend(list(runtime.catalog.current().catalog.campaigns)).values()) > 0
    app.extensions["database"].dispose()


def test_a_primary_killed_and_its_replica_promoted_loses_no_acknowledged_beacon(cluster_app, redis_cluster):
    app = cluster_app
    store = app.extensions["runtime"].store
    client = app.test_client()
    ads = [ad_urls(get_vast(client)) for _ in range(150)]
    answers: list[tuple[str, int]] = []
    lock = threading.Lock()
    next_ad = iter(ads)

    def player() -> None:
        own = app.test_client()
        for urls in next_ad:
            status = own.get(urls["impression"]).status_code
            with lock:
                answers.append((urls["impression"], status))
            time.sleep(0.02)

    players = [threading.Thread(target=player) for _ in range(4)]
    for thread in players:
        thread.start()
    wait_until(lambda: len(answers) >= 30, 30, what="beacons before the fault")
    victim_port = store.client.get_node_from_key(store.streams[0]).port
    victim = redis_cluster.node_of(int(victim_port))
    victim.kill()  # SIGKILL, its replica promoted after the node timeout
    for thread in players:
        thread.join(60)
    wait_until(lambda: victim not in redis_cluster.primaries() and len(redis_cluster.primaries()) == 3, 30)
    statuses = [status for _, status in answers]
    assert len(statuses) == 150 and set(statuses) <= {204, 503}, sorted(set(statuses))
    acknowledged = statuses.count(204)
    assert acknowledged >= 30
    assert app.extensions["runtime"].fallback_writes > 0  # the fault bit: the lost shard's writes went around
    # every shard's stream readable again, on the promoted replica too
    wait_until(_streams_answer(store), 30, what="every stream served")
    drain(app.extensions["runtime"].flusher)
    assert store.pending() == 0
    assert counted(app, "impression") == acknowledged


def _streams_answer(store: RedisEventStore):
    def check() -> bool:
        try:
            store.pending()
            return True
        except redis.RedisError:
            store.client.nodes_manager.initialize()
            return False

    return check


def test_a_shard_refuses_what_no_replica_took(redis_cluster):
    """A primary without its replica: WAIT comes back short and that shard's beacons are refused (the
    caller answers 503, or writes them to the database), the other shards' are acknowledged."""
    client = cluster_client(redis_cluster)
    store = RedisEventStore(client, "cl:", dedupe_seconds=60, shards=3, wait_replicas=1)
    lonely = client.get_node_from_key(store.streams[0])
    replicas = [
        node
        for node in redis_cluster.nodes
        if f"master_port:{lonely.port}" in redis_cluster._info(node, "info", "replication")
    ]
    for replica in replicas:
        replica.kill()
    wait_until(
        lambda: "connected_slaves:0" in redis_cluster._info(redis_cluster.node_of(lonely.port), "info"), 10
    )
    ads = [f"ad-{n}" for n in range(30)]
    with ThreadPoolExecutor(len(ads)) as pool:  # together, in a few batches: each short WAIT takes 1 s
        outcomes = list(pool.map(lambda ad: _outcome(store, ad), ads))
    results = dict(zip(ads, outcomes, strict=True))
    for ad, result in results.items():
        shard = store.shards.of(ad)
        on_lonely = client.get_node_from_key(store.streams[shard]).name == lonely.name
        assert result is (None if on_lonely else True), (ad, shard)
    kept = [decode_entry(fields[b"e"]).ad_serving_id for s in store.streams for _, fields in client.xrange(s)]
    assert {ad for ad, result in results.items() if result} <= set(kept)
    assert None in results.values() and True in results.values()


def _outcome(store: RedisEventStore, ad: str) -> bool | None:
    """True if acknowledged as counted, None if refused."""
    try:
        return store.record(impression(ad))
    except StoreUnavailable:
        return None


def test_console_test_counts_share_one_slot_on_the_cluster(shared_cluster):
    counts = RedisTestCounts(cluster_client(shared_cluster), "tc:")
    campaign = uuid.uuid4()
    assert counts.count("ad-1", campaign, "impression") is True
    assert counts.count("ad-1", campaign, "impression") is False
    assert counts.counts(campaign) == {"impression": 1}
