"""Test traffic (a console preview's ad, its tokens marked `t`, app.tracking.signing): its beacons are
verified as usual, then counted here, apart from delivery. Never in the event stream, so never billed, never
in reporting's figures, pacing, frequency caps or serving counts.

Counts per campaign and event, once per ad and event, kept for `KEEP_SECONDS` after the last one: in Redis
(one round trip a beacon) or in the process (the embedded default). On Redis Cluster every key of these
counts carries the hash tag `{test}` (one script touches an ad's seen-set and its campaign's counts, which
must then share a slot: app.tracking.shards); previews are few, so one slot holds them all.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict

import redis
from redis.cluster import RedisCluster

from app.tracking.events import StoreUnavailable

KEEP_SECONDS = 7 * 86400

# KEYS: 1 seen-set of the ad, 2 the campaign's counts hash. ARGV: 1 event key, 2 TTL.
_COUNT_SCRIPT = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1
"""


class RedisTestCounts:
    def __init__(self, client: redis.Redis, prefix: str):
        self.client = client
        self.prefix = prefix + ("{test}" if isinstance(client, RedisCluster) else "")
        self._count = client.register_script(_COUNT_SCRIPT)

    def count(self, ad_serving_id: str, campaign_id: uuid.UUID, event: str) -> bool:
        """Count the event once per ad; False for a repeat. Raises StoreUnavailable."""
        keys = [f"{self.prefix}test-seen:{ad_serving_id}", f"{self.prefix}test-counts:{campaign_id}"]
        try:
            return bool(self._count(keys=keys, args=[event, KEEP_SECONDS]))
        except redis.RedisError as exc:
            raise StoreUnavailable(str(exc)) from exc

    def counts(self, campaign_id: uuid.UUID) -> dict[str, int]:
        """Event name -> test beacons counted for the campaign (absent: none)."""
        try:
            raw = self.client.hgetall(f"{self.prefix}test-counts:{campaign_id}")
        except redis.RedisError as exc:
            raise StoreUnavailable(str(exc)) from exc
        return {name.decode(): int(value) for name, value in raw.items()}


class MemoryTestCounts:
    def __init__(self):
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[float, set[str]]] = {}
        self._counts: dict[uuid.UUID, tuple[float, dict[str, int]]] = {}

    def count(self, ad_serving_id: str, campaign_id: uuid.UUID, event: str) -> bool:
        now = time.monotonic()
        with self._lock:
            self._forget(now)
            seen = self._seen.setdefault(ad_serving_id, (now, set()))[1]
            if event in seen:
                return False
            seen.add(event)
            self._seen[ad_serving_id] = (now, seen)
            counts = self._counts.get(campaign_id, (now, defaultdict(int)))[1]
            counts[event] += 1
            self._counts[campaign_id] = (now, counts)
        return True

    def counts(self, campaign_id: uuid.UUID) -> dict[str, int]:
        with self._lock:
            return dict(self._counts.get(campaign_id, (0.0, {}))[1])

    def _forget(self, now: float) -> None:
        for table in (self._seen, self._counts):
            for key in [key for key, (at, _) in table.items() if at < now - KEEP_SECONDS]:
                del table[key]
