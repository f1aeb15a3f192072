"""Where counted events go: the one module that knows.

The beacon path calls `EventStore.record()`: with Redis, one atomic script dedupes the event (once per ad
serving id and event name), adds it to a stream, adds an impression's cost to its campaign's live spend, the
impression to its campaign's live delivery (in total, and the spend and impressions of its UTC day: pacing's
daily goals, app.serving.pacing) and to its device's frequency-cap history (app.tracking.frequency). The
writes of a worker's concurrent requests share their round trips (app.tracking.group_commit: one script call
carries every write that arrived while the previous one was in flight, app.tracking.record_script); each is
acknowledged once the call that made it returned.
The keys of one script call share a hash slot, so the store runs as it is on Redis Cluster: they are split
into `EVENT_SHARDS` shards (app.tracking.shards), each write goes to one shard and a batch is one call per
shard; live spend and delivery are kept per shard and summed by their readers (the catalog refresh, in the
background: app.serving.catalog).
The flusher (`app.tracking.flusher`) reads the streams into the database and acknowledges only what it
stored.
Without Redis (the embedded default) an in-process store keeps the same semantics for a single worker.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, fields
from itertools import islice
from typing import Protocol

import redis
from redis.cluster import RedisCluster

from app.metrics import STORE_ROUND_TRIPS, STORE_WRITES
from app.serving.pacing import Delivered, day_key
from app.tracking import normalise
from app.tracking.frequency import CapCount, MemoryHistories, history_key
from app.tracking.group_commit import CommitTimeout, GroupCommit
from app.tracking.record_script import COUNTED, RecordScript, Write
from app.tracking.shards import REDIS_ERRORS, Shards
from vast.events import ALL_EVENTS

log = logging.getLogger(__name__)

# Every event a player may fire at /t/<event>: impression, click and error have elements of their own; the
# rest are the Tracking@event values of every VAST version (vast.events), plus VAST 4.1's notUsed (§3.14.1,
# in the spec's event list though not in the 4.1/4.2 XSD enumerations).
BEACON_EVENTS = ("impression", "click", "error", *sorted(ALL_EVENTS | {"notUsed"}))
# Not beacons: what the serving path counts (ad requests of the JSON API, and per-worker serving totals).
AD_REQUEST = "ad_request"
SERVING_COUNTS = "serving_counts"
CONSUMER_GROUP = "flushers"
_EVENT_NAMES = frozenset((*BEACON_EVENTS, AD_REQUEST, SERVING_COUNTS))


class StoreUnavailable(RuntimeError):
    """The store could not take the event; the caller must not acknowledge it as counted."""


@dataclass(frozen=True, slots=True)
class Event:
    """One counted event. Built only with normalised fields (see `app.tracking.normalise`): what the event
    store accepts is exactly what the database will store."""

    name: str
    ad_serving_id: str
    campaign_id: str | None = None
    creative_id: str | None = None
    occurred_at: float = 0.0
    cost_units: int = 0
    error_code: str | None = None  # error events: the player's [ERRORCODE]
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    payload: str | None = None  # JSON, for serving counts and ad requests
    offset: str | None = None  # progress events: Tracking@offset
    pod_position: int = 0  # the ad's sequence in its pod, 0 for a single ad
    supply_tag: int = 0  # the supply tag its ad was requested through (app.supply), 0 for none

    def __post_init__(self) -> None:
        if self.name not in _EVENT_NAMES:
            raise ValueError(f"unknown event {self.name!r}")
        set_ = object.__setattr__
        ad_serving_id = normalise.text(self.ad_serving_id, 1024)
        if not ad_serving_id:
            raise ValueError("an event needs an ad serving id")
        if len(ad_serving_id) > normalise.MAX_AD_SERVING_ID:  # a digest keeps it unique and short
            ad_serving_id = "h-" + hashlib.sha256(ad_serving_id.encode()).hexdigest()[:60]
        set_(self, "ad_serving_id", ad_serving_id)
        set_(self, "campaign_id", normalise.uuid_text(self.campaign_id))
        set_(self, "creative_id", normalise.uuid_text(self.creative_id))
        set_(self, "occurred_at", normalise.timestamp(self.occurred_at))
        set_(self, "cost_units", normalise.units(self.cost_units) if self.name == "impression" else 0)
        set_(self, "error_code", normalise.error_code(self.error_code) if self.name == "error" else None)
        set_(self, "offset", normalise.offset(self.offset) if self.name == "progress" else None)
        set_(self, "ip", normalise.ip(self.ip))
        set_(self, "user_agent", normalise.user_agent(self.user_agent))
        set_(self, "request_id", normalise.text(self.request_id, normalise.MAX_REQUEST_ID))
        set_(self, "pod_position", normalise.position(self.pod_position))
        set_(self, "supply_tag", normalise.supply_tag(self.supply_tag))
        if self.name in (AD_REQUEST, SERVING_COUNTS):
            json.loads(self.payload)  # our own serving code writes it: anything else is a bug
        else:
            set_(self, "payload", None)

    @property
    def key(self) -> str:
        """What an event counts once by, per ad serving id: its name, and the code or offset that makes
        several of one name distinct (an ad may report several errors, and progress at several offsets)."""
        if self.error_code is not None:
            return f"{self.name}:{self.error_code}"
        if self.offset is not None:
            return f"{self.name}:{self.offset}"
        return self.name

    def encode(self) -> str:
        """One compact string per stream entry: the fields in order (cheaper to send than field pairs).
        ASCII only (escapes), so any entry can be kept verbatim in the dead-letter table."""
        return json.dumps([getattr(self, name) for name in _EVENT_FIELDS], separators=(",", ":"))

    @classmethod
    def decode(cls, text: str | bytes) -> Event:
        """Raises ValueError (or TypeError) for an entry that is not an event: the flusher dead-letters it."""
        values = json.loads(text)
        if not isinstance(values, list):
            raise ValueError("a stream entry must be a JSON list of event fields")
        return cls(*values)


_EVENT_FIELDS = tuple(field.name for field in fields(Event))


@dataclass(frozen=True, slots=True)
class Undecodable:
    """A stream entry that is not an event (corrupt, or written by something else): kept for the dead-letter
    table as it was, never a reason to stop the flusher."""

    raw: str
    error: str


def decode_entry(raw: str | bytes) -> Event | Undecodable:
    try:
        return Event.decode(raw)
    except Exception as exc:  # any failure to decode is this entry's alone
        text = raw.decode("utf-8", "backslashreplace") if isinstance(raw, bytes) else str(raw)
        return Undecodable(raw=text, error=f"{type(exc).__name__}: {exc}")


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


class EventStore(Protocol):
    def record(self, event: Event, cap: CapCount | None = None, device: str | None = None) -> bool:
        """True if counted now, False if already counted (a retry); raises StoreUnavailable. A new
        impression with `cap` is added to its device's frequency-cap history in the same step. `device`:
        the device key its beacon token carries (cap.device when `cap` is given), which every repeat of
        the impression carries too, so the store can route it (app.tracking.shards)."""

    def spend(self, campaign_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]: ...

    def seed_spend(self, spend: dict[uuid.UUID, int]) -> None:
        """Raise live spend to at least these (database) values, e.g. after a Redis restart."""

    def delivery(self, campaign_ids: list[uuid.UUID], now: float) -> dict[uuid.UUID, Delivered]:
        """Live impressions, and spend and impressions of `now`'s UTC day (spend_units left 0: see spend)."""

    def seed_delivery(self, delivered: dict[uuid.UUID, Delivered], now: float) -> None:
        """Raise live impressions and `now`'s day figures to at least these (database) values."""

    def read_batch(self, consumer: str, count: int, block_ms: int) -> list[tuple[str, Event | Undecodable]]:
        """Up to `count` entries not yet acknowledged, waiting up to `block_ms` for one."""

    def ack(self, entry_ids: list[str]) -> None: ...

    def pending(self) -> int: ...

    def remember_answer(self, request_id: str, answer: str, ttl_seconds: int, request: Event) -> str | None:
        """Store an ad-request answer unless one exists, and then record its `request` event (one step);
        return the existing answer (and record nothing). Raises StoreUnavailable."""

    def answer(self, request_id: str) -> str | None: ...


