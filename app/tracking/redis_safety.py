"""Whether the Redis we are given can keep what we acknowledge: checked at start, by readiness and every
`RECHECK_SECONDS`, from `INFO` (which ElastiCache answers, unlike `CONFIG`).

A beacon's 2xx means stored for good. Redis holds it (in the event stream, with the dedupe hash that makes
a replay count once) until the flusher has moved it to the database, so Redis must:
- never evict: `maxmemory-policy noeviction` (any other policy evicts the stream, dedupe hashes or SDK
  answers under memory pressure; eviction then loses events or counts replays again);
- survive the loss of its node: replicas that hold each event before its 2xx (`REDIS_WAIT_REPLICAS` ≥ 1),
  or an append-only file synced on every write (`appendonly yes`, `appendfsync always`; read with
  `CONFIG GET` where allowed).

Fewer replicas connected than `REDIS_WAIT_REPLICAS` (a replica being replaced) is reported, not enforced:
each beacon then finds WAIT short and is written to the database directly, as when Redis is unreachable.

In production (`APP_ENV=production`) a Redis that fails either rule refuses beacons and SDK requests (503:
players retry, nothing is acknowledged) and readiness fails, with the reason in the log, in `/readyz` and in
the `adserver_redis_unsafe` metric. In development the same is logged as a warning and serving goes on.
"""

from __future__ import annotations

import logging
import threading

import redis
from redis.cluster import RedisCluster

from app.metrics import REDIS_UNSAFE

log = logging.getLogger(__name__)

RECHECK_SECONDS = 10.0
REASONS = ("eviction_policy", "durability", "replicas_missing", "unreachable")


def problems_of(client: redis.Redis, wait_replicas: int) -> dict[str, str]:
    """{reason: explanation} for each rule this Redis breaks (empty when it keeps what it acknowledges); on
    a cluster, for each rule any of its primaries breaks (explanations prefixed with the primary)."""
    if isinstance(client, RedisCluster):
        problems: dict[str, str] = {}
        try:
            primaries = client.get_primaries()
        except redis.RedisError as exc:
            return {"unreachable": f"Redis Cluster did not answer: {exc}"}
        for node in primaries:
            for reason, text in _node_problems(client.get_redis_connection(node), wait_replicas).items():
                problems.setdefault(reason, f"{node.name}: {text}")
        return problems
    return _node_problems(client, wait_replicas)


def _node_problems(client: redis.Redis, wait_replicas: int) -> dict[str, str]:
    try:
        info = client.info()  # the default sections: memory, replication and persistence among them
    except redis.RedisError as exc:
        return {"unreachable": f"Redis did not answer INFO: {exc}"}
    problems = {}
    policy = _text(info.get("maxmemory_policy", "unknown"))
    if policy != "noeviction":
        problems["eviction_policy"] = (
            f"maxmemory-policy is {policy}: under memory pressure Redis would evict counted events, dedupe "
            "keys or SDK answers; set it to noeviction"
        )
    replicas = _online_replicas(info)
    if wait_replicas:
        if replicas < wait_replicas:
            problems["replicas_missing"] = (
                f"REDIS_WAIT_REPLICAS={wait_replicas} but {replicas} replica(s) are connected: beacons go "
                "to the database directly until the replicas are back"
            )
    elif not (int(info.get("aof_enabled", 0)) and _fsync_always(client)):
        problems["durability"] = (
            "neither replicas (REDIS_WAIT_REPLICAS=0) nor an append-only file synced on every write "
            "(appendonly yes, appendfsync always): a Redis restart or node loss would lose acknowledged "
            "beacons"
        )
    return problems


def _online_replicas(info: dict) -> int:
    """Replicas past their initial sync (INFO replication `slaveN:...,state=online,...`): only those WAIT."""
    return sum(
        1
        for key, value in info.items()
        if key.startswith("slave")
        and key[5:].isdigit()
        and isinstance(value, dict)
        and value.get("state") == "online"
    )


def _fsync_always(client: redis.Redis) -> bool:
    try:
        return client.config_get("appendfsync").get("appendfsync") == "always"
    except redis.RedisError:  # CONFIG disabled (managed Redis): the setting cannot be confirmed
        return False


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


ENFORCED = ("eviction_policy", "durability")  # an unreachable Redis is the beacon fallback's business


class RedisSafety:
    """The last verdict on the Redis of this worker, refreshed every RECHECK_SECONDS by a background loop
    (so no request pays for the check)."""

    def __init__(self, client: redis.Redis | None, wait_replicas: int, *, enforce: bool):
        self.client = client
        self.wait_replicas = wait_replicas
        self.enforce = enforce
        self.problems: dict[str, str] = {}
        self._reported = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> dict[str, str]:
        if self.client is None:
            return {}
        problems = problems_of(self.client, self.wait_replicas)
        if problems != self.problems or not self._reported:
            self._report(problems)
            self._reported = True
        self.problems = problems
        return problems

    def _report(self, problems: dict[str, str]) -> None:
        for reason in REASONS:
            REDIS_UNSAFE.labels(reason).set(1 if reason in problems else 0)
        if not problems:
            log.info("Redis keeps what it acknowledges: noeviction and a durability mode")
            return
        for reason, explanation in problems.items():
            if self.enforce and reason in ENFORCED:
                log.error("unsafe Redis, refusing beacons and SDK requests: %s", explanation)
            elif reason in ENFORCED:
                log.warning("unsafe Redis, serving anyway (development): %s", explanation)
            else:
                log.warning("Redis: %s", explanation)

    def refuses(self) -> bool:
        """True when beacons must be refused: production, and the last check broke a rule."""
        return self.enforce and any(reason in self.problems for reason in ENFORCED)

    def start(self) -> None:
        self.check()
        if self.client is not None and self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="redis-safety", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(RECHECK_SECONDS):
            self.check()

    def stop(self) -> None:
        self._stop.set()
