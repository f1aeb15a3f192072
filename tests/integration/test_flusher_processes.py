"""Several flusher processes share one stream (a Redis consumer group): three `flask flush-events` drain a
backlog while one is SIGKILLed holding entries it had read; the others claim them after CLAIM_IDLE_MS, and
every event is stored exactly once (rows, hourly counts, nothing dead-lettered, nothing left pending)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from app import migrate as migrations
from app.tracking.events import CONSUMER_GROUP, Event, consumer_name
from app.tracking.signing import new_ad_serving_id
from harness.servers import PROJECT_ROOT, wait_until
from tests import factories

BEACONS = ("impression", "start", "firstQuartile", "midpoint", "thirdQuartile", "complete")
ADS = 2500
PREFIX = "flushers:"


def _fill(client: redis.Redis, creative) -> None:
    pipe = client.pipeline(transaction=False)
    now = time.time()
    for number in range(ADS):
        ad = new_ad_serving_id()
        for name in BEACONS:
            event = Event(
                name=name,
                ad_serving_id=ad,
                campaign_id=creative.campaign_id,
                creative_id=creative.id,
                occurred_at=now,
                cost_units=1000,
                ip=f"198.51.100.{number % 250 + 1}",
                user_agent="Roku/DVP-12.5",
            )
            pipe.xadd(f"{PREFIX}events", {"e": event.encode()})
    pipe.execute()


def _held_by(client: redis.Redis, pid: int) -> int:
    entries = client.xpending_range(
        f"{PREFIX}events", CONSUMER_GROUP, "-", "+", 10, consumername=consumer_name(pid)
    )
    return len(entries)


@pytest.mark.slow
def test_three_flushers_one_killed_store_every_event_once(make_postgres_database, redis_process, tmp_path):
    url = make_postgres_database("adserver_flushers")
    migrations.upgrade(url)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with sa.orm.Session(engine, expire_on_commit=False) as session:
        factories.bind(session)
        creative = factories.CreativeFactory()
    client = redis.Redis.from_url(redis_process.url)
    _fill(client, creative)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": redis_process.url,
        "REDIS_KEY_PREFIX": PREFIX,
        "EVENT_FLUSHER": "external",
        "EVENT_FLUSH_BATCH": "300",
        "STORAGE_DIR": str(tmp_path / "creatives"),
        "LOG_LEVEL": "WARNING",
    }
    command = [str(Path(sys.executable).parent / "flask"), "--app", "app", "flush-events"]
    flushers = [
        subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(3)
    ]
    total = ADS * len(BEACONS)
    try:
        wait_until(lambda: client.xlen(f"{PREFIX}events") < total * 0.8, 60, what="flushing under way")
        victim = flushers[0]

        def stopped_holding_entries() -> bool:  # to kill it while it holds entries it has not acknowledged
            victim.send_signal(signal.SIGSTOP)
            if _held_by(client, victim.pid):
                return True
            victim.send_signal(signal.SIGCONT)
            return False

        wait_until(stopped_holding_entries, 60, interval=0.02, what="the victim holding entries")
        victim.kill()
        victim.wait(10)
        assert client.xlen(f"{PREFIX}events") > 0
        wait_until(lambda: client.xlen(f"{PREFIX}events") == 0, 120, interval=0.5, what="the stream drained")
        assert client.xpending(f"{PREFIX}events", CONSUMER_GROUP)["pending"] == 0
    finally:
        for process in flushers:
            if process.poll() is None:
                process.terminate()
                process.wait(30)
    with engine.connect() as connection:
        counts = dict(
            connection.execute(sa.text("SELECT event, sum(count) FROM event_counts_hourly GROUP BY 1")).all()
        )
        rows = connection.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM impressions), (SELECT count(*) FROM tracking_events), "
                "(SELECT count(*) FROM dead_letter_events)"
            )
        ).one()
    engine.dispose()
    assert counts == dict.fromkeys(BEACONS, ADS)
    assert tuple(rows) == (ADS, ADS * (len(BEACONS) - 1), 0)
