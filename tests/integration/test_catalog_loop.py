"""The background catalog loop, against committed data: admin writes reach serving within 2 s."""

import shutil
import time

import pytest

from app import create_app
from app.db import get_session
from tests import factories
from tests.conftest import REDIS_URL
from tests.factories import CreativeFactory


@pytest.fixture(params=["database-version", "redis-version"])
def live_app(request, make_settings, sqlite_template, tmp_path):
    shutil.copy(sqlite_template, tmp_path / "db.sqlite")
    overrides = {"database_url": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    if request.param == "redis-version":
        request.getfixturevalue("redis_server")
        overrides |= {"redis_url": REDIS_URL, "redis_key_prefix": request.getfixturevalue("redis_prefix")}
    app = create_app(make_settings(**overrides))
    yield app
    app.extensions["runtime"].stop()
    app.extensions["database"].dispose()


def _ads(client) -> int:
    return client.get("/vast").data.count(b"<Ad ")


def _within(seconds: float, check) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if check():
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s")


def test_admin_writes_reach_serving_within_two_seconds(live_app):
    with live_app.app_context():
        factories.bind(get_session())
        creative = CreativeFactory()
        token = factories.admin_token(get_session())
    client = live_app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert _ads(client) == 1  # the first request loads the catalog and starts the loop
    client.put(f"/api/v1/campaigns/{creative.campaign_id}/status", json={"status": "paused"}, headers=auth)
    assert _within(2.0, lambda: _ads(client) == 0) < 2.0
    client.put(f"/api/v1/campaigns/{creative.campaign_id}/status", json={"status": "active"}, headers=auth)
    _within(2.0, lambda: _ads(client) == 1)
    client.put(f"/api/v1/creatives/{creative.id}/status", json={"status": "inactive"}, headers=auth)
    _within(2.0, lambda: _ads(client) == 0)
