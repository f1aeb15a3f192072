"""The flusher reads its next batch while it stores the current one: what it reads ahead may hold entries of
the batch in hand (the in-process store hands out whatever is not acknowledged yet; Redis's XAUTOCLAIM takes
back a consumer's own entries once idle), and those are stored and acknowledged once."""

from __future__ import annotations

from app.tracking.flusher import Flusher
from tests.factories import CreativeFactory
from tests.integration.test_event_faults import fire_ads
from tests.serving_helpers import refresh, runtime


def test_every_entry_is_flushed_once_from_the_in_process_store(app, client, session):
    CreativeFactory()
    refresh(app)
    fire_ads(client, 10)  # 30 beacons
    rt = runtime(app)
    flusher = Flusher(rt.store, rt.sessions, consumer="ahead", block_ms=0, batch_size=4)
    flushed = []
    while done := flusher.flush_once():
        flushed.append(done)
    assert sum(flushed) == 30 and rt.store.pending() == 0
