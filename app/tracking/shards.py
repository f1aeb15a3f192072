"""Event shards: the Redis keys that one record-script call touches, all in one hash slot.

A Redis script may only touch keys of one hash slot on Redis Cluster (https://redis.io/docs/latest/
operate/oss_and_stack/reference/cluster-spec/, "Hash tags": only the part of a key between its first `{`
and the next `}` is hashed). The event store therefore splits its keys into `EVENT_SHARDS` shards, each
with a hash tag `{eN}` (or `{eN-j}`: `shard_tag`) after the key prefix, and sends every write to one shard:

- shard `N` holds the stream `<prefix>{eN}events`, the seen-hashes `<prefix>{eN}seen:<ad serving id>`,
  the live spend `<prefix>{eN}spend:<campaign>` and delivery `<prefix>{eN}delivery:<campaign>` of what
  it counted (readers sum the shards: app.tracking.events), the device histories
  `<prefix>{eN}cap:<device>` (app.tracking.frequency) and the SDK answers `<prefix>{eN}answer:<request>`;
- a write's shard comes from what every repeat of it carries, so a repeat meets its seen-hash: the device
  key of an impression's beacon token when it has one (so each device's history is one key, read in the
  request's one round trip: app.serving.caps), else the ad serving id; an SDK answer and its ad request
  by the request id (`route`, `Shards.of`).

With one shard on a single Redis (`EVENT_SHARDS=1`, `REDIS_CLUSTER=0`, the defaults) the tag is empty and
the keys are those of a store without shards (`<prefix>events`, `<prefix>seen:...`). On a cluster use a
multiple of its primaries: each primary then holds as many shards as the others (docs/scaling.md).
Changing EVENT_SHARDS moves writes between shards: stop the writers and let the flusher drain first
(app.tracking.flusher reads only the streams of the shards it knows).
"""

from __future__ import annotations

import functools
import itertools
import zlib

import redis
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot
from redis.exceptions import RedisClusterException

from app.tracking.frequency import history_key

# What a Redis call may raise: redis-py's cluster client also raises RedisClusterException, which is not a
# RedisError (a slot not covered while a failover is under way, for one).
REDIS_ERRORS = (redis.RedisError, RedisClusterException)


class Shards:
    """The key layout of `count` shards under `prefix`; `tagged` forces hash tags with one shard (a
    cluster). Raises ValueError for a count below 1 or a prefix with a `{` (it would be the hash tag)."""

    __slots__ = ("count", "prefix", "tags")

    def __init__(self, prefix: str, count: int = 1, *, tagged: bool = False):
        if count < 1:
            raise ValueError("EVENT_SHARDS must be at least 1")
        if "{" in prefix and (tagged or count > 1):
            raise ValueError("REDIS_KEY_PREFIX must not hold '{' with hash-tagged keys")
        self.prefix = prefix
        self.count = count
        self.tags = [""] if count == 1 and not tagged else [shard_tag(n, count) for n in range(count)]

    def of(self, route: str) -> int:
        """The shard of a write routed by `route` (a device key, ad serving id or request id)."""
        if self.count == 1:
            return 0
        return zlib.crc32(route.encode("utf-8", "surrogatepass")) % self.count

    def key(self, shard: int, name: str) -> str:
        """`<prefix><tag of shard><name>`, e.g. key(2, 'events') -> 'adserver:{e2}events'."""
        return f"{self.prefix}{self.tags[shard]}{name}"

    def streams(self) -> list[str]:
        return [self.key(shard, "events") for shard in range(self.count)]

    def history_key(self, device: str) -> str:
        """A device's frequency-cap history (app.tracking.frequency), in its device's shard."""
        return history_key(self.prefix + self.tags[self.of(device)], device)

    def answer_key(self, request_id: str) -> str:
        """An SDK request's stored answer, in its request's shard."""
        return self.key(self.of(request_id), f"answer:{request_id}")


@functools.cache
def shard_tag(shard: int, count: int) -> str:
    """The hash tag of shard `shard` of `count`: `{eN}`, or `{eN-j}` with the smallest j whose hash slot
    falls in the middle half of the shard's share of the 16,384 slots (shard N of `count`: from N/count to
    (N+1)/count). A cluster's primaries hold equal contiguous ranges of slots (ElastiCache's and
    `redis-cli --cluster create`'s layout), so with `count` a multiple of the primaries each holds as many
    shards; the bare `{eN}` tags bunch (CRC16: six fell 4/1/1 over three primaries)."""
    if count == 1:
        return "{e0}"
    low, high = shard * REDIS_CLUSTER_HASH_SLOTS // count, (shard + 1) * REDIS_CLUSTER_HASH_SLOTS // count
    margin = (high - low) // 4
    names = (f"e{shard}-{attempt}" if attempt else f"e{shard}" for attempt in itertools.count())
    name = next(name for name in names if low + margin <= key_slot(name.encode()) < high - margin)
    return f"{{{name}}}"
