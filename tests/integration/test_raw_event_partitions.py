"""Raw events by day: partitions made ahead and on demand, dropped past the retention, a duplicate refused
whatever day it arrives, the migration carrying existing rows both ways; and the staging path (COPY, or
multi-row INSERTs under a wait callback) storing what the plain path stores."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import psycopg2.extensions
import psycopg2.extras
import pytest
import sqlalchemy as sa

from app import migrate as migrations
from app.db import make_engine
from app.tracking import partitions
from app.tracking.events import AD_REQUEST, Event, StoreUnavailable
from app.tracking.models import DeadLetterEvent, EventCountHourly, Impression, TrackingEvent
from app.tracking.recording import record_durably
from app.tracking.signing import new_ad_serving_id, served_at
from app.tracking.storing import store_events
from tests.factories import CreativeFactory

DAY = 86400


@pytest.fixture
def creative(session):
    return CreativeFactory()


def _midnight(days_from_today: int) -> float:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (today + timedelta(days=days_from_today)).timestamp()


def _impression(creative, ad_serving_id: str, at: float, **fields) -> Event:
    return Event(
        name="impression",
        ad_serving_id=ad_serving_id,
        campaign_id=creative.campaign_id,
        creative_id=creative.id,
        occurred_at=at,
        cost_units=100_000,
        **fields,
    )


def _store(app, events: list[Event], **options) -> int:
    with app.extensions["database"].sessions() as session:
        new = store_events(session, events, **options)
        session.commit()
    return new


def _counted(session, event: str = "impression") -> int:
    total = sa.func.coalesce(sa.func.sum(EventCountHourly.count), 0)
    return session.scalar(sa.select(total).where(EventCountHourly.event == event))


def test_an_ad_serving_id_carries_the_time_the_ad_was_served():
    at = _midnight(0) - 0.5
    assert served_at(new_ad_serving_id(at)) == pytest.approx(at, abs=0.001)
    # An id issued before ids carried their time (22 hex digits): a fixed one, since about one such id in 64
    # happens to have a version 7 id's bits, and is then read as one.
    assert served_at("3f2b8c1d9e7a4b6c8d0e1f") is None
    assert served_at("not-an-id") is None


def test_a_duplicate_beacon_after_midnight_is_refused(app, session, creative):
    """Served at 23:59:59, counted at once, then the player retries after midnight: same day, same key."""
    served = _midnight(0) - 1
    ad = new_ad_serving_id(served)
    start = Event(name="start", ad_serving_id=ad, campaign_id=creative.campaign_id, creative_id=creative.id)
    first = [
        _impression(creative, ad, served + 0.5),
        Event(**{**_fields(start), "occurred_at": served + 0.6}),
    ]
    retry = [_impression(creative, ad, served + 6), Event(**{**_fields(start), "occurred_at": served + 7})]
    assert _store(app, first) == 2
    assert _store(app, retry) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(Impression)) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(TrackingEvent)) == 1
    assert _counted(session) == 1 and _counted(session, "start") == 1
    day = session.scalar(sa.select(Impression.served_on))
    assert day == datetime.fromtimestamp(served, UTC).date()  # yesterday's partition, not today's


def _fields(event: Event) -> dict:
    return {name: getattr(event, name) for name in Event.__slots__}


def test_free_text_goes_through_the_stage_verbatim(app, session, creative, backend):
    agent = "Roku\t4.2\\ \\N \n end"
    assert _store(app, [_impression(creative, new_ad_serving_id(), _midnight(0) + 60, user_agent=agent)]) == 1
    assert session.scalar(sa.select(Impression.user_agent)) == agent


@pytest.mark.parametrize("backend", ["postgresql"])
def test_multi_row_inserts_stage_what_copy_stages(app, session, creative, monkeypatch):
    """psycopg2 refuses COPY under a wait callback (gevent workers): the stage is filled with INSERTs."""
    monkeypatch.setattr(psycopg2.extensions, "get_wait_callback", lambda: psycopg2.extras.wait_select)
    request = Event(
        name=AD_REQUEST,
        ad_serving_id="nofill-r1",
        request_id="r1\tx",
        occurred_at=_midnight(0) + 5,
        payload=json.dumps({"duration": 30}),
        user_agent="tab\there",
    )
    events = [_impression(creative, new_ad_serving_id(), _midnight(0) + 60, user_agent="a\\b"), request]
    assert _store(app, events) == 1
    assert session.scalar(sa.select(Impression.user_agent)) == "a\\b"
    rows = session.execute(sa.text("SELECT request_id, user_agent, duration FROM ad_requests")).all()
    assert [tuple(row) for row in rows] == [("r1\tx", "tab\there", 30.0)]


@pytest.mark.parametrize("backend", ["postgresql"])
def test_partitions_are_made_ahead_and_on_demand(app, session, creative):
    today = partitions.today()
    with app.extensions["database"].sessions() as own:
        partitions.maintain(own, retention_days=30)
        own.commit()
    found = partitions.existing(session)
    for table in partitions.RAW_TABLES:
        for offset in range(-1, partitions.DAYS_AHEAD + 1):
            assert (table, today + timedelta(offset)) in found
    # A beacon of an ad served five days ago (a long BEACON_TTL_SECONDS): its day is made on the way.
    served = _midnight(-5) + 3600
    assert _store(app, [_impression(creative, new_ad_serving_id(served), _midnight(0) + 10)]) == 1
    assert ("impressions", today - timedelta(5)) in partitions.existing(session)
    name = session.execute(sa.text("SELECT tableoid::regclass::text FROM impressions")).scalar_one()
    assert name == f"{partitions.SCHEMA}.impressions_p{today - timedelta(5):%Y%m%d}"


@pytest.mark.parametrize("backend", ["postgresql"])
def test_retention_drops_whole_days_and_refuses_older_events(app, session, creative):
    old_served, kept_served = _midnight(-40) + 60, _midnight(-3) + 60
    assert _store(
        app, [_impression(creative, new_ad_serving_id(old_served), old_served + 1)], retention_days=60
    )
    assert _store(app, [_impression(creative, new_ad_serving_id(kept_served), kept_served + 1)]) == 1
    today = partitions.today()
    with app.extensions["database"].sessions() as own:
        dropped = partitions.drop_expired(own, retention_days=30)
        own.commit()
    assert dropped == [f"{table}_p{today - timedelta(40):%Y%m%d}" for table in sorted(partitions.RAW_TABLES)]
    days = {day for table, day in partitions.existing(session)}
    assert today - timedelta(40) not in days and today - timedelta(3) in days
    assert session.scalar(sa.select(sa.func.count()).select_from(Impression)) == 1
    assert _counted(session) == 2  # the hourly aggregates keep what raw rows no longer hold
    # An event of a day past the retention gets no partition again: the database refuses it.
    with pytest.raises(sa.exc.IntegrityError, match="no partition"):
        _store(app, [_impression(creative, new_ad_serving_id(old_served + 5), old_served + 6)])


def _insert(connection, table: str, row: dict) -> None:
    names = ", ".join(row)
    connection.execute(
        sa.text(f"INSERT INTO {table} ({names}) VALUES ({', '.join(':' + k for k in row)})"), row
    )


@pytest.fixture(params=["postgresql", "sqlite"])
def empty_database(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ads.db'}"
    return request.getfixturevalue("make_postgres_database")("adserver_partitions")


def test_the_migration_carries_raw_events_both_ways(empty_database):
    url = empty_database
    migrations.upgrade(url, "0007")
    engine = make_engine(url)
    campaign, creative = uuid.uuid4().hex, uuid.uuid4().hex
    long_ago = (datetime.now(UTC) - timedelta(days=12)).replace(microsecond=0)
    now = datetime.now(UTC).replace(microsecond=0)
    with engine.begin() as connection:
        _insert(
            connection,
            "campaigns",
            {
                "id": campaign,
                "name": "Before partitions",
                "budget_total": "10.00",
                "cpm": "1.0000",
                "status": "active",
                "start_date": long_ago,
                "end_date": now + timedelta(days=9),
                "created_at": long_ago,
                "updated_at": long_ago,
            },
        )
        for number, at in enumerate((long_ago, now)):
            ad = f"ad-{number}"
            common = {"ad_serving_id": ad, "campaign_id": campaign, "occurred_at": at, "user_agent": "Roku"}
            _insert(connection, "impressions", {**common, "id": uuid.uuid4().hex, "cost": "0.0100000"})
            event = {"event": "complete", "creative_id": creative, "error_code": "", "progress_offset": ""}
            _insert(connection, "tracking_events", {**common, **event})
            _insert(
                connection,
                "ad_requests",
                {"id": uuid.uuid4().hex, "request_id": f"r-{number}", "duration": 30.0, "created_at": at},
            )
    engine.dispose()
    migrations.upgrade(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT ad_serving_id, served_on FROM impressions ORDER BY 1")
        ).all()
        assert [(ad, str(day)) for ad, day in rows] == [
            ("ad-0", str(long_ago.date())),
            ("ad-1", str(now.date())),
        ]
        assert connection.execute(sa.text("SELECT count(*) FROM tracking_events")).scalar_one() == 2
        assert connection.execute(sa.text("SELECT count(*) FROM ad_requests")).scalar_one() == 2
        if engine.dialect.name == "postgresql":
            with sa.orm.Session(bind=connection) as session:
                found = partitions.existing(session)
            assert {("impressions", long_ago.date()), ("ad_requests", now.date())} <= found
        # The same ad on the same day is still refused.
        with pytest.raises(sa.exc.IntegrityError):
            _insert(
                connection,
                "impressions",
                {
                    "ad_serving_id": "ad-0",
                    "served_on": long_ago.date(),
                    "campaign_id": campaign,
                    "cost": "0.0100000",
                    "occurred_at": now,
                },
            )
    engine.dispose()
    migrations.downgrade(url, "0007")
    engine = make_engine(url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM impressions")).scalar_one() == 2
        assert connection.execute(sa.text("SELECT count(*) FROM tracking_events")).scalar_one() == 2
        assert connection.execute(sa.text("SELECT count(*) FROM ad_requests")).scalar_one() == 2
        columns = {c["name"] for c in sa.inspect(connection).get_columns("impressions")}
        assert "id" in columns and "served_on" not in columns
    engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_partition_upkeep_that_fails_never_stops_the_flush(app, monkeypatch, caplog):
    def refuse(*_):
        raise sa.exc.OperationalError("DROP TABLE", {}, Exception("canceling statement due to lock timeout"))

    monkeypatch.setattr(partitions, "maintain", refuse)
    app.extensions["runtime"].flusher.maintain_partitions()  # logged, not raised
    assert "raw event partitions not maintained" in caplog.text


class _Unreachable:
    """An event store whose Redis is down: every beacon falls back to the database."""

    def record(self, event, cap=None, device=None):
        raise StoreUnavailable("down")


@pytest.mark.parametrize("backend", ["postgresql"])
def test_the_fallback_write_keeps_the_configured_retention(app, session, creative):
    served = _midnight(-40) + 60
    event = _impression(creative, new_ad_serving_id(served), served + 1)
    sessions = app.extensions["database"].sessions
    assert record_durably(_Unreachable(), sessions, event, retention_days=60)  # kept 60 days: stored
    older = _midnight(-50) + 60
    late = _impression(creative, new_ad_serving_id(older), older + 1)
    assert not record_durably(_Unreachable(), sessions, late, retention_days=30)  # past 30: dead-lettered
    assert session.scalar(sa.select(sa.func.count()).select_from(DeadLetterEvent)) == 1
