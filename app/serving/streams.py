"""What a viewer's stream has already shown: competitive separation across the breaks of one stream.

An ad request that names its stream (`session_id`, or Google's `scor` / `correlator`) is not given an
advertiser (or an exclusive category) the same stream showed within `SEPARATION_WINDOW_SECONDS`. The read is
one Redis round trip (HGETALL of the stream's hash, pipelined with the device's frequency-cap history:
app.serving.caps), or none in the embedded default; what a request shows is
written by a background loop every `FLUSH_SECONDS`, off the request path (breaks of one stream are minutes
apart).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict

import redis

from app.tracking.shards import REDIS_ERRORS

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.2
MAX_STREAMS_IN_MEMORY = 200_000


def _stream_key(session_id: str) -> str:
    """Streams are kept under a digest: the caller's id is never stored as sent."""
    return hashlib.blake2b(session_id.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


class StreamMemory:
    """Separation keys (advertiser domains, exclusive categories) shown per stream, with when."""

    def __init__(self, client: redis.Redis | None, prefix: str, window_seconds: float):
        self.client = client
        self.prefix = prefix
        self.window_seconds = window_seconds
        self._local: OrderedDict[str, dict[str, float]] = OrderedDict()
        self._queue: list[tuple[str, dict[str, float]]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def recent(self, session_id: str) -> frozenset[str]:
        """The keys this stream showed within the window; empty when the store cannot say (an ad beats
        separation when Redis is down)."""
        if self.client is None:
            with self._lock:
                return self.shown_within(self._local.get(_stream_key(session_id), {}))
        try:
            return self.shown_within(self.client.hgetall(self.key(session_id)))
        except REDIS_ERRORS:
            log.warning("stream separation unavailable: Redis did not answer", exc_info=True)
            return frozenset()

    def key(self, session_id: str) -> str:
        """The stream's Redis hash, for a caller that reads it in a pipeline of its own."""
        return self.prefix + _stream_key(session_id)

    def shown_within(self, shown: dict) -> frozenset[str]:
        """The keys of a stream's hash (as HGETALL returns it) shown within the window."""
        oldest = time.time() - self.window_seconds
        return frozenset(_text(name) for name, at in shown.items() if float(at) >= oldest)

    def remember(self, session_id: str, keys: set[str]) -> None:
        if not keys:
            return
        now = time.time()
        entry = (_stream_key(session_id), dict.fromkeys(keys, now))
        with self._lock:
            if self.client is None:
                shown = self._local.setdefault(entry[0], {})
                shown.update(entry[1])
                self._local.move_to_end(entry[0])
                while len(self._local) > MAX_STREAMS_IN_MEMORY:
                    self._local.popitem(last=False)
            else:
                self._queue.append(entry)

    def flush(self) -> None:
        """Write what requests showed since the last flush: one pipeline."""
        with self._lock:
            queued, self._queue = self._queue, []
        if not queued or self.client is None:
            return
        pipe = self.client.pipeline(transaction=False)
        ttl = max(1, int(self.window_seconds))
        for key, shown in queued:
            pipe.hset(self.prefix + key, mapping=shown)
            pipe.expire(self.prefix + key, ttl)
        try:
            pipe.execute()
        except REDIS_ERRORS:
            log.warning("stream separation not written: Redis did not answer", exc_info=True)

    def start(self) -> None:
        if self.client is not None and self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="stream-separation", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(FLUSH_SECONDS):
            self.flush()

    def stop(self) -> None:
        self._stop.set()
        self.flush()


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
