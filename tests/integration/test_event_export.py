"""Log-level data: the closed hours of raw events written as Parquet, read back with pyarrow and matched to
the rows stored; written once, rewritten when late events change an hour, never an open hour."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from app.creatives.storage import LocalStorage
from app.tracking import export
from app.tracking.events import AD_REQUEST, Event
from app.tracking.models import EventExport, Impression, TrackingEvent
from app.tracking.signing import new_ad_serving_id
from app.tracking.storing import store_events
from tests.factories import CreativeFactory

NOW = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)
DELAY = timedelta(minutes=5)
TTL = timedelta(days=1)


@pytest.fixture
def creative(session):
    return CreativeFactory()


@pytest.fixture
def target(tmp_path):
    return LocalStorage(tmp_path / "exports")


def _hour(hours_ago: int) -> datetime:
    return NOW.replace(minute=0) - timedelta(hours=hours_ago)


def _ad(creative, at: datetime, **fields) -> list[Event]:
    """An impression with its start and an error, received at `at`."""
    ad = new_ad_serving_id(at.timestamp() - 1)
    common = {"ad_serving_id": ad, "campaign_id": creative.campaign_id, "creative_id": creative.id}
    return [
        Event(name="impression", occurred_at=at.timestamp(), cost_units=12_345, **common, **fields),
        Event(name="start", occurred_at=at.timestamp() + 1, **common, **fields),
        Event(name="error", error_code="402", occurred_at=at.timestamp() + 2, **common, **fields),
    ]


def _store(app, events: list[Event]) -> None:
    with app.extensions["database"].sessions() as session:
        store_events(session, events)
        session.commit()


def _export(app, target, now: datetime = NOW) -> list:
    with app.extensions["database"].sessions() as session:
        return export.export_hours(session, target, now=now, delay=DELAY, beacon_ttl=TTL)


def _read(target: LocalStorage, table: str, hour: datetime):
    return pq.read_table(target.path(export.object_key(table, hour))).to_pylist()


def test_each_closed_hour_is_written_once_and_matches_the_stored_rows(app, session, creative, target):
    two_ago, one_ago = _hour(2), _hour(1)
    events = _ad(creative, two_ago + timedelta(minutes=10), user_agent="Roku/DVP-14.5")
    events += _ad(creative, two_ago + timedelta(minutes=50)) + _ad(creative, one_ago + timedelta(minutes=1))
    request = Event(
        name=AD_REQUEST,
        ad_serving_id="nofill-r1",
        request_id="r1",
        occurred_at=(one_ago + timedelta(minutes=2)).timestamp(),
        payload=json.dumps({"duration": 30}),
    )
    _store(app, [*events, request, *_ad(creative, NOW)])  # the last one: in the open hour

    written = _export(app, target)
    assert sorted(written) == sorted(
        [
            ("impressions", two_ago, 2),
            ("impressions", one_ago, 1),
            ("tracking_events", two_ago, 4),
            ("tracking_events", one_ago, 2),
            ("ad_requests", one_ago, 1),
        ]
    )
    impressions = _read(target, "impressions", two_ago)
    stored = session.execute(
        sa.select(Impression.ad_serving_id, Impression.cost, Impression.user_agent, Impression.occurred_at)
        .where(Impression.occurred_at >= two_ago, Impression.occurred_at < one_ago)
        .order_by(Impression.occurred_at)
    ).all()
    columns = ("ad_serving_id", "cost", "user_agent", "occurred_at")
    assert [tuple(row[name] for name in columns) for row in impressions] == [tuple(row) for row in stored]
    assert impressions[0]["cost"] == Decimal("0.0012345")
    assert impressions[0]["campaign_id"] == str(creative.campaign_id)
    assert "ip" not in impressions[0]  # the viewer's address stays in the database
    events = _read(target, "tracking_events", two_ago)
    assert sorted((row["event"], row["error_code"]) for row in events) == [
        ("error", "402"),
        ("error", "402"),
        ("start", ""),
        ("start", ""),
    ]
    assert _read(target, "ad_requests", one_ago)[0]["duration"] == 30.0
    assert not target.exists(export.object_key("impressions", NOW.replace(minute=0)))

    assert _export(app, target) == []  # nothing changed: nothing written again


def test_an_hour_is_written_again_when_late_events_change_it(app, session, creative, target):
    hour = _hour(3)
    _store(app, _ad(creative, hour + timedelta(minutes=5)))
    assert ("impressions", hour, 1) in _export(app, target)

    _store(app, _ad(creative, hour + timedelta(minutes=6)))  # flushed after the export, e.g. an outage
    assert ("impressions", hour, 2) in _export(app, target)
    assert len(_read(target, "impressions", hour)) == 2
    recorded = session.scalar(
        sa.select(EventExport.rows).where(EventExport.table_name == "impressions", EventExport.hour == hour)
    )
    assert recorded == 2


def test_an_hour_waits_for_the_delay_and_hours_past_the_lookback_are_final(app, creative, target):
    just_closed = NOW.replace(minute=0)
    _store(app, _ad(creative, just_closed - timedelta(minutes=30)))
    assert _export(app, target, now=just_closed + DELAY - timedelta(seconds=1)) == []
    assert _export(app, target, now=just_closed + DELAY)

    old = _hour(export.LOOKBACK_HOURS + 2)
    _store(app, _ad(creative, old + timedelta(minutes=1)))
    assert _export(app, target) == []
    with app.extensions["database"].sessions() as session:
        written = export.export_hours(
            session, target, now=NOW, delay=DELAY, beacon_ttl=TTL, since=old
        )  # what `flask export-events --since` does
    assert ("impressions", old, 1) in written


def test_the_flusher_exports_on_its_schedule(app, session, creative, target, monkeypatch):
    flusher = app.extensions["runtime"].flusher
    _store(app, _ad(creative, _hour(2)))
    settings = app.config["SETTINGS"]
    flusher.exporter = lambda: export.export_once(app.extensions["database"].sessions, target, settings)
    flusher.export_seconds = 60
    flusher._last_export -= 61
    flusher.flush_once()
    assert target.exists(export.object_key("tracking_events", _hour(2)))
    assert session.scalar(sa.select(sa.func.count()).select_from(TrackingEvent)) == 2


def test_the_command_writes_the_hours_since_a_day(app, creative):
    old = _hour(export.LOOKBACK_HOURS + 3)
    _store(app, _ad(creative, old + timedelta(minutes=1)))
    result = app.test_cli_runner().invoke(args=["export-events", "--since", f"{old:%Y-%m-%d}"])
    assert result.exit_code == 0, result.output
    assert f"impressions\t{old.isoformat()}\t1 rows" in result.output
    target = export.make_target(app.config["SETTINGS"])
    assert len(_read(target, "tracking_events", old)) == 2


@pytest.mark.parametrize("backend", ["postgresql"])
def test_files_go_to_the_private_events_bucket(app, creative, make_settings, s3_bucket, s3_endpoint):
    settings = make_settings(event_export_bucket=s3_bucket, s3_endpoint_url=s3_endpoint)
    target = export.make_target(settings)
    hour = _hour(1)
    _store(app, _ad(creative, hour + timedelta(minutes=3)))
    assert ("impressions", hour, 1) in _export(app, target)
    body = target.client.get_object(Bucket=s3_bucket, Key=export.object_key("impressions", hour))["Body"]
    assert pq.read_table(pa.BufferReader(body.read())).column("campaign_id").to_pylist() == [
        str(creative.campaign_id)
    ]
