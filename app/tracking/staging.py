"""Events into PostgreSQL the fast way: one COPY of the batch into a temporary staging table, then one
statement that merges it into the raw tables (`INSERT … SELECT … ON CONFLICT DO NOTHING`) and adds the rows
that were new to the hourly aggregates. Exactly once as in `app.tracking.storing` (whose plain path SQLite
keeps): a row already stored conflicts on its key and is skipped, and only new rows are counted.

COPY is what pays here: the rows travel as one text stream parsed by the server, against a statement of
bound parameters per row (about 3 µs of client time per event against 10, and twice the rows per second of
the database, measured with psycopg2 on PostgreSQL 15). psycopg2 refuses COPY under a wait callback (a
gevent web worker's in-process flusher, or its fallback write when Redis is down): there the stage is
filled by multi-row INSERTs, and merged the same way.
"""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import psycopg2.extensions
import psycopg2.extras
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.serving.money import UNITS_PER_CURRENCY
from app.tracking import partitions
from app.tracking.events import AD_REQUEST, Event

STAGE = "flush_stage"
_EPOCH = date(1970, 1, 1)
# Emptied at each commit. The DELETE before each COPY is for a caller that stores twice in one transaction.
_CREATE_STAGE = f"""
CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE} (
    name text NOT NULL, ad_serving_id text NOT NULL, served_day integer NOT NULL, campaign_id uuid,
    creative_id uuid, stored_creative_id uuid, occurred_at double precision NOT NULL, hour bigint NOT NULL,
    cost_units bigint NOT NULL, error_code text NOT NULL, progress_offset text NOT NULL,
    pod_position smallint NOT NULL, ip inet, user_agent text, request_id text, duration double precision,
    supply_tag integer NOT NULL
) ON COMMIT DELETE ROWS
"""
_COLUMNS = (
    "name, ad_serving_id, served_day, campaign_id, creative_id, stored_creative_id, occurred_at, hour, "
    "cost_units, error_code, progress_offset, pod_position, ip, user_agent, request_id, duration, supply_tag"
)
# The hourly rows are upserted in key order: two flushers then lock them in the same order (no deadlock).
_MERGE = sa.text(
    f"""
WITH staged AS (
    SELECT s.*, DATE '1970-01-01' + s.served_day AS served_on, to_timestamp(s.occurred_at) AS at
    FROM {STAGE} s
), new_impressions AS (
    INSERT INTO impressions (ad_serving_id, served_on, campaign_id, creative_id, cost, ip, user_agent,
                             occurred_at)
    SELECT ad_serving_id, served_on, campaign_id, stored_creative_id,
           cost_units::numeric / :units_per_currency, ip, user_agent, at
    FROM staged WHERE name = 'impression'
    ON CONFLICT DO NOTHING
    RETURNING ad_serving_id, served_on
), new_beacons AS (
    INSERT INTO tracking_events (ad_serving_id, event, error_code, progress_offset, served_on, campaign_id,
                                 creative_id, ip, user_agent, occurred_at)
    SELECT ad_serving_id, name, error_code, progress_offset, served_on, campaign_id, creative_id, ip,
           user_agent, at
    FROM staged WHERE name NOT IN ('impression', '{AD_REQUEST}')
    ON CONFLICT DO NOTHING
    RETURNING ad_serving_id, event, error_code, progress_offset, served_on
), new_requests AS (
    INSERT INTO ad_requests (request_id, ad_serving_id, campaign_id, creative_id, duration, ip, user_agent,
                             created_at)
    SELECT request_id, ad_serving_id, campaign_id, stored_creative_id, duration, ip, user_agent, at
    FROM staged WHERE name = '{AD_REQUEST}'
    ON CONFLICT DO NOTHING
    RETURNING 1
), counted AS (
    SELECT s.* FROM staged s JOIN new_impressions n USING (ad_serving_id, served_on)
    WHERE s.name = 'impression'
    UNION ALL
    SELECT s.* FROM staged s JOIN new_beacons n
        ON (n.ad_serving_id, n.event, n.error_code, n.progress_offset, n.served_on)
         = (s.ad_serving_id, s.name, s.error_code, s.progress_offset, s.served_on)
), added AS (
    INSERT INTO event_counts_hourly (hour, campaign_id, creative_id, event, error_code, pod_position,
                                     supply_tag_id, count, spend_units)
    SELECT to_timestamp(hour), campaign_id, creative_id, name, error_code, pod_position, supply_tag, count(*),
           sum(cost_units)
    FROM counted GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (hour, campaign_id, creative_id, event, error_code, pod_position, supply_tag_id) DO UPDATE
    SET count = event_counts_hourly.count + excluded.count,
        spend_units = event_counts_hourly.spend_units + excluded.spend_units
    RETURNING 1
)
SELECT (SELECT count(*) FROM counted), (SELECT count(*) FROM added), (SELECT count(*) FROM new_requests)
"""  # noqa: S608 (names are constants, values bound)
)
_NULL = "\\N"
_FREE_TEXT = (1, 13, 14)  # ad_serving_id, user_agent, request_id in _COLUMNS
# COPY's text format: backslash, tab, newline and carriage return are escaped; the rest goes as is.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def store(
    session: Session,
    beacons: list[Event],
    ad_requests: list[Event],
    creatives: set[str],
    campaigns: set[str],
    retention_days: int,
) -> int:
    """Stage and merge `beacons` (each of an existing campaign, one per key) and `ad_requests` (one per
    request id); returns how many beacons were new. The caller commits."""
    if not beacons and not ad_requests:
        return 0
    rows = [
        _row(e, partitions.served_day(e), e.creative_id if e.creative_id in creatives else None)
        for e in beacons
    ]
    for e in ad_requests:
        campaign = e.campaign_id if e.campaign_id in campaigns else None
        creative = e.creative_id if e.creative_id in creatives else None
        rows.append(
            _row(e, int(e.occurred_at // 86400), creative, campaign, json.loads(e.payload)["duration"])
        )
    days = {row[2] for row in rows}
    partitions.ensure(session, (_EPOCH + timedelta(days=day) for day in days), retention_days)
    session.execute(sa.text(_CREATE_STAGE))
    session.execute(sa.text(f"DELETE FROM {STAGE}"))  # noqa: S608 (a constant)
    with session.connection().connection.cursor() as cursor:  # the session's own DBAPI connection
        if psycopg2.extensions.get_wait_callback() is None:
            cursor.copy_expert(f"COPY {STAGE} ({_COLUMNS}) FROM STDIN", _copy_text(rows))
        else:
            psycopg2.extras.execute_values(
                cursor,
                f"INSERT INTO {STAGE} ({_COLUMNS}) VALUES %s",  # noqa: S608 (constants)
                rows,
                page_size=1000,
            )
    counted, _, _ = session.execute(_MERGE, {"units_per_currency": UNITS_PER_CURRENCY}).one()
    return counted


# The batches' ads served, summed by key (app.tracking.storing): one statement, arrays in, ads of a campaign
# deleted since dropped by the join, rows locked in key order.
_ADD_SERVED = sa.text(
    """
INSERT INTO served_ads_hourly (hour, campaign_id, creative_id, supply_tag_id, ads)
SELECT to_timestamp(s.hour), s.campaign_id, s.creative_id, s.supply_tag_id, s.ads
FROM unnest(CAST(:hours AS double precision[]), CAST(:campaigns AS uuid[]), CAST(:creatives AS uuid[]),
            CAST(:supply_tags AS integer[]), CAST(:ads AS bigint[]))
     AS s (hour, campaign_id, creative_id, supply_tag_id, ads)
JOIN campaigns c ON c.id = s.campaign_id
ORDER BY 1, 2, 3, 4
ON CONFLICT (hour, campaign_id, creative_id, supply_tag_id) DO UPDATE
SET ads = served_ads_hourly.ads + excluded.ads
"""
)


def add_served(session: Session, served: dict[tuple[float, str, str, int], int]) -> None:
    """Add {(hour in epoch seconds, campaign id, creative id, supply tag): ads} to served_ads_hourly, each key
    once (ON CONFLICT cannot update a row twice in one statement)."""
    keys = sorted(served)
    session.execute(
        _ADD_SERVED,
        {
            "hours": [key[0] for key in keys],
            "campaigns": [key[1] for key in keys],
            "creatives": [key[2] for key in keys],
            "supply_tags": [key[3] for key in keys],
            "ads": [served[key] for key in keys],
        },
    )


def _row(
    event: Event,
    day: int,
    stored_creative: str | None,
    campaign: str | None = "",
    duration: float | None = None,
) -> tuple:
    """The stage's columns, in `_COLUMNS` order."""
    at = event.occurred_at
    return (
        event.name,
        event.ad_serving_id,
        day,
        event.campaign_id if campaign == "" else campaign,
        event.creative_id,
        stored_creative,
        at,
        int(at - at % 3600),
        event.cost_units,
        event.error_code or "",
        event.offset or "",
        event.pod_position,
        event.ip,
        event.user_agent,
        event.request_id,
        duration,
        event.supply_tag,
    )


def _copy_text(rows: list[tuple]) -> io.StringIO:
    """COPY's text format: \\N for NULL; backslash, tab, newline and carriage return escaped in the free
    text (ad serving id, user agent, request id: the other columns are numbers, ids and checked codes)."""
    lines = []
    for row in rows:
        line = [_NULL if value is None else value if type(value) is str else repr(value) for value in row]
        for index in _FREE_TEXT:
            value = line[index]
            if value is not _NULL and ("\\" in value or not value.isprintable()):
                line[index] = value.translate(_ESCAPES)
        lines.append("\t".join(line))
    lines.append("")
    return io.StringIO("\n".join(lines))
