"""Events into the database, exactly once: rows first (a second copy of an event conflicts and is skipped),
then the hourly aggregates from the rows that were new. Safe to run twice on the same events.

PostgreSQL takes the batch through a staging table and one merge (`app.tracking.staging`). SQLite (the
embedded default) keeps this plain path: statements executed with lists of parameters (SQLAlchemy's batched
"insertmanyvalues"), each compiled once and cached."""

from __future__ import annotations

import json
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from app.creatives.models import Creative
from app.serving.counts import COUNTED, SERVED, read_counts_key
from app.serving.models import AdRequest
from app.serving.money import units_to_currency
from app.tracking import staging
from app.tracking.events import AD_REQUEST, SERVING_COUNTS, Event
from app.tracking.models import (
    EventCountHourly,
    Impression,
    ProcessedBatch,
    ServedAdHourly,
    ServingCountHourly,
    TrackingEvent,
)
from app.tracking.partitions import DEFAULT_RETENTION_DAYS, served_on


def _insert(session: Session, table):
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def hour_of(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp - timestamp % 3600, UTC)


def store_events(
    session: Session, events: list[Event], *, retention_days: int = DEFAULT_RETENTION_DAYS
) -> int:
    """Add the events to the session's transaction; returns how many beacons were new. The caller commits.
    On PostgreSQL, a missing day partition of the raw tables within `retention_days` is made on the way."""
    campaigns = _existing(session, Campaign, {e.campaign_id for e in events if e.campaign_id})
    # Only impressions and ad requests keep a creative id, and only one that still exists.
    creatives = _existing(
        session,
        Creative,
        {e.creative_id for e in events if e.creative_id and e.name in ("impression", AD_REQUEST)},
    )
    beacons = [e for e in events if e.campaign_id in campaigns and e.name not in (AD_REQUEST, SERVING_COUNTS)]
    requests = list({e.request_id: e for e in events if e.name == AD_REQUEST}.values())
    if session.get_bind().dialect.name == "postgresql":
        new = staging.store(session, _first_of_each(beacons), requests, creatives, campaigns, retention_days)
    else:
        added = _store_impressions(session, [e for e in beacons if e.name == "impression"], creatives)
        added += _store_tracking_events(session, [e for e in beacons if e.name != "impression"])
        _add_to_hourly(session, added)
        _store_ad_requests(session, requests, campaigns, creatives)
        new = len(added)
    counts = [e for e in events if e.name == SERVING_COUNTS]
    if counts:
        _add_serving_counts(session, counts)
    return new


def _existing(session: Session, model, ids: set[str]) -> set[str]:
    uuids = {uuid.UUID(i) for i in ids}
    if not uuids:
        return set()
    return {str(i) for i in session.scalars(sa.select(model.id).where(model.id.in_(uuids)))}


def _store_impressions(session: Session, events: list[Event], creatives: set[str]) -> list[Event]:
    if not events:
        return []
    unique = _first_of_each(events)
    rows = [
        {
            "ad_serving_id": e.ad_serving_id,
            "served_on": served_on(e),
            "campaign_id": uuid.UUID(e.campaign_id),
            "creative_id": uuid.UUID(e.creative_id) if e.creative_id in creatives else None,
            "cost": units_to_currency(e.cost_units),
            "ip": e.ip,
            "user_agent": e.user_agent,
            "occurred_at": datetime.fromtimestamp(e.occurred_at, UTC),
        }
        for e in unique
    ]
    statement = (
        _insert(session, Impression)
        .on_conflict_do_nothing(index_elements=["ad_serving_id", "served_on"])
        .returning(Impression.ad_serving_id)
    )
    inserted = set(session.scalars(statement, rows))
    return [e for e in unique if e.ad_serving_id in inserted]


def _store_tracking_events(session: Session, events: list[Event]) -> list[Event]:
    if not events:
        return []
    unique = _first_of_each(events)
    rows = [
        {
            "ad_serving_id": e.ad_serving_id,
            "event": e.name,
            "error_code": e.error_code or "",
            "progress_offset": e.offset or "",
            "served_on": served_on(e),
            "campaign_id": uuid.UUID(e.campaign_id),
            "creative_id": uuid.UUID(e.creative_id),
            "ip": e.ip,
            "user_agent": e.user_agent,
            "occurred_at": datetime.fromtimestamp(e.occurred_at, UTC),
        }
        for e in unique
    ]
    statement = (
        _insert(session, TrackingEvent)
        .on_conflict_do_nothing(
            index_elements=["ad_serving_id", "event", "error_code", "progress_offset", "served_on"]
        )
        .returning(
            TrackingEvent.ad_serving_id,
            TrackingEvent.event,
            TrackingEvent.error_code,
            TrackingEvent.progress_offset,
        )
    )
    inserted = {tuple(row) for row in session.execute(statement, rows)}
    return [e for e in unique if (e.ad_serving_id, e.name, e.error_code or "", e.offset or "") in inserted]


