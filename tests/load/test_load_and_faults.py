"""The product's load test and its faults, against the real stack on loopback: gunicorn with gevent
workers (the project's config), PostgreSQL and Redis of the test's own. Bounded in time; asserts counts,
never timings.

After each run, every acknowledged beacon must be in the database exactly once: lost = acknowledged but
not stored, doubled = counted more than once (aggregates above the rows)."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.request

import pytest
import sqlalchemy as sa

from harness.servers import AppServer, PostgresCluster, RedisServer, wait_until
from tests.load.players import LoadResult, run_players

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("load")]

SECRET = "load-test-secret-" + "x" * 32
ADMIN = ("admin@example.com", "load-test-password")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    directory = tmp_path_factory.mktemp("stack")
    postgres = PostgresCluster().init().start()
    redis_server = RedisServer(directory / "redis").start()
    database_url = postgres.create_database("ads")
    server = AppServer(
        {
            "APP_ENV": "production",
            "SECRET_KEY": SECRET,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_server.url,
            "STORAGE_DIR": str(directory / "creatives"),
            "EVENT_FLUSHER": "inprocess",
            "ADMIN_EMAIL": ADMIN[0],
            "ADMIN_PASSWORD": ADMIN[1],
        },
        workers=2,
        log=directory / "gunicorn.log",
    )
    server.flask("migrate")
    server.flask("ensure-admin")
    server.flask("seed-demo")
    server.start()
    engine = sa.create_engine(
        database_url.replace("postgresql://", "postgresql+psycopg2://"), pool_pre_ping=True
    )
    stack = {
        "server": server,
        "postgres": postgres,
        "redis": redis_server,
        "engine": engine,
        "log": server.log_path,
    }
    stack["mobile_campaign"] = target_campaigns(stack, directory)
    yield stack
    server.stop()
    engine.dispose()
    redis_server.stop()
    postgres.destroy()


# Targeting on, as production runs it: the demo campaign's rules (3, each one the players' requests meet)
# keep it serving them, and a campaign for mobiles only never serves them.
DEMO_TARGETING = {
    "device_type": {"exclude": ["mobile"]},
    "country": {"exclude": ["FR", "DE"]},
    "day_part": {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
}


def target_campaigns(stack, directory) -> str:
    """Targeting on for the demo campaign; returns the id of an active campaign for mobiles only."""
    from tests.media_files import make_mp4

    admin_post(
        stack, f"/api/v1/campaigns/{demo_campaign(stack)}", {"targeting": DEMO_TARGETING}, method="PATCH"
    )
    mobile = admin_post(
        stack,
        "/api/v1/campaigns",
        {
            "name": "Mobiles only",
            "budget_total": "1000.00",
            "start_date": "2026-01-01T00:00:00Z",
            "end_date": "2030-01-01T00:00:00Z",
            "targeting": {"device_type": {"include": ["mobile"]}},
        },
    )
    upload_creative(stack, mobile["id"], make_mp4(directory / "mobile.mp4", seconds=15.0))
    admin_put(stack, f"/api/v1/campaigns/{mobile['id']}/status", {"status": "active"})
    time.sleep(1.5)  # the catalog loop picks both up
    return mobile["id"]


def stored(engine, serving_ids: set[str]) -> tuple[set, int]:
    """(ad serving id, event) rows in the database for these ads, and the aggregates' total over them."""
    ids = list(serving_ids)
    with engine.connect() as connection:
        rows = set()
        for chunk in range(0, len(ids), 1000):
            part = ids[chunk : chunk + 1000]
            rows |= {
                (sid, "impression")
                for (sid,) in connection.execute(
                    sa.text("SELECT ad_serving_id FROM impressions WHERE ad_serving_id = ANY(:ids)"),
                    {"ids": part},
                )
            }
            rows |= set(
                connection.execute(
                    sa.text(
                        "SELECT ad_serving_id, event FROM tracking_events WHERE ad_serving_id = ANY(:ids)"
                    ),
                    {"ids": part},
                ).all()
            )
        aggregated = connection.execute(
            sa.text("SELECT COALESCE(SUM(count), 0) FROM event_counts_hourly")
        ).scalar()
        all_rows = connection.execute(
            sa.text("SELECT (SELECT COUNT(*) FROM impressions) + (SELECT COUNT(*) FROM tracking_events)")
        ).scalar()
    return rows, aggregated - all_rows


def settle(stack, result: LoadResult, timeout: float = 90) -> dict:
    """Wait for the flushers to store what was acknowledged; report lost and doubled."""
    serving_ids = {sid for sid, _ in result.acknowledged}

    def flushed():
        try:
            rows, _ = stored(stack["engine"], serving_ids)
        except sa.exc.OperationalError:
            return False
        return result.acknowledged <= rows

    with contextlib.suppress(TimeoutError):  # what is missing then is reported as lost
        wait_until(flushed, timeout, interval=1, what="every acknowledged beacon stored")
    rows, doubled = stored(stack["engine"], serving_ids)
    return {
        "lost": len(result.acknowledged - rows),
        "unacknowledged_stored": len(rows - result.acknowledged),
        "doubled": doubled,
    }


def assert_clean(result: LoadResult, figures: dict) -> None:
    assert result.ads > 100, result.statuses
    assert result.vast_failures == 0 and result.validated > 0
    assert figures["lost"] == 0, figures
    assert figures["doubled"] == 0, figures
    assert result.unacknowledged == [], result.unacknowledged[:5]


