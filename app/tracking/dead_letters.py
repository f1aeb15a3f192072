"""Storing events so that one bad event never stops the others.

A batch that the database refuses for a reason other than being unreachable is split in halves until the
events at fault are alone; every other event is stored, and each one at fault is moved to the
`dead_letter_events` table with the error and the event verbatim. An operator reads them there (`flask
dead-letters list`, `GET /api/v1/dead-letter-events`), fixes the cause (or the event) and replays them.

Storing is idempotent (rows conflict on their keys, aggregates follow the rows that were new), so parts of a
batch committed before an outage are safe to store again when the whole batch is retried.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from app.db import utcnow
from app.logs import mask_ips
from app.metrics import DEAD_LETTERED
from app.tracking.events import Event, Undecodable
from app.tracking.models import DeadLetterEvent
from app.tracking.partitions import DEFAULT_RETENTION_DAYS
from app.tracking.storing import store_events

log = logging.getLogger(__name__)

MAX_ERROR_TEXT = 2000
# The database is unreachable, locked or restarting: nothing is skipped, the batch is retried as a whole.
_OUTAGES = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DisconnectionError, sa.exc.TimeoutError)


def is_outage(exc: BaseException) -> bool:
    return isinstance(exc, _OUTAGES) or bool(getattr(exc, "connection_invalidated", False))


@dataclass(frozen=True, slots=True)
class Outcome:
    new: int  # events stored that were not stored before
    dead_lettered: int


def store_or_dead_letter(
    sessions: sessionmaker,
    entries: Sequence[tuple[str | None, Event | Undecodable]],
    *,
    retention_days: int = DEFAULT_RETENTION_DAYS,
) -> Outcome:
    """Commit every event of `entries` that the database takes; dead-letter the others. Raises only when the
    database is unreachable (then nothing may be acknowledged: retry the whole batch)."""
    dead = [(entry_id, item.raw, item.error) for entry_id, item in entries if isinstance(item, Undecodable)]
    events = [(entry_id, item) for entry_id, item in entries if isinstance(item, Event)]
    new = _store_splitting(sessions, events, dead, retention_days)
    if dead:
        _dead_letter(sessions, dead)
    return Outcome(new=new, dead_lettered=len(dead))


def _store_splitting(
    sessions: sessionmaker,
    events: list[tuple[str | None, Event]],
    dead: list[tuple[str | None, str, str]],
    retention_days: int,
) -> int:
    if not events:
        return 0
    try:
        with sessions() as session:
            new = store_events(session, [event for _, event in events], retention_days=retention_days)
            session.commit()
        return new
    except Exception as exc:
        if is_outage(exc):
            raise
        if len(events) == 1:
            entry_id, event = events[0]
            dead.append((entry_id, event.encode(), _describe(exc)))
            return 0
        middle = len(events) // 2
        return _store_splitting(sessions, events[:middle], dead, retention_days) + _store_splitting(
            sessions, events[middle:], dead, retention_days
        )


def _describe(exc: BaseException) -> str:
    """The error without the statement and its parameters (they hold addresses and user agents), and with
    any address the database quoted in it (`DETAIL: Key (ip)=(…)`) truncated: it is logged and shown."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None:
        exc = exc.orig
    return mask_ips(f"{type(exc).__name__}: {str(exc).strip()}")[:MAX_ERROR_TEXT]


def _dead_letter(sessions: sessionmaker, dead: list[tuple[str | None, str, str]]) -> None:
    with sessions() as session:
        session.add_all(
            DeadLetterEvent(entry_id=entry_id, raw=raw, error=error[:MAX_ERROR_TEXT], failed_at=utcnow())
            for entry_id, raw, error in dead
        )
        session.commit()
    DEAD_LETTERED.inc(len(dead))
    for entry_id, _, error in dead:
        log.error("event dead-lettered (entry %s): %s", entry_id, error)


def replay(session: Session, retention_days: int, ids: Sequence[int] | None = None) -> dict[int, str | None]:
    """Store the dead-lettered events `ids` (all when None) again, each on its own. Returns {id: None when
    stored, else the error}; see `replay_one`. Raises when the database is unreachable."""
    query = sa.select(DeadLetterEvent.id).order_by(DeadLetterEvent.id)
    if ids is not None:
        query = query.where(DeadLetterEvent.id.in_(ids))
    return {
        dead_id: replay_one(session, dead_id, retention_days=retention_days)
        for dead_id in list(session.scalars(query))
    }


class NotDeadLettered(LookupError):
    """No dead-lettered event has this id (never, or already replayed)."""


def replay_one(session: Session, dead_id: int, raw: str | None = None, *, retention_days: int) -> str | None:
    """Store one dead-lettered event, with `raw` (an operator's fix, `Event.encode()` form) in place of its
    text when given; each outcome is committed. Stored: its row is deleted, None is returned. Refused
    again: its row keeps the (fixed) text, the new error and one more attempt, and the error is returned.
    Raises NotDeadLettered, or the database's error when it is unreachable."""
    row = session.get(DeadLetterEvent, dead_id)
    if row is None:
        raise NotDeadLettered(dead_id)
    text = raw if raw is not None else row.raw
    try:
        store_events(session, [Event.decode(text)], retention_days=retention_days)
        session.delete(row)
        session.commit()
        return None
    except Exception as exc:
        session.rollback()
        if is_outage(exc):
            raise
        error = _describe(exc)
    row = session.get(DeadLetterEvent, dead_id)
    row.raw, row.error, row.attempts, row.failed_at = text, error, row.attempts + 1, utcnow()
    session.commit()
    return error