def _first_of_each(events: list[Event]) -> list[Event]:
    """One event per (ad serving id, key) within a batch: a multi-row INSERT may not touch a key twice."""
    seen: dict[tuple[str, str], Event] = {}
    for event in events:
        seen.setdefault((event.ad_serving_id, event.key), event)
    return list(seen.values())


def _add_to_hourly(session: Session, events: list[Event]) -> None:
    counts: Counter = Counter()
    spend: Counter = Counter()
    for e in events:
        hour = hour_of(e.occurred_at)
        key = (hour, e.campaign_id, e.creative_id, e.name, e.error_code or "", e.pod_position, e.supply_tag)
        counts[key] += 1
        spend[key] += e.cost_units
    if not counts:
        return
    rows = [
        {
            "hour": hour,
            "campaign_id": uuid.UUID(campaign),
            "creative_id": uuid.UUID(creative),
            "event": name,
            "error_code": code,
            "pod_position": position,
            "supply_tag_id": tag,
            "count": count,
            "spend_units": spend[(hour, campaign, creative, name, code, position, tag)],
        }
        for (hour, campaign, creative, name, code, position, tag), count in sorted(counts.items())
    ]
    statement = _insert(session, EventCountHourly)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[
                "hour",
                "campaign_id",
                "creative_id",
                "event",
                "error_code",
                "pod_position",
                "supply_tag_id",
            ],
            set_={
                "count": EventCountHourly.count + statement.excluded.count,
                "spend_units": EventCountHourly.spend_units + statement.excluded.spend_units,
            },
        ),
        rows,
    )


def _store_ad_requests(
    session: Session, events: list[Event], campaigns: set[str], creatives: set[str]
) -> None:
    if not events:
        return
    rows = [
        {
            "request_id": e.request_id,
            "ad_serving_id": e.ad_serving_id,
            "campaign_id": uuid.UUID(e.campaign_id) if e.campaign_id in campaigns else None,
            "creative_id": uuid.UUID(e.creative_id) if e.creative_id in creatives else None,
            "duration": json.loads(e.payload)["duration"],
            "ip": e.ip,
            "user_agent": e.user_agent,
            "created_at": datetime.fromtimestamp(e.occurred_at, UTC),
        }
        for e in events
    ]
    session.execute(
        _insert(session, AdRequest).on_conflict_do_nothing(index_elements=["request_id", "created_at"]), rows
    )


def _add_serving_counts(session: Session, events: list[Event]) -> None:
    """Workers' totals (app.serving.counts), each batch added once: per hour and supply tag, requests, fills,
    no-fills and pods, and the ads served per campaign and creative (those of campaigns deleted since are
    dropped). The new batches are summed here first, so each row is upserted once, in key order (two
    flushers lock shared rows in the same order)."""
    batches = {e.ad_serving_id: e for e in events}
    claimed = session.scalars(
        _insert(session, ProcessedBatch)
        .values([{"batch_id": batch, "processed_at": datetime.now(UTC)} for batch in sorted(batches)])
        .on_conflict_do_nothing(index_elements=["batch_id"])
        .returning(ProcessedBatch.batch_id)
    ).all()
    hourly: defaultdict[tuple[float, int], Counter] = defaultdict(Counter)
    served: Counter[tuple[float, str, str, int]] = Counter()
    for batch in claimed:
        for key, totals in json.loads(batches[batch].payload).items():
            hour, supply_tag = read_counts_key(key)
            for pair, ads in totals.pop(SERVED, {}).items():  # absent before ads were counted
                campaign, creative = pair.split("/")
                served[hour, campaign, creative, supply_tag] += ads
            hourly[hour, supply_tag].update(totals)
    if hourly:
        statement = _insert(session, ServingCountHourly)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["hour", "supply_tag_id"],
                set_={
                    name: getattr(ServingCountHourly, name) + getattr(statement.excluded, name)
                    for name in COUNTED
                },
            ),
            [
                {"hour": datetime.fromtimestamp(hour, UTC), "supply_tag_id": supply_tag}
                | {name: hourly[hour, supply_tag][name] for name in COUNTED}
                for hour, supply_tag in sorted(hourly)
            ],
        )
    if not served:
        return
    if session.get_bind().dialect.name == "postgresql":
        staging.add_served(session, served)
        return
    campaigns = _existing(session, Campaign, {campaign for _, campaign, _, _ in served})
    rows = [
        {
            "hour": datetime.fromtimestamp(hour, UTC),
            "campaign_id": uuid.UUID(campaign),
            "creative_id": uuid.UUID(creative),
            "supply_tag_id": supply_tag,
            "ads": ads,
        }
        for (hour, campaign, creative, supply_tag), ads in sorted(served.items())
        if campaign in campaigns
    ]
    if not rows:  # every ad of a campaign deleted since
        return
    statement = _insert(session, ServedAdHourly)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["hour", "campaign_id", "creative_id", "supply_tag_id"],
            set_={"ads": ServedAdHourly.ads + statement.excluded.ads},
        ),
        rows,
    )
