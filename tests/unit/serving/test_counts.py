"""Serving counts: requests, fills and the ads served per campaign and creative, pushed as one event per
interval and kept whole when the event store cannot take them."""

import json
import uuid

from app.serving.counts import SERVED, ServingCounter
from app.tracking.events import MemoryEventStore, StoreUnavailable

CAMPAIGN, CREATIVE, OTHER = uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3)


class RefusingOnce(MemoryEventStore):
    """The in-process store, unavailable for its first write (as Redis during a failover)."""

    def __init__(self):
        super().__init__(dedupe_seconds=60)
        self.refused = False

    def record(self, event, cap=None, device=None):
        if not self.refused:
            self.refused = True
            raise StoreUnavailable("down")
        return super().record(event, cap)


def pushed(store) -> list[dict]:
    return [json.loads(event.payload) for _, event in store.read_batch("test", 10, 0)]


def test_ads_served_are_counted_by_hour_campaign_and_creative():
    store = MemoryEventStore(dedupe_seconds=60)
    now = [7200.0 + 10]
    counter = ServingCounter(store, clock=lambda: now[0])
    counter.count(filled=True)
    counter.count_served(CAMPAIGN, CREATIVE)
    counter.count_served(CAMPAIGN, CREATIVE)
    now[0] += 3600
    counter.count_served(CAMPAIGN, OTHER)
    counter.push()
    [payload] = pushed(store)
    assert payload["7200"][SERVED] == {f"{CAMPAIGN}/{CREATIVE}": 2}
    assert payload["7200"]["requests"] == 1 and payload["7200"]["fills"] == 1
    assert payload["10800"][SERVED] == {f"{CAMPAIGN}/{OTHER}": 1} and payload["10800"]["requests"] == 0


def test_counts_refused_by_the_store_are_added_to_the_next_push():
    store = RefusingOnce()
    counter = ServingCounter(store, clock=lambda: 3600.0)
    counter.count_served(CAMPAIGN, CREATIVE)
    counter.count(filled=True)
    counter.push()  # refused: kept
    counter.count_served(CAMPAIGN, CREATIVE)
    counter.push()
    [payload] = pushed(store)
    assert payload["3600"][SERVED] == {f"{CAMPAIGN}/{CREATIVE}": 2} and payload["3600"]["fills"] == 1