def _impression_day(event: Event) -> str:
    return day_key(event.occurred_at) if event.name == "impression" and event.campaign_id else ""


# ARGV[1] a read-only command (GET, HMGET), then its arguments after the key: its reply for each key of KEYS.
# EVAL, not EVALSHA: Redis keeps the compiled script, and a restart or failover cannot lose it mid-pipeline.
_READ_SCRIPT = """
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call(ARGV[1], key, unpack(ARGV, 2)) end
return out
"""
READ_CHUNK = 1_000  # keys per script call: each holds Redis about a millisecond

# KEYS: campaign delivery hashes. ARGV: triples of (field, value) pairs flattened, per key: 6 values each.
_SEED_DELIVERY_SCRIPT = """
for i, key in ipairs(KEYS) do
  for j = 0, 2 do
    local field, value = ARGV[(i - 1) * 6 + j * 2 + 1], tonumber(ARGV[(i - 1) * 6 + j * 2 + 2])
    if tonumber(redis.call('HGET', key, field) or '0') < value then redis.call('HSET', key, field, value) end
  end
end
return 1
"""

_SEED_SPEND_SCRIPT = """
for i, key in ipairs(KEYS) do
  local current = tonumber(redis.call('GET', key) or '0')
  if current < tonumber(ARGV[i]) then redis.call('SET', key, ARGV[i]) end
end
return 1
"""


