"""The serving runtime of one worker: event store, catalog, beacon signer, counters and flusher.

Built by create_app() without any I/O; `start()` begins the background loops (catalog refresh, serving
counts, in-process flusher, transcoder). gunicorn's `post_worker_init` calls it; otherwise the first serving
request does.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time

import redis
from flask import Flask, current_app
from redis.cluster import RedisCluster

from app.creatives.storage import Storage
from app.db import Database
from app.metrics import FALLBACK_WRITES, REGION_DATABASE
from app.serving.caps import FrequencyCaps
from app.serving.catalog import Catalog, CatalogService, load_catalog
from app.serving.counts import ServingCounter
from app.serving.geo import RegionDatabase
from app.serving.preview import PreviewSigner
from app.serving.streams import StreamMemory
from app.serving.traffic import read_forecast
from app.serving.version import DatabaseVersion, RedisVersion, track_catalog_changes
from app.settings import Settings
from app.tracking.events import EventStore, MemoryEventStore, RedisEventStore
from app.tracking.flusher import Flusher
from app.tracking.redis_safety import RedisSafety
from app.tracking.shards import Shards
from app.tracking.signing import BeaconSigner
from app.tracking.stored_delivery import stored_delivery
from app.tracking.test_traffic import MemoryTestCounts, RedisTestCounts

log = logging.getLogger(__name__)

REDIS_OPTIONS = {"socket_timeout": 2, "socket_connect_timeout": 2, "health_check_interval": 30}


def redis_client(settings: Settings) -> redis.Redis | None:
    """The Redis client of REDIS_URL: a redis.cluster.RedisCluster with REDIS_CLUSTER=1 (it reads the slot
    map from the node the URL names and follows it), else a plain one; None without REDIS_URL."""
    if not settings.redis_url:
        return None
    if settings.redis_cluster:
        return RedisCluster.from_url(settings.redis_url, **REDIS_OPTIONS)
    return redis.Redis.from_url(settings.redis_url, **REDIS_OPTIONS)


class Runtime:
    def __init__(
        self, settings: Settings, database: Database, storage: Storage, redis_client: redis.Redis | None
    ):
        # A beacon is deduplicated for longer than its token is valid, clock skew included.
        dedupe_seconds = settings.beacon_ttl_seconds + 2 * settings.beacon_clock_skew_seconds + 3600
        self.store: EventStore
        if redis_client is not None:
            self.store = store = RedisEventStore(
                redis_client,
                settings.redis_key_prefix,
                dedupe_seconds=dedupe_seconds,
                wait_replicas=settings.redis_wait_replicas,
                shards=settings.event_shards,
            )
            version = RedisVersion(redis_client, settings.redis_key_prefix)
            shards = store.shards
        else:
            shards = Shards(settings.redis_key_prefix)
            self.store = MemoryEventStore(dedupe_seconds=dedupe_seconds)
            version = DatabaseVersion(database.sessions)
        track_catalog_changes(database.sessions, version)
        self.test_counts = (
            RedisTestCounts(redis_client, settings.redis_key_prefix)
            if redis_client is not None
            else MemoryTestCounts()
        )
        self.sessions = database.sessions
        self.storage = storage
        self.public_base_url = settings.public_base_url.rstrip("/") if settings.public_base_url else None
        self.answer_ttl_seconds = settings.beacon_ttl_seconds
        self.signer = BeaconSigner(
            settings.secret_key, settings.beacon_ttl_seconds, settings.beacon_clock_skew_seconds
        )
        self.previews = PreviewSigner(settings.secret_key)
        self.regions = RegionDatabase(settings.region_database_dir)  # memory-mapped, read on demand
        REGION_DATABASE.set(1 if self.regions.available else 0)
        self.duration_tolerance_seconds = settings.duration_tolerance_seconds
        self.unwrap_timeout_seconds = settings.unwrap_timeout_seconds
        self.raw_event_retention_days = settings.raw_event_retention_days
        self.over_delivery = settings.over_delivery_percent / 100
        self.hold_untranscoded = settings.untranscoded_creatives == "hold"
        self.catalog = CatalogService(
            self._load_catalog,
            version.read,
            self.store.spend,
            read_delivery=self.store.delivery,
            workers=settings.workers,
        )
        self.counter = ServingCounter(self.store)
        self.streams = StreamMemory(
            redis_client, f"{settings.redis_key_prefix}stream:", settings.separation_window_seconds
        )
        self.caps = FrequencyCaps(
            settings.secret_key,
            redis_client,
            shards,
            None if redis_client is not None else self.store.histories,
        )
        self.flusher = (
            Flusher.from_settings(self.store, database.sessions, settings)
            if settings.event_flusher == "inprocess"
            else None
        )
        self.redis_safety = RedisSafety(
            redis_client, settings.redis_wait_replicas, enforce=settings.app_env == "production"
        )
        # Transcode jobs (app.creatives.jobs.make_transcoder): set by the admin side (app.admin_side);
        # serving workers (APP_ROLE=serving) take no uploads and have none.
        self.transcoder = None
        self.fallback_writes = 0
        self._started = False
        self._lock = threading.Lock()

    def _load_catalog(self, version: int) -> Catalog:
        with self.sessions() as session:
            catalog = load_catalog(session, self.storage, version, self.hold_untranscoded)
            now = time.time()
            stored = stored_delivery(session, list(catalog.campaigns), now)
            # What pacing follows: the traffic learned from the serving counts, read with the catalog.
            catalog = dataclasses.replace(
                catalog, traffic=read_forecast(session), over_delivery=self.over_delivery
            )
        try:
            # Live spend and delivery never below what the database holds.
            self.store.seed_spend(
                {campaign_id: figures.spend_units for campaign_id, figures in stored.items()}
            )
            self.store.seed_delivery(stored, now)
        except Exception:  # the store being down must not stop the catalog; ranking keeps the last spend
            log.warning("live spend could not be seeded from the database", exc_info=True)
        return catalog

    def start(self, background: bool = True) -> None:
        """Load the catalog, then (background=True) start the loops. Tests pass False and drive the loops'
        single steps themselves (catalog.refresh, counter.push, flusher.flush_once)."""
        if self._started:
            return
        with self._lock:
            if self._started:
                return
            self.regions.warm()
            if background:
                self.redis_safety.start()
                self.streams.start()
                self.catalog.start()
                self.counter.start()
                if self.transcoder is not None:
                    self.transcoder.start()
                if self.flusher is not None:
                    self.flusher.start()
            else:
                self.redis_safety.check()
                self.catalog.refresh()
            self._started = True

    def stop(self) -> None:
        self.redis_safety.stop()
        self.streams.stop()
        self.catalog.stop()
        self.counter.stop()
        if self.transcoder is not None:
            self.transcoder.stop()
        if self.flusher is not None:
            self.flusher.stop()

    def count_fallback(self) -> None:
        self.fallback_writes += 1
        FALLBACK_WRITES.inc()


def init_app(app: Flask, runtime: Runtime) -> None:
    app.extensions["runtime"] = runtime


def runtime() -> Runtime:
    return current_app.extensions["runtime"]


def start_runtime() -> None:
    """before_request of the player-facing blueprints: a worker loads its catalog on its first request."""
    runtime().start()
