"""Moves counted events from the event store into the database, acknowledging only what was committed.

Runs in each web worker (`EVENT_FLUSHER=inprocess`, a background greenlet) or as its own process
(`flask --app app flush-events`, `EVENT_FLUSHER=external`). Several flushers share the work through the
Redis consumer group; entries a killed flusher had read are claimed by another after `CLAIM_IDLE_MS`.
A batch that fails to commit because the database is unreachable is retried, with backoff, until it is
stored; an event the database refuses is moved to the dead-letter table and the others are stored
(`app.tracking.dead_letters`), so the flusher never stops on one event.

Throughput: batches of `EVENT_FLUSH_BATCH` entries (5,000), each one COPY and one merge on PostgreSQL
(`app.tracking.staging`). A flusher reads the next batch while the database merges the current one (one batch
ahead, so reading and decoding overlap the wait on PostgreSQL); several processes scale until the
database's CPU is spent. Housekeeping: every `PARTITIONS_SECONDS` the day
partitions of the raw tables are made ahead and those past `RAW_EVENT_RETENTION_DAYS` dropped
(`app.tracking.partitions`); every `EVENT_EXPORT_SECONDS` the closed hours of raw events are written as
Parquet (`app.tracking.export`).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Collection
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from app.campaigns.models import Campaign
from app.metrics import FLUSH_FAILURES, FLUSH_LAG, FLUSHED, PENDING
from app.serving.money import currency_to_units
from app.settings import Settings
from app.tracking import export, partitions
from app.tracking.dead_letters import store_or_dead_letter
from app.tracking.events import Event, EventStore, Undecodable, consumer_name
from app.tracking.models import EventCountHourly

log = logging.getLogger(__name__)

BATCH_SIZE = 5000
MAX_BACKOFF_SECONDS = 10.0
HOUSEKEEPING_SECONDS = 5.0
# Between two checks of every campaign's stored spend (a budget lowered below it), only the campaigns whose
# impressions this flusher stored are checked: the cost follows the traffic, not the catalog.
FULL_HOUSEKEEPING_SECONDS = 300.0
PARTITIONS_SECONDS = 60.0


class Flusher:
    def __init__(
        self,
        store: EventStore,
        sessions: sessionmaker,
        *,
        consumer: str | None = None,
        block_ms: int = 1000,
        batch_size: int = BATCH_SIZE,
        retention_days: int = partitions.DEFAULT_RETENTION_DAYS,
        exporter: Callable[[], object] | None = None,
        export_seconds: float = 0.0,
    ):
        self.store = store
        self.sessions = sessions
        self.consumer = consumer or consumer_name()
        self.block_ms = block_ms
        self.batch_size = batch_size
        self.retention_days = retention_days
        self._last_partitions = 0.0
        # Parquet files of the closed hours (app.tracking.export), every export_seconds when given.
        self.exporter = exporter
        self.export_seconds = export_seconds
        self._last_export = time.monotonic()
        # Read, not yet committed: retried before anything new.
        self._batch: list[tuple[str, Event | Undecodable]] = []
        # The next batch, being read meanwhile: its entries are pending under this consumer, so those of a
        # flusher that stops are claimed after CLAIM_IDLE_MS, as any other it read and did not acknowledge.
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="event-reader")
        self._next: tuple[Future, frozenset[str]] | None = None  # and the ids of the batch then in hand
        self._last_housekeeping = 0.0
        self._last_full_housekeeping = -FULL_HOUSEKEEPING_SECONDS  # the first check is a full one
        self._spent: set[uuid.UUID] = set()  # campaigns whose impressions were stored since the last check
        self.last_flush_at: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_settings(cls, store: EventStore, sessions: sessionmaker, settings: Settings) -> Flusher:
        exporter = None
        if settings.event_export_seconds:
            exporter = functools.partial(export.export_once, sessions, export.make_target(settings), settings)
        return cls(
            store,
            sessions,
            batch_size=settings.event_flush_batch,
            retention_days=settings.raw_event_retention_days,
            exporter=exporter,
            export_seconds=settings.event_export_seconds,
        )

    def flush_once(self) -> int:
        """Store one batch (dead-lettering what the database refuses); returns the number of entries
        acknowledged. Raises if the database is unreachable."""
        if not self._batch:
            self._batch = self._read()
        flushed = len(self._batch)
        if self._batch:
            store_or_dead_letter(self.sessions, self._batch, retention_days=self.retention_days)
            done, self._batch = self._batch, []
            self._spent.update(_spent_on(done))
            self.store.ack([entry_id for entry_id, _ in done])
            FLUSHED.inc(flushed)
        self.last_flush_at = time.time()  # stored, or nothing waiting: not behind
        FLUSH_LAG.set(0)
        if time.monotonic() - self._last_housekeeping >= HOUSEKEEPING_SECONDS:
            PENDING.set(self.store.pending())
            self.complete_finished_campaigns()
            self._last_housekeeping = time.monotonic()
        if time.monotonic() - self._last_partitions >= PARTITIONS_SECONDS:
            self.maintain_partitions()
            self._last_partitions = time.monotonic()
        if self.exporter is not None and time.monotonic() - self._last_export >= self.export_seconds:
            self.export_events()
            self._last_export = time.monotonic()
        return flushed

    def _read(self) -> list[tuple[str, Event | Undecodable]]:
        """The batch read ahead (or a new one), once the reading of the next has started. A full batch
        says more is waiting: only then is the next read ahead (an idle flusher blocks on one read). What
        is read ahead may hold entries of the batch in hand (the in-process store hands out what is not
        acknowledged yet; Redis's XAUTOCLAIM takes back this consumer's own entries once idle long enough):
        those are left out, as the batch in hand stores and acknowledges them."""
        ahead, self._next = self._next, None
        if ahead is None:
            batch = self.store.read_batch(*self._read_args())
        else:
            future, in_hand = ahead
            batch = [entry for entry in future.result() if entry[0] not in in_hand]
            if not batch:  # all of it was in hand: read what is waiting now
                batch = self.store.read_batch(*self._read_args())
        if len(batch) >= self.batch_size and not self._stop.is_set():
            future = self._reader.submit(self.store.read_batch, *self._read_args())
            self._next = (future, frozenset(entry_id for entry_id, _ in batch))
        return batch

    def _read_args(self) -> tuple[str, int, int]:
        return self.consumer, self.batch_size, self.block_ms

    def export_events(self) -> None:
        """The closed hours as Parquet; a failure (storage unreachable) is logged and the hours are written
        at a later round: it never holds up the flush."""
        try:
            self.exporter()
        except Exception:
            log.warning("raw events not exported; trying again later", exc_info=True)

    def maintain_partitions(self) -> None:
        """Raw event partitions made ahead, expired ones dropped (PostgreSQL). A failure (a lock not granted
        within its timeout) is logged and tried again later: it never holds up the flush."""
        try:
            with self.sessions() as session:
                if session.get_bind().dialect.name != "postgresql":
                    return
                partitions.maintain(session, self.retention_days)
                session.commit()
        except Exception:
            log.warning("raw event partitions not maintained; trying again later", exc_info=True)

    def complete_finished_campaigns(self) -> None:
        """Campaigns past their end, and those of the impressions stored since the last check (all of them
        every FULL_HOUSEKEEPING_SECONDS) whose stored spend reached the budget, are completed."""
        full = time.monotonic() - self._last_full_housekeeping >= FULL_HOUSEKEEPING_SECONDS
        spent, self._spent = self._spent, set()
        try:
            with self.sessions() as session:
                complete_finished_campaigns(session, None if full else spent)
                session.commit()  # the catalog version is bumped like any other campaign write
        except Exception:
            self._spent |= spent  # checked at the next round
            raise
        if full:
            self._last_full_housekeeping = time.monotonic()

    def run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                self.flush_once()
                backoff = 0.5
            except Exception:
                FLUSH_FAILURES.inc()
                if self.last_flush_at is not None:
                    FLUSH_LAG.set(time.time() - self.last_flush_at)
                log.warning("event flush failed; retrying in %.1f s", backoff, exc_info=True)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self.run, name="event-flusher", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._reader.shutdown(wait=False)


def _spent_on(entries: list[tuple[str, Event | Undecodable]]) -> set[uuid.UUID]:
    """The campaigns of the impressions among `entries` (a malformed id is the dead letters' business)."""
    campaigns = set()
    for _, event in entries:
        if isinstance(event, Event) and event.name == "impression" and event.campaign_id:
            try:
                campaigns.add(uuid.UUID(event.campaign_id))
            except ValueError:
                continue
    return campaigns


def complete_finished_campaigns(
    session: Session, spent: Collection[uuid.UUID] | None = None
) -> list[uuid.UUID]:
    """Active or paused campaigns past their end_date, or whose stored spend reached the budget: any such
    campaign, or (`spent`, campaign ids) only those whose spend may have changed. Plain rows to find them,
    ORM objects only for the few that change (so the catalog version is bumped as for any campaign
    write)."""
    open_ = Campaign.status.in_(("active", "paused"))
    ended = sa.select(Campaign.id).where(open_, Campaign.end_date <= datetime.now(UTC))
    finished = set(session.scalars(ended))
    if spent is None or spent:
        stored = (
            sa.select(sa.func.coalesce(sa.func.sum(EventCountHourly.spend_units), 0))
            .where(EventCountHourly.campaign_id == Campaign.id, EventCountHourly.event == "impression")
            .scalar_subquery()  # per campaign, through the (campaign_id, hour) index
        )
        query = sa.select(Campaign.id, Campaign.budget_total, stored.label("spent")).where(open_)
        if spent is not None:
            query = query.where(Campaign.id.in_(spent))
        finished.update(
            row.id for row in session.execute(query) if int(row.spent) >= currency_to_units(row.budget_total)
        )
    if not finished:
        return []
    for campaign in session.scalars(sa.select(Campaign).where(Campaign.id.in_(finished))):
        campaign.status = "completed"
    log.info("campaigns completed: %s", ", ".join(str(campaign_id) for campaign_id in finished))
    return sorted(finished)
