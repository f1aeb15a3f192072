"""Raw events by day: PostgreSQL declarative partitions of `impressions`, `tracking_events` and `ad_requests`,
made ahead of need and dropped whole past the retention (`RAW_EVENT_RETENTION_DAYS`).

Keys. A unique key of a partitioned table must hold the partition key, so each table is partitioned by a day
that is fixed for what its key dedupes:
- `impressions` and `tracking_events` by `served_on`, the UTC day the ad was served, read from the ad serving
  id itself (a UUIDv7, `app.tracking.signing.served_at`, inside the signed token). Every beacon of one ad
  carries the same id, hence the same day, whenever it arrives: a duplicate lands in the partition of the
  first copy and conflicts there, across midnight too. Ids made before ids carried their time fall back to
  the beacon's own day (a duplicate across midnight of those is refused by the event store's dedupe only;
  such ids expire with their tokens, `BEACON_TTL_SECONDS`).
- `ad_requests` by the day of `created_at`, the request's time written once into its stream entry: the same
  entry stored twice (a flusher that died before acknowledging) has the same time.
Stats never read these tables (they read the hourly aggregates), so dropping a day loses no figure.

Partitions live in the schema `event_partitions`, named `<table>_pYYYYMMDD`. SQLite keeps plain tables and
nothing here runs there.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.tracking.events import Event
from app.tracking.signing import served_at

log = logging.getLogger(__name__)

SCHEMA = "event_partitions"
RAW_TABLES = ("impressions", "tracking_events", "ad_requests")
DEFAULT_RETENTION_DAYS = 30
DAYS_AHEAD = 2  # partitions made ahead of today, so that midnight never waits for DDL
# Serialises partition DDL between flushers (two CREATEs of one partition would race on its name).
_LOCK_KEY = 0x7261_7765_7665  # "rawev"
_NAME = re.compile(r"^(?P<table>\w+)_p(?P<day>\d{8})$")


def served_day(event: Event) -> int:
    """The partition day of a beacon, in days since 1970-01-01 (UTC): the day its ad was served, else (an id
    without its time) the day of the beacon itself."""
    at = served_at(event.ad_serving_id)
    return int((event.occurred_at if at is None else at) // 86400)


def served_on(event: Event) -> date:
    return date(1970, 1, 1) + timedelta(days=served_day(event))


def partition_name(table: str, day: date) -> str:
    return f"{table}_p{day:%Y%m%d}"


def today() -> date:
    return datetime.now(UTC).date()


def oldest_kept(retention_days: int, on: date) -> date:
    """The first day kept: `retention_days` days back from `on`, `on` included."""
    return on - timedelta(days=retention_days - 1)


def existing(session: Session) -> set[tuple[str, date]]:
    """(table, day) of every partition of the raw tables."""
    rows = session.execute(
        sa.text(
            "SELECT child.relname FROM pg_inherits JOIN pg_class child ON child.oid = pg_inherits.inhrelid "
            "JOIN pg_namespace ns ON ns.oid = child.relnamespace WHERE ns.nspname = :schema"
        ),
        {"schema": SCHEMA},
    ).scalars()
    found = set()
    for name in rows:
        match = _NAME.match(name)
        if match and match["table"] in RAW_TABLES:
            found.add((match["table"], datetime.strptime(match["day"], "%Y%m%d").date()))
    return found


def ensure(session: Session, days: Iterable[date], retention_days: int) -> list[str]:
    """Make the partitions of `days` (every raw table) that are missing, in the session's transaction; days
    past the retention or more than DAYS_AHEAD ahead are left out (a row for one is refused by PostgreSQL
    and dead-lettered, never kept past the retention). Returns the partitions made."""
    now = today()
    wanted = {day for day in days if oldest_kept(retention_days, now) <= day <= now + timedelta(DAYS_AHEAD)}
    if not wanted:
        return []
    names = {(table, day): partition_name(table, day) for table in RAW_TABLES for day in wanted}
    found = session.execute(
        sa.text(
            "SELECT name FROM unnest(CAST(:names AS text[])) AS name "
            "WHERE to_regclass(:schema || '.' || name) IS NOT NULL"
        ),
        {"names": list(names.values()), "schema": SCHEMA},
    ).scalars()
    missing = set(names.values()) - set(found)
    if not missing:
        return []
    session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    made = []
    for (table, day), name in sorted(names.items()):
        if name in missing:
            session.execute(
                sa.text(
                    f'CREATE TABLE IF NOT EXISTS {SCHEMA}."{name}" PARTITION OF "{table}" FOR VALUES '
                    f"FROM ('{day} 00:00:00+00') TO ('{day + timedelta(1)} 00:00:00+00')"
                )
            )
            made.append(name)
    log.info("raw event partitions made: %s", ", ".join(made))
    return made


def drop_expired(session: Session, retention_days: int) -> list[str]:
    """Drop the partitions of days past the retention, in the session's transaction; returns their names."""
    cutoff = oldest_kept(retention_days, today())
    expired = sorted(partition_name(table, day) for table, day in existing(session) if day < cutoff)
    if not expired:
        return []
    session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    for name in expired:
        session.execute(sa.text(f'DROP TABLE IF EXISTS {SCHEMA}."{name}"'))
    log.info("raw event partitions dropped past the %d-day retention: %s", retention_days, ", ".join(expired))
    return expired


def maintain(session: Session, retention_days: int) -> None:
    """The flusher's housekeeping: partitions from yesterday to DAYS_AHEAD ahead exist, expired ones are gone.
    Each DDL waits at most 5 s for its lock (a long report must not queue every insert behind the DDL)."""
    session.execute(sa.text("SET LOCAL lock_timeout = '5s'"))
    now = today()
    ensure(session, (now + timedelta(offset) for offset in range(-1, DAYS_AHEAD + 1)), retention_days)
    drop_expired(session, retention_days)
