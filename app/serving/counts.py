"""Ad requests, fills and no-fills, and the ads served of each campaign and creative, counted in worker
memory on the serving path (no I/O per request) and pushed into the event store once a second as one event
per worker and interval.

Counted by hour and supply tag (app.supply; 0 for none). The event's payload is
`{"<hour ts>" or "<hour ts>:<tag id>": {<COUNTED>: int, ..., SERVED: {"<campaign id>/<creative id>": int}}}`:
an hour without a tag keeps the key it always had.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import Counter, defaultdict

from app.tracking.events import EventStore, StoreUnavailable, counts_event

log = logging.getLogger(__name__)

PUSH_SECONDS = 1.0


COUNTED = ("requests", "fills", "no_fills", "pod_requests", "pod_ads", "pod_requested_ms", "pod_filled_ms")
SERVED = "served"  # ads served by campaign and creative, beside the COUNTED totals of an hour


def _new_counts() -> defaultdict[tuple[int, int], dict]:
    return defaultdict(lambda: dict.fromkeys(COUNTED, 0) | {SERVED: Counter()})


def counts_key(hour: int, supply_tag: int) -> str:
    """The payload's key of an hour (seconds since the epoch) and supply tag."""
    return f"{hour}:{supply_tag}" if supply_tag else str(hour)


def read_counts_key(key: str) -> tuple[float, int]:
    """(hour, supply tag) of a payload key."""
    hour, _, supply_tag = key.partition(":")
    return float(hour), int(supply_tag or 0)


def _payload(totals: dict) -> dict:
    """An hour's totals as the event carries them: the ads served keyed "<campaign id>/<creative id>"."""
    served = {f"{campaign}/{creative}": ads for (campaign, creative), ads in totals[SERVED].items()}
    return totals | {SERVED: served}


class ServingCounter:
    def __init__(self, store: EventStore, clock=time.time):
        self.store = store
        self.clock = clock
        self.worker = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._sequence = 0
        self._counts = _new_counts()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def count(self, filled: bool, supply_tag: int = 0) -> None:
        totals = self._counts[int(self.clock() // 3600 * 3600), supply_tag]
        totals["requests"] += 1
        totals["fills" if filled else "no_fills"] += 1

    def count_served(self, campaign_id: uuid.UUID, creative_id: uuid.UUID, supply_tag: int = 0) -> None:
        """An ad put in an answer (each ad of a pod): the fills of its campaign and creative, by tag. Kept by
        the ids themselves: they are made text once a second, at the push, not once per ad."""
        self._counts[int(self.clock() // 3600 * 3600), supply_tag][SERVED][campaign_id, creative_id] += 1

    def count_pod(
        self, ads: int, requested_seconds: float, filled_seconds: float, supply_tag: int = 0
    ) -> None:
        """An ad break, besides its count() as a request: its ads and the seconds asked and filled."""
        totals = self._counts[int(self.clock() // 3600 * 3600), supply_tag]
        totals["pod_requests"] += 1
        totals["pod_ads"] += ads
        totals["pod_requested_ms"] += round(requested_seconds * 1000)
        totals["pod_filled_ms"] += round(filled_seconds * 1000)

    def push(self) -> None:
        """Hand the totals so far to the store; kept for the next push if the store is unavailable."""
        if not self._counts:
            return
        counts, self._counts = self._counts, _new_counts()
        self._sequence += 1
        try:
            self.store.record(
                counts_event(
                    {counts_key(*key): _payload(t) for key, t in counts.items()}, self.worker, self._sequence
                )
            )
        except StoreUnavailable:
            log.warning("serving counts kept for the next push: event store unavailable")
            for key, totals in counts.items():
                for name, value in totals.items():
                    self._counts[key][name] += value  # a Counter adds to a Counter alike

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="serving-counts", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.push()

    def _run(self) -> None:
        while not self._stop.wait(PUSH_SECONDS):
            try:
                self.push()
            except Exception:
                log.exception("serving counts push failed")