class RedisEventStore:
    """The event store in Redis, its keys in `shards` event shards (app.tracking.shards); `cluster` when
    `client` is a redis.cluster.RedisCluster's (hash tags even with one shard)."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        *,
        dedupe_seconds: int,
        wait_replicas: int = 0,
        shards: int = 1,
    ):
        self.client = client
        self.prefix = prefix
        self.shards = Shards(prefix, shards, tagged=isinstance(client, RedisCluster))
        self.streams = self.shards.streams()
        self.stream = self.streams[0]
        self.dedupe_seconds = dedupe_seconds
        self.script = RecordScript(client, self.streams, dedupe_seconds, wait_replicas)
        self.commits = GroupCommit(self._send, name="event-store-commit")
        self._seed = client.register_script(_SEED_SPEND_SCRIPT)
        self._seed_delivery = client.register_script(_SEED_DELIVERY_SCRIPT)
        self._groups_ready: set[str] = set()
        self._key_starts = [self.shards.key(shard, "") for shard in range(shards)]

    def _spend_key(self, shard: int, campaign_id) -> str:
        return self.shards.key(shard, f"spend:{campaign_id}")

    def _delivery_key(self, shard: int, campaign_id) -> str:
        return self.shards.key(shard, f"delivery:{campaign_id}")

    def _event_write(self, event: Event, shard: int, cap: CapCount | None = None) -> tuple[list, list]:
        """An event's keys (in `shard`) and arguments in the record script (app.tracking.record_script)."""
        start = self._key_starts[shard]  # the beacon path: formatted here, without a call per key
        campaign = event.campaign_id
        keys = [
            f"{start}seen:{event.ad_serving_id}",
            f"{start}spend:{campaign}",
            f"{start}delivery:{campaign}",
        ]
        args = [event.key, event.cost_units, event.encode(), _impression_day(event)]
        if cap is not None and event.name == "impression":
            keys.append(history_key(start, cap.device))
            args += cap.script_args(event.occurred_at)
        return keys, args

    def _send(self, writes: list[Write]) -> list:
        STORE_ROUND_TRIPS.inc()
        STORE_WRITES.inc(len(writes))
        return self.script.send(writes)

    def _commit(self, write: Write):
        """The write's result, once the round trip that carried it returned (its batch's WAIT included)."""
        try:
            return self.commits.submit(write)
        except (*REDIS_ERRORS, CommitTimeout) as exc:
            raise StoreUnavailable(str(exc)) from exc

    def record(self, event: Event, cap: CapCount | None = None, device: str | None = None) -> bool:
        if cap is not None:
            device = cap.device
        shard = self.shards.of(device if device and event.name == "impression" else event.ad_serving_id)
        keys, args = self._event_write(event, shard, cap)
        return self._commit(Write("e", tuple(keys), tuple(args), shard)) == COUNTED

    def _per_shard(self, command: str, keys: list[list[str]], *args) -> list[list]:
        """`command` on each key of `keys` (a list per shard), in one pipeline: one round trip, one per
        primary on a cluster. The keys go by READ_CHUNK to a script that runs the command on each (a shard's
        keys share a slot): a pipeline of one command per key cost 20 µs a key, most of it in redis-py."""
        pipe = self.client.pipeline(transaction=False)
        for shard_keys in keys:
            for start in range(0, len(shard_keys), READ_CHUNK):
                chunk = shard_keys[start : start + READ_CHUNK]
                pipe.execute_command("EVAL", _READ_SCRIPT, len(chunk), *chunk, command, *args)
        replies = [value for chunk in pipe.execute() for value in chunk]
        found, at = [], 0
        for shard_keys in keys:
            found.append(replies[at : at + len(shard_keys)])
            at += len(shard_keys)
        return found

    def spend(self, campaign_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
        """Live spend in micro-units, summed over the shards; read by the catalog refresh, off the
        request path."""
        if not campaign_ids:
            return {}
        totals: dict[uuid.UUID, int] = {}
        for values in self._shard_spend(campaign_ids):
            for campaign_id, value in zip(campaign_ids, values, strict=True):
                if value:
                    totals[campaign_id] = totals.get(campaign_id, 0) + int(value)
        return totals

    def _shard_spend(self, campaign_ids: list) -> list[list]:
        if self.shards.count == 1 and not isinstance(self.client, RedisCluster):
            return [self.client.mget([self._spend_key(0, c) for c in campaign_ids])]
        keys = [[self._spend_key(shard, c) for c in campaign_ids] for shard in range(self.shards.count)]
        return self._per_shard("GET", keys)

    def seed_spend(self, spend: dict[uuid.UUID, int]) -> None:
        """Shard 0 is raised so that the shards' sum is at least the database's figure (one script, its
        keys in one slot); the other shards are read first when there are several."""
        if not spend:
            return
        others = [0] * len(spend)
        if self.shards.count > 1:
            for values in self._shard_spend(list(spend))[1:]:
                others = [total + int(value or 0) for total, value in zip(others, values, strict=True)]
        self._seed(
            keys=[self._spend_key(0, c) for c in spend],
            args=[units - other for units, other in zip(spend.values(), others, strict=True)],
        )

    def seed_delivery(self, delivered: dict[uuid.UUID, Delivered], now: float) -> None:
        """As seed_spend, for each figure of live delivery."""
        if not delivered:
            return
        day = day_key(now)
        others = [_NO_DELIVERY] * len(delivered)
        if self.shards.count > 1:
            for figures in self._shard_delivery(list(delivered), day)[1:]:
                others = [
                    _add(total, found or _NO_DELIVERY) for total, found in zip(others, figures, strict=True)
                ]
        args = []
        for figures, other in zip(delivered.values(), others, strict=True):
            args += ["impressions", figures.impressions - other.impressions]
            args += [f"impressions:{day}", figures.day_impressions - other.day_impressions]
            args += [f"spend:{day}", figures.day_spend_units - other.day_spend_units]
        self._seed_delivery(keys=[self._delivery_key(0, c) for c in delivered], args=args)

    def delivery(self, campaign_ids: list[uuid.UUID], now: float) -> dict[uuid.UUID, Delivered]:
        """Summed over the shards; read by the catalog refresh, off the request path."""
        found: dict[uuid.UUID, Delivered] = {}
        for figures in self._shard_delivery(campaign_ids, day_key(now)):
            for campaign_id, shard_figures in zip(campaign_ids, figures, strict=True):
                if shard_figures is not None:
                    found[campaign_id] = _add(found.get(campaign_id, _NO_DELIVERY), shard_figures)
        return found

    def _shard_delivery(self, campaign_ids: list, day: str) -> list[list[Delivered | None]]:
        """Per shard, per campaign: its figures there, None where the shard never counted it."""
        keys = [[self._delivery_key(shard, c) for c in campaign_ids] for shard in range(self.shards.count)]
        replies = self._per_shard("HMGET", keys, "impressions", f"spend:{day}", f"impressions:{day}")
        return [
            [
                None
                if impressions is None
                else Delivered(0, int(impressions), int(spend or 0), int(count or 0))
                for impressions, spend, count in shard_replies
            ]
            for shard_replies in replies
        ]

    def _ensure_group(self, stream: str) -> None:
        if stream in self._groups_ready:
            return
        try:
            self.client.xgroup_create(stream, CONSUMER_GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups_ready.add(stream)

    def read_batch(self, consumer: str, count: int, block_ms: int) -> list[tuple[str, Event | Undecodable]]:
        """Entries a dead consumer left pending come first (after `CLAIM_IDLE_MS`), then new ones; from
        every shard's stream, through one consumer group of the same name on each. An entry id is
        `<shard>/<stream id>` with several shards (ack takes them back), the stream id alone with one."""
        if self.shards.count == 1:
            found = self._claim_or_read(self.stream, consumer, count, block_ms or None)
            return [(_text(entry_id), decode_entry(fields.get(b"e", b""))) for entry_id, fields in found]
        entries: list[tuple[str, Event | Undecodable]] = []
        for shard, stream in enumerate(self.streams):
            if len(entries) < count:
                entries += self._shard_entries(
                    shard, self._claim_or_read(stream, consumer, count - len(entries))
                )
        if entries or not block_ms:
            return entries
        # Nothing in any shard: wait on each stream in turn for a share of block_ms (one XREADGROUP
        # cannot span the slots of a cluster).
        share = max(1, block_ms // self.shards.count)
        for shard, stream in enumerate(self.streams):
            entries = self._shard_entries(shard, self._claim_or_read(stream, consumer, count, share))
            if entries:
                break
        return entries

    @staticmethod
    def _shard_entries(shard: int, found: list) -> list[tuple[str, Event | Undecodable]]:
        return [
            (f"{shard}/{_text(entry_id)}", decode_entry(fields.get(b"e", b""))) for entry_id, fields in found
        ]

    def _claim_or_read(self, stream: str, consumer: str, count: int, block_ms: int | None = None) -> list:
        self._ensure_group(stream)
        try:
            _, claimed, _ = self.client.xautoclaim(
                stream, CONSUMER_GROUP, consumer, min_idle_time=CLAIM_IDLE_MS, start_id="0-0", count=count
            )
            entries = [entry for entry in claimed if entry[1]]
            if not entries:
                response = self.client.xreadgroup(
                    CONSUMER_GROUP, consumer, {stream: ">"}, count=count, block=block_ms
                )
                entries = response[0][1] if response else []
        except redis.ResponseError as exc:
            if "NOGROUP" in str(exc):  # Redis restarted empty: make the group again
                self._groups_ready.discard(stream)
                return []
            raise
        return entries

    def ack(self, entry_ids: list[str]) -> None:
        """Acknowledge and delete, per stream, in one pipeline."""
        by_stream: dict[str, list[str]] = {}
        for entry_id in entry_ids:
            shard, _, stream_id = entry_id.rpartition("/")
            by_stream.setdefault(self.streams[int(shard or 0)], []).append(stream_id)
        if not by_stream:
            return
        # One MULTI on a single Redis; a cluster refuses one across slots, where an entry acknowledged but
        # not deleted (XDEL failed) is only left in its stream, never read again.
        pipe = self.client.pipeline(transaction=not isinstance(self.client, RedisCluster))
        for stream, ids in by_stream.items():
            pipe.xack(stream, CONSUMER_GROUP, *ids)
            pipe.xdel(stream, *ids)
        pipe.execute()

    def pending(self) -> int:
        if len(self.streams) == 1:
            return int(self.client.xlen(self.stream))
        pipe = self.client.pipeline(transaction=False)
        for stream in self.streams:
            pipe.xlen(stream)
        return sum(int(length) for length in pipe.execute())

    def remember_answer(self, request_id: str, answer: str, ttl_seconds: int, request: Event) -> str | None:
        shard = self.shards.of(request_id)
        keys, args = self._event_write(request, shard)
        result = self._commit(
            Write("a", (self.answer_key(request_id), *keys), (answer, ttl_seconds, *args), shard)
        )
        return None if result == COUNTED else _text(result[0])

    def answer(self, request_id: str) -> str | None:
        try:
            value = self.client.get(self.answer_key(request_id))
        except REDIS_ERRORS as exc:
            raise StoreUnavailable(str(exc)) from exc
        return _text(value) if value is not None else None

    def answer_key(self, request_id: str) -> str:
        return self.shards.answer_key(request_id)


_NO_DELIVERY = Delivered(0, 0, 0, 0)


def _add(one: Delivered, other: Delivered) -> Delivered:
    return Delivered(
        0,
        one.impressions + other.impressions,
        one.day_spend_units + other.day_spend_units,
        one.day_impressions + other.day_impressions,
    )


CLAIM_IDLE_MS = 15_000


class MemoryEventStore:
    """The embedded default: one process, no Redis. Same semantics, with the process as the durability
    boundary (events not yet flushed to the database are lost if the process dies)."""

    def __init__(
        self, *, dedupe_seconds: int, max_seen: int = 1_000_000, max_answer_bytes: int = 64 * 1024 * 1024
    ):
        self.dedupe_seconds = dedupe_seconds
        self.max_seen = max_seen
        self.max_answer_bytes = max_answer_bytes  # SDK answers kept: the oldest go first past this
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._seen: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._entries: OrderedDict[str, Event] = OrderedDict()
        self._spend: dict[str, int] = {}
        self._impressions: dict[str, int] = {}
        self._day: dict[tuple[str, str], tuple[int, int]] = {}  # (campaign, day) -> (units, impressions)
        # request id -> (expiry on the monotonic clock, answer), oldest first (every answer has one TTL)
        self._answers: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._answer_bytes = 0
        self._sequence = 0
        self.histories = MemoryHistories()

    def record(self, event: Event, cap: CapCount | None = None, device: str | None = None) -> bool:
        now = time.monotonic()
        key = (event.ad_serving_id, event.key)
        with self._lock:
            self._forget_old(now)
            if key in self._seen:
                return False
            self._seen[key] = now
            self._sequence += 1
            self._entries[f"{self._sequence}-0"] = event
            self._arrived.notify_all()  # a flusher waiting in read_batch takes it now
            campaign = str(event.campaign_id)
            if event.cost_units:
                self._spend[campaign] = self._spend.get(campaign, 0) + event.cost_units
            day = _impression_day(event)
            if day:
                self._impressions[campaign] = self._impressions.get(campaign, 0) + 1
                units, impressions = self._day.get((campaign, day), (0, 0))
                self._day[campaign, day] = (units + event.cost_units, impressions + 1)
            if cap is not None and event.name == "impression":
                self.histories.add(cap, event.occurred_at)
        return True

    def _forget_old(self, now: float) -> None:
        while self._seen and (
            len(self._seen) > self.max_seen or next(iter(self._seen.values())) < now - self.dedupe_seconds
        ):
            self._seen.popitem(last=False)

    def spend(self, campaign_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
        with self._lock:
            return {c: self._spend[str(c)] for c in campaign_ids if str(c) in self._spend}

    def delivery(self, campaign_ids: list[uuid.UUID], now: float) -> dict[uuid.UUID, Delivered]:
        day = day_key(now)
        with self._lock:
            return {
                c: Delivered(0, self._impressions[str(c)], *self._day.get((str(c), day), (0, 0)))
                for c in campaign_ids
                if str(c) in self._impressions
            }

    def seed_delivery(self, delivered: dict[uuid.UUID, Delivered], now: float) -> None:
        day = day_key(now)
        with self._lock:
            for campaign_id, figures in delivered.items():
                campaign = str(campaign_id)
                self._impressions[campaign] = max(self._impressions.get(campaign, 0), figures.impressions)
                units, impressions = self._day.get((campaign, day), (0, 0))
                self._day[campaign, day] = (
                    max(units, figures.day_spend_units),
                    max(impressions, figures.day_impressions),
                )

    def seed_spend(self, spend: dict[uuid.UUID, int]) -> None:
        with self._lock:
            for campaign_id, units in spend.items():
                self._spend[str(campaign_id)] = max(self._spend.get(str(campaign_id), 0), units)

    def read_batch(self, consumer: str, count: int, block_ms: int) -> list[tuple[str, Event]]:
        """Like XREADGROUP BLOCK: waits up to block_ms for an entry when there is none."""
        with self._arrived:
            if not self._entries and block_ms:
                self._arrived.wait(block_ms / 1000)
            return list(islice(self._entries.items(), count))

    def ack(self, entry_ids: list[str]) -> None:
        with self._lock:
            for entry_id in entry_ids:
                self._entries.pop(entry_id, None)

    def pending(self) -> int:
        return len(self._entries)

    def remember_answer(self, request_id: str, answer: str, ttl_seconds: int, request: Event) -> str | None:
        """As Redis SET NX EX: answers expire after ttl_seconds, and the oldest are dropped first when
        they would pass max_answer_bytes or max_seen (a dropped answer is an unknown request_id)."""
        now = time.monotonic()
        with self._lock:
            self._forget_answers(now)
            existing = self._answers.get(request_id)
            if existing is not None:
                return existing[1]
            self._answers[request_id] = (now + ttl_seconds, answer)
            self._answer_bytes += len(request_id) + len(answer)
            while self._answers and (
                self._answer_bytes > self.max_answer_bytes or len(self._answers) > self.max_seen
            ):
                self._drop_oldest_answer()
        self.record(request)
        return None

    def _forget_answers(self, now: float) -> None:
        while self._answers and next(iter(self._answers.values()))[0] <= now:
            self._drop_oldest_answer()

    def _drop_oldest_answer(self) -> None:
        request_id, (_, answer) = self._answers.popitem(last=False)
        self._answer_bytes -= len(request_id) + len(answer)

    def answer(self, request_id: str) -> str | None:
        with self._lock:
            found = self._answers.get(request_id)
        return found[1] if found is not None and found[0] > time.monotonic() else None


def consumer_name(pid: int | None = None) -> str:
    """A flusher's name in the stream's consumer group: its host and process (this one by default)."""
    return f"{socket.gethostname()}-{pid or os.getpid()}"


def counts_event(counts: dict, worker: str, sequence: int) -> Event:
    """Per-worker serving totals (requests, fills, no-fills...) by hour and supply tag as one event; its id
    makes it count once."""
    return Event(
        name=SERVING_COUNTS,
        ad_serving_id=f"counts-{worker}-{sequence}",
        occurred_at=time.time(),
        payload=json.dumps(counts, separators=(",", ":")),
    )
