"""Log-level data: each closed hour of raw events written to object storage as compressed Parquet, so that
analysts query months of impressions with Athena, Trino or DuckDB instead of the OLTP database.

Layout (Hive partitions, the Glue table of infrastructure/analytics.tf reads them):
    events/<table>/dt=YYYY-MM-DD/hour=HH/part-0.parquet
for the tables `impressions`, `tracking_events` (quartiles, clicks, errors...) and `ad_requests`, one file per
table and UTC hour of the time the event was received (`occurred_at`; `created_at` for ad requests), zstd.
The viewer's address is not exported: it stays in the database, for the raw events' retention only.

Idempotent: the key of an hour is fixed and an object is replaced whole (readers see the old file or the new
one), and `event_exports` records the rows each file holds. The flusher exports every `EVENT_EXPORT_SECONDS`
the hours that closed `EVENT_EXPORT_DELAY_SECONDS` ago or more; an hour of the last `LOOKBACK_HOURS` whose
row count in the database differs from its file's (events flushed late, after an outage of the database) is
written again. Older hours are final; `flask export-events --since DATE` writes any hour still in the
database. On PostgreSQL one flusher exports at a time (an advisory lock); the others skip the round.

pyarrow is imported when a file is written, never by a serving worker that does not flush.
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.creatives.storage import LocalStorage, S3Storage, Storage
from app.db import Money, UTCDateTime
from app.serving.models import AdRequest
from app.tracking.models import EventExport, Impression, TrackingEvent

log = logging.getLogger(__name__)

PREFIX = "events"
LOOKBACK_HOURS = 48
ROWS_PER_BATCH = 50_000  # rows held in memory while a file is written
# pg_try_advisory_lock key: one exporter at a time across the flushers of a database.
LOCK_KEY = 0x6576_6578_706F


@dataclass(frozen=True)
class Source:
    """A raw event table as exported: its columns (in file order) and the time that places a row in an hour.
    `day_column` is the table's partition key when it is not the time itself (impressions and events are
    partitioned by the day the ad was served, at most `beacon_ttl` before the beacon arrives)."""

    model: type
    columns: tuple[str, ...]
    time_column: str
    day_column: str | None = None

    @property
    def name(self) -> str:
        return self.model.__tablename__


SOURCES = (
    Source(
        Impression,
        ("ad_serving_id", "served_on", "campaign_id", "creative_id", "cost", "user_agent", "occurred_at"),
        "occurred_at",
        "served_on",
    ),
    Source(
        TrackingEvent,
        (
            "ad_serving_id",
            "event",
            "error_code",
            "progress_offset",
            "served_on",
            "campaign_id",
            "creative_id",
            "user_agent",
            "occurred_at",
        ),
        "occurred_at",
        "served_on",
    ),
    Source(
        AdRequest,
        ("request_id", "ad_serving_id", "campaign_id", "creative_id", "duration", "user_agent", "created_at"),
        "created_at",
    ),
)


def make_target(settings) -> Storage:
    """Where the files go: EVENT_EXPORT_BUCKET (S3, the creatives' region and endpoint) or EVENT_EXPORT_DIR.
    Never the creatives' storage: its objects are public (the CDN, or /media in the embedded default)."""
    if settings.event_export_bucket:
        return S3Storage(
            settings.event_export_bucket, region=settings.s3_region, endpoint_url=settings.s3_endpoint_url
        )
    return LocalStorage(settings.event_export_dir)


def object_key(table: str, hour: datetime) -> str:
    return f"{PREFIX}/{table}/dt={hour:%Y-%m-%d}/hour={hour:%H}/part-0.parquet"


def export_hours(
    session: Session,
    target: Storage,
    *,
    now: datetime,
    delay: timedelta,
    beacon_ttl: timedelta,
    since: datetime | None = None,
) -> list[tuple[str, datetime, int]]:
    """Write the file of every closed hour (ended `delay` before `now`) from `since` (default: LOOKBACK_HOURS
    before `now`) whose rows differ from what its last export recorded. Returns (table, hour, rows) of each
    file written. Commits each file's record once the file is stored, so an interrupted run resumes."""
    closed = _hour(now - delay)
    start = _hour(since if since is not None else now - timedelta(hours=LOOKBACK_HOURS))
    written = []
    for source in SOURCES:
        counts = _row_counts(session, source, start, closed, beacon_ttl)
        recorded = dict(
            session.execute(
                sa.select(EventExport.hour, EventExport.rows).where(
                    EventExport.table_name == source.name, EventExport.hour >= start
                )
            ).all()
        )
        for hour, rows in sorted(counts.items()):
            if recorded.get(hour) == rows:
                continue
            rows = _write(session, target, source, hour, beacon_ttl)
            session.merge(EventExport(table_name=source.name, hour=hour, rows=rows, exported_at=now))
            session.commit()
            written.append((source.name, hour, rows))
            log.info("exported %s rows of %s for %s", rows, source.name, hour.isoformat())
    return written


def export_once(sessions, target: Storage, settings, now: datetime | None = None) -> list:
    """One round of the flusher: export_hours under the exporters' lock (PostgreSQL)."""
    now = now or datetime.now(UTC)
    options = {
        "now": now,
        "delay": timedelta(seconds=settings.event_export_delay_seconds),
        "beacon_ttl": timedelta(seconds=settings.beacon_ttl_seconds),
    }
    with sessions() as session:
        if session.get_bind().dialect.name != "postgresql":
            return export_hours(session, target, **options)
        locked = session.scalar(sa.select(sa.func.pg_try_advisory_lock(LOCK_KEY)))
        if not locked:
            return []
        try:
            return export_hours(session, target, **options)
        finally:
            session.rollback()
            session.execute(sa.select(sa.func.pg_advisory_unlock(LOCK_KEY)))


def _hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _within(source: Source, start: datetime, end: datetime, beacon_ttl: timedelta) -> list:
    """Rows received in [start, end), with the partition key bounded so PostgreSQL reads only the days
    that can hold them."""
    model = source.model
    time = getattr(model, source.time_column)
    conditions = [time >= start, time < end]
    if source.day_column:
        day = getattr(model, source.day_column)
        conditions += [day >= (start - beacon_ttl - timedelta(days=1)).date(), day <= end.date()]
    return conditions


def _row_counts(
    session: Session, source: Source, start: datetime, end: datetime, beacon_ttl: timedelta
) -> dict[datetime, int]:
    time = getattr(source.model, source.time_column)
    if session.get_bind().dialect.name == "postgresql":
        bucket = sa.func.date_trunc("hour", sa.func.timezone("UTC", time))
    else:  # SQLite stores UTC text: its first 13 characters are the hour
        bucket = sa.func.substr(time, 1, 13)
    rows = session.execute(
        sa.select(bucket, sa.func.count()).where(*_within(source, start, end, beacon_ttl)).group_by(bucket)
    ).all()
    return {_as_hour(value): count for value, count in rows}


def _as_hour(value) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC)
    return datetime.strptime(value[:13], "%Y-%m-%d %H").replace(tzinfo=UTC)


