"""Faults between recording and flushing: a Redis restart, a flusher killed mid-batch, a flusher that dies
after committing. Against a Redis of the test's own (persistence as the README recommends) and a committed
PostgreSQL database: acknowledged beacons are never lost and never counted twice."""

import pytest
import sqlalchemy as sa

from app import create_app, migrate
from app.db import get_session
from app.tracking import events as events_module
from app.tracking.flusher import Flusher
from app.tracking.models import EventCountHourly
from tests import factories
from tests.conftest import _with_admin
from tests.factories import CreativeFactory
from tests.serving_helpers import ad_urls, get_vast, refresh


@pytest.fixture
def committed_app(make_postgres_database, make_settings, redis_process):
    url = make_postgres_database("adserver_faults")
    migrate.upgrade(url)
    _with_admin(url)
    app = create_app(make_settings(database_url=url, redis_url=redis_process.url))
    runtime = app.extensions["runtime"]
    runtime.flusher.block_ms = 0
    runtime.start(background=False)
    with app.app_context():
        factories.bind(get_session())
        creative = CreativeFactory()
    refresh(app)
    yield app, creative
    app.extensions["database"].dispose()


def counted(app, event: str) -> int:
    with app.extensions["database"].sessions() as session:
        total = sa.func.coalesce(sa.func.sum(EventCountHourly.count), 0)
        return session.scalar(sa.select(total).where(EventCountHourly.event == event))


def fire_ads(client, n: int) -> list[dict]:
    ads = [ad_urls(get_vast(client)) for _ in range(n)]
    for urls in ads:
        for event in ("impression", "start", "complete"):
            assert client.get(urls[event]).status_code == 204
    return ads


def ten_ads_fired(committed_app):
    """Ten ads' impression, start and complete counted in Redis: (app, runtime, sessionmaker)."""
    app, _ = committed_app
    fire_ads(app.test_client(), 10)
    return app, app.extensions["runtime"], app.extensions["database"].sessions


def drain(flusher) -> None:
    while flusher.flush_once():
        pass


def test_a_redis_restart_before_the_flush_loses_nothing(committed_app, redis_process):
    app, _ = committed_app
    client = app.test_client()
    ads = fire_ads(client, 25)
    redis_process.kill()  # SIGKILL: only what the append-only file holds survives
    redis_process.start()
    for urls in ads[:5]:  # players retrying after the restart: still counted once
        assert client.get(urls["impression"]).headers["X-Beacon"] == "duplicate"
    flusher = app.extensions["runtime"].flusher
    flusher._batch = []
    drain(flusher)
    assert (counted(app, "impression"), counted(app, "start"), counted(app, "complete")) == (25, 25, 25)


def test_a_flusher_killed_mid_batch_leaves_its_events_to_another(committed_app, monkeypatch):
    app, runtime, sessions = ten_ads_fired(committed_app)
    dead = Flusher(runtime.store, sessions, consumer="dead", block_ms=0)
    dead._batch = runtime.store.read_batch("dead", 1000, 0)  # read, then killed before committing
    assert len(dead._batch) == 30
    monkeypatch.setattr(events_module, "CLAIM_IDLE_MS", 0)  # the idle time after which entries are claimed
    survivor = Flusher(runtime.store, sessions, consumer="survivor", block_ms=0)
    drain(survivor)
    assert counted(app, "impression") == 10 and counted(app, "complete") == 10
    assert runtime.store.pending() == 0


def test_a_flusher_that_died_after_committing_counts_nothing_twice(committed_app, monkeypatch):
    app, runtime, sessions = ten_ads_fired(committed_app)
    crashed = Flusher(runtime.store, sessions, consumer="crashed", block_ms=0)
    monkeypatch.setattr(runtime.store, "ack", lambda ids: None)  # committed, then died before XACK
    crashed.flush_once()
    assert counted(app, "impression") == 10
    monkeypatch.undo()
    monkeypatch.setattr(events_module, "CLAIM_IDLE_MS", 0)
    drain(Flusher(runtime.store, sessions, consumer="next", block_ms=0))  # the same entries, again
    assert counted(app, "impression") == 10 and counted(app, "start") == 10
    assert runtime.store.pending() == 0


def test_a_flusher_killed_with_a_batch_read_ahead_leaves_it_to_another(committed_app, monkeypatch):
    app, runtime, sessions = ten_ads_fired(committed_app)
    dead = Flusher(runtime.store, sessions, consumer="dead", block_ms=0, batch_size=12)
    assert dead.flush_once() == 12
    assert len(dead._next[0].result()) == 12  # the next batch, read while the first was stored
    assert counted(app, "impression") + counted(app, "start") + counted(app, "complete") == 12
    monkeypatch.setattr(events_module, "CLAIM_IDLE_MS", 0)  # killed: another claims what it had read
    drain(Flusher(runtime.store, sessions, consumer="survivor", block_ms=0))
    assert (counted(app, "impression"), counted(app, "start"), counted(app, "complete")) == (10, 10, 10)
    assert runtime.store.pending() == 0