def test_100_concurrent_players_every_acknowledged_beacon_counted_once(stack):
    result = run_players(stack["server"].base_url, clients=100, seconds=10)
    figures = settle(stack, result)
    assert_clean(result, figures)
    errors = {key: n for key, n in result.statuses.items() if not 200 <= key[1] < 400}
    assert errors == {}, errors
    # The stats API agrees with the acknowledgements, event by event.
    stats = admin_get(stack, f"/api/v1/campaigns/{demo_campaign(stack)}/stats")
    assert stats["impressions"] >= result.acked_events("impression")
    # Targeting held under load: the players are no mobiles.
    assert (
        admin_get(stack, f"/api/v1/campaigns/{stack['mobile_campaign']}/stats?granularity=day")["impressions"]
        == 0
    )
    print(f"\nload: {result.ads} ads, {len(result.acknowledged)} beacons acknowledged, figures {figures}")


def test_sigkill_of_a_worker_under_load(stack):
    server = stack["server"]
    killed = []

    def fault(elapsed):
        if elapsed > 3 and not killed:
            killed.append(server.kill_worker())

    result = run_players(server.base_url, clients=100, seconds=10, during=fault)
    wait_until(lambda: len(server.worker_pids()) == 2, 30, what="gunicorn replacing the worker")
    figures = settle(stack, result)  # the dead worker's pending batch is claimed by the other after 15 s
    assert killed and killed[0] not in server.worker_pids()
    assert_clean(result, figures)
    print(f"\nworker kill: {result.ads} ads, {len(result.acknowledged)} acknowledged, figures {figures}")


def test_redis_restart_under_load(stack):
    restarted = []

    def fault(elapsed):
        if elapsed > 3 and not restarted:
            stack["redis"].restart()  # SIGKILL then start: the append-only file is all that survives
            restarted.append(elapsed)

    result = run_players(stack["server"].base_url, clients=100, seconds=10, during=fault)
    figures = settle(stack, result)
    assert restarted
    assert_clean(result, figures)
    print(f"\nredis restart: {result.ads} ads, {len(result.acknowledged)} acknowledged, figures {figures}")


def test_postgres_down_for_30_seconds_under_load(stack):
    postgres = stack["postgres"]
    state = {}

    def fault(elapsed):
        if elapsed > 2 and "stopped" not in state:
            postgres.stop("fast")
            state["stopped"] = elapsed
        if "stopped" in state and "started" not in state and elapsed > state["stopped"] + 30:
            postgres.start()
            state["started"] = elapsed

    result = run_players(stack["server"].base_url, clients=100, seconds=36, during=fault)
    assert "started" in state
    vast_errors = {key: n for key, n in result.statuses.items() if key[0] == "vast" and key[1] != 200}
    assert vast_errors == {}, vast_errors  # /vast kept answering from its catalog
    figures = settle(stack, result, timeout=120)  # the flusher catches up after its retries
    assert_clean(result, figures)
    print(
        f"\npostgres down 30 s: {result.ads} ads, {len(result.acknowledged)} acknowledged, figures {figures}"
    )


def test_overspend_under_100_concurrent_players_stays_within_the_bound(stack, tmp_path):
    from tests.media_files import make_mp4

    budget_impressions = 200
    campaign = admin_post(
        stack,
        "/api/v1/campaigns",
        {
            "name": "Small budget",
            "budget_total": "2.00",
            "cpm": "10",
            "pacing": "asap",  # the bound under test is the budget's, not the pacing line's
            "start_date": "2026-01-01T00:00:00Z",
            "end_date": "2030-01-01T00:00:00Z",
        },
    )
    upload_creative(stack, campaign["id"], make_mp4(tmp_path / "six.mp4", seconds=6.0))
    admin_put(stack, f"/api/v1/campaigns/{campaign['id']}/status", {"status": "active"})
    time.sleep(1.5)  # the catalog loop picks the campaign up
    result = run_players(stack["server"].base_url, clients=100, seconds=8, query="max_duration=6")
    settle(stack, result)
    impressions = result.acked_events("impression")
    overspend = max(impressions - budget_impressions, 0)
    bound = 100 + 2  # ads in flight (at most one per player) + one per worker
    print(f"\noverspend: {impressions} impressions for {budget_impressions}: {overspend} over, bound {bound}")
    assert impressions >= budget_impressions  # the budget was spent
    assert overspend <= bound
    wait_until(
        lambda: admin_get(stack, f"/api/v1/campaigns/{campaign['id']}")["status"] == "completed",
        20,
        what="the spent campaign completed",
    )


# --- the admin API, over HTTP -------------------------------------------------------------------------------


def _request(stack, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    request = urllib.request.Request(
        stack["server"].base_url + path, data=body, method=method, headers=headers or {}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def _token(stack) -> str:
    if "token" not in stack:
        body = json.dumps({"email": ADMIN[0], "password": ADMIN[1]}).encode()
        stack["token"] = _request(
            stack, "POST", "/api/v1/auth/login", body, {"Content-Type": "application/json"}
        )["token"]
    return stack["token"]


def admin_get(stack, path: str):
    return _request(stack, "GET", path, headers={"Authorization": f"Bearer {_token(stack)}"})


def admin_post(stack, path: str, data: dict, method: str = "POST"):
    headers = {"Authorization": f"Bearer {_token(stack)}", "Content-Type": "application/json"}
    return _request(stack, method, path, json.dumps(data).encode(), headers)


def admin_put(stack, path: str, data: dict):
    return admin_post(stack, path, data, method="PUT")


def upload_creative(stack, campaign_id: str, video) -> dict:
    boundary = "----adserver-load-test"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nSix seconds\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="six.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        + video.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {
        "Authorization": f"Bearer {_token(stack)}",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }
    return _request(stack, "POST", f"/api/v1/campaigns/{campaign_id}/creatives", body, headers)


def demo_campaign(stack) -> str:
    return admin_get(stack, "/api/v1/campaigns?status=active")["items"][-1]["id"]
