"""Recording a beacon so that, once acknowledged, it is never lost."""

from __future__ import annotations

import logging

from sqlalchemy.orm import sessionmaker

from app.tracking.dead_letters import store_or_dead_letter
from app.tracking.events import Event, EventStore, StoreUnavailable
from app.tracking.frequency import CapCount

log = logging.getLogger(__name__)


def record_durably(
    store: EventStore,
    sessions: sessionmaker,
    event: Event,
    retention_days: int,
    on_fallback=None,
    cap: CapCount | None = None,
    device: str | None = None,
) -> bool:
    """Into the event store; when it is unreachable, straight into the database (the only SQL a beacon may
    cause; an event the database refuses is dead-lettered, which keeps it for good too). True if counted
    now, False for a repeat. Raises when neither can take it: the caller must then answer with an error, so
    that the player retries rather than believing it was counted. An impression written to the database
    this way is not added to its device's frequency-cap history (`cap`): an ad beats a cap while Redis is
    down. `device`: the device key of the beacon's token, which routes it in the store (EventStore.record).
    `retention_days`: RAW_EVENT_RETENTION_DAYS, as the flusher stores with it."""
    try:
        return store.record(event, cap, device)
    except StoreUnavailable as exc:
        log.warning("event store unavailable (%s): writing the %s beacon to the database", exc, event.name)
        if on_fallback is not None:
            on_fallback()
    return store_or_dead_letter(sessions, [(None, event)], retention_days=retention_days).new > 0