def _write(session: Session, target: Storage, source: Source, hour: datetime, beacon_ttl: timedelta) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _schema(source, pa)
    rows = 0
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "part-0.parquet"
        with pq.ParquetWriter(path, schema, compression="zstd") as writer:
            for batch in _batches(session, source, hour, beacon_ttl):
                columns = {name: [_plain(row[i]) for row in batch] for i, name in enumerate(source.columns)}
                writer.write_table(pa.Table.from_pydict(columns, schema=schema))
                rows += len(batch)
        target.put(path, object_key(source.name, hour))
    return rows


def _batches(session: Session, source: Source, hour: datetime, beacon_ttl: timedelta) -> Iterator[list]:
    model = source.model
    query = (
        sa.select(*(getattr(model, name) for name in source.columns))
        .where(*_within(source, hour, hour + timedelta(hours=1), beacon_ttl))
        .order_by(getattr(model, source.time_column))
        .execution_options(yield_per=ROWS_PER_BATCH)
    )
    yield from session.execute(query).partitions()


def _plain(value):
    return str(value) if isinstance(value, uuid.UUID) else value


def _schema(source: Source, pa):
    """Arrow types from the columns' SQL types: exact decimals for money, UTC timestamps, text ids."""
    fields = []
    for name in source.columns:
        column = source.model.__table__.c[name]
        kind = column.type
        if isinstance(kind, Money):
            arrow = pa.decimal128(kind.impl.precision, kind.scale)
        elif isinstance(kind, UTCDateTime):
            arrow = pa.timestamp("us", tz="UTC")
        elif isinstance(kind, sa.Date):
            arrow = pa.date32()
        elif isinstance(kind, sa.Float):
            arrow = pa.float64()
        else:
            arrow = pa.string()
        fields.append(pa.field(name, arrow, nullable=column.nullable))
    return pa.schema(fields)
