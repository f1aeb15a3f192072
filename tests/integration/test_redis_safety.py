"""A Redis that could lose or double count acknowledged events is refused in production: each eviction
policy and durability mode against a Redis of the test's own, read through INFO as on ElastiCache."""

from __future__ import annotations

import logging

import pytest
import redis

from app import create_app, migrate
from app.metrics import REDIS_UNSAFE
from app.tracking.redis_safety import problems_of
from harness.servers import wait_until
from tests.conftest import _with_admin
from tests.factories import CreativeFactory, bind
from tests.serving_helpers import ad_urls, get_vast, refresh

PRODUCTION_SECRET = "production-secret-that-is-long-enough-0123456789"


@pytest.fixture(scope="module")
def committed_database(make_postgres_database):
    url = make_postgres_database("adserver_redis_safety")
    migrate.upgrade(url)
    _with_admin(url)
    return url


@pytest.fixture
def production_app(make_settings, committed_database):
    apps = []

    def make(redis_url: str, wait_replicas: int = 0):
        settings = make_settings(
            app_env="production",
            secret_key=PRODUCTION_SECRET,
            public_base_url="http://localhost",
            database_url=committed_database,
            redis_url=redis_url,
            redis_wait_replicas=wait_replicas,
        )
        app = create_app(settings)
        app.extensions["runtime"].start(background=False)
        apps.append(app)
        with app.app_context():
            bind(app.extensions["database"].sessions())
            CreativeFactory()
        refresh(app)
        return app

    yield make
    for app in apps:
        app.extensions["database"].dispose()


@pytest.mark.parametrize("policy", ["allkeys-lru", "volatile-lru", "allkeys-random", "volatile-ttl"])
def test_an_evicting_redis_refuses_beacons_in_production(start_redis, production_app, policy, caplog):
    server = start_redis("--maxmemory-policy", policy, durable=True)
    caplog.set_level(logging.ERROR, "app.tracking.redis_safety")
    app = production_app(server.url)
    client = app.test_client()
    urls = ad_urls(get_vast(client))  # ads are still served
    response = client.get(urls["impression"])
    assert response.status_code == 503 and "X-Beacon" not in response.headers
    assert redis.Redis.from_url(server.url).xlen("adserver:events") == 0  # nothing acknowledged, nothing kept
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert f"maxmemory-policy is {policy}" in ready.get_json()["checks"]["redis_eviction_policy"]
    assert client.get("/readyz/serving").status_code == 503
    assert REDIS_UNSAFE.labels("eviction_policy")._value.get() == 1
    assert f"maxmemory-policy is {policy}" in caplog.text and "refusing beacons" in caplog.text


def test_a_redis_without_durability_refuses_beacons_in_production(start_redis, production_app):
    server = start_redis("--maxmemory-policy", "noeviction", durable=False)
    app = production_app(server.url)
    client = app.test_client()
    assert client.get(ad_urls(get_vast(client))["impression"]).status_code == 503
    assert "appendfsync always" in client.get("/readyz").get_json()["checks"]["redis_durability"]


def test_aof_synced_on_every_write_and_noeviction_serve(start_redis, production_app):
    server = start_redis("--maxmemory-policy", "noeviction", durable=True)
    app = production_app(server.url)
    client = app.test_client()
    assert client.get(ad_urls(get_vast(client))["impression"]).status_code == 204
    assert client.get("/readyz").status_code == 200 and client.get("/readyz/serving").status_code == 200
    assert REDIS_UNSAFE.labels("eviction_policy")._value.get() == 0


def test_replicas_with_wait_are_a_durability_mode(start_redis, production_app):
    primary = start_redis("--maxmemory-policy", "noeviction")
    app = production_app(primary.url, wait_replicas=1)
    client = app.test_client()
    rt = app.extensions["runtime"]
    urls = ad_urls(get_vast(client))
    # No replica yet (one being replaced): reported, and each beacon goes to the database directly.
    assert client.get(urls["impression"]).status_code == 204
    assert rt.fallback_writes == 1
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert "0 replica(s) are connected" in ready.get_json()["checks"]["redis_replicas_missing"]
    assert ready.get_json()["checks"]["redis_replicas_missing"].startswith("warning:")
    start_redis("--replicaof", "127.0.0.1", str(primary.port))
    primary_client = redis.Redis.from_url(primary.url)
    online = lambda: primary_client.info("replication").get("slave0", {}).get("state") == "online"  # noqa: E731
    wait_until(online, 10, what="a replica in sync")
    rt.redis_safety.check()  # what the background loop does every 10 s
    assert client.get(urls["start"]).status_code == 204
    assert rt.fallback_writes == 1  # WAIT found its replica
    assert "redis_replicas_missing" not in client.get("/readyz").get_json()["checks"]


def test_development_warns_and_serves(start_redis, make_settings, postgres_database, caplog):
    server = start_redis("--maxmemory-policy", "allkeys-lru")
    caplog.set_level(logging.WARNING, "app.tracking.redis_safety")
    app = create_app(make_settings(database_url=postgres_database, redis_url=server.url))
    app.extensions["runtime"].start(background=False)
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"]["redis_eviction_policy"].startswith("warning:")
    assert "serving anyway (development)" in caplog.text
    app.extensions["database"].dispose()


def test_an_unreachable_redis_is_reported_not_enforced(start_redis):
    server = start_redis()
    server.stop()
    problems = problems_of(redis.Redis.from_url(server.url, socket_connect_timeout=1), 0)
    assert list(problems) == ["unreachable"]
