"""APP_ROLE=serving: the serving pods' app registers the player-facing routes, /metrics and the probes, and
never imports the admin side's libraries, neither at start nor while it serves."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app import create_app
from app.db import get_session
from app.settings import SettingsError
from tests import factories
from tests.conftest import REDIS_URL

# What serving workers must never load: media (PyAV, NumPy), S3 (boto3), the job queue (rq), Parquet
# (pyarrow), passwords (argon2), migrations (Alembic), the console's forms, and the admin side itself.
ADMIN_SIDE_MODULES = (
    "av",
    "numpy",
    "boto3",
    "botocore",
    "rq",
    "pyarrow",
    "argon2",
    "alembic",
    "flask_wtf",
    "wtforms",
    "app.admin",
    "app.admin_side",
    "app.cli",
)
ADMIN_PATHS = (
    ("get", "/"),
    ("get", "/admin/"),
    ("get", "/admin/login"),
    ("post", "/api/v1/auth/login"),
    ("get", "/api/v1/campaigns"),
    ("get", "/api/v1/creatives/00000000-0000-0000-0000-000000000000"),
    ("get", "/api/v1/openapi.json"),
    ("get", "/api/v1/reports"),
)

# Runs in a fresh interpreter, as a gunicorn worker imports the app: which of ADMIN_SIDE_MODULES are loaded
# after create_app, and after a /vast, its impression beacon and an SDK ad request.
WORKER = """
import json, sys
from urllib.parse import urlsplit
from lxml import etree

watched = json.loads(sys.argv[1])
loaded = lambda: sorted(name for name in watched if name in sys.modules)
from app import create_app

app = create_app()
after_create = loaded()
app.extensions["runtime"].start(background=False)
client = app.test_client()
vast = client.get("/vast?max_duration=30")
document = etree.fromstring(vast.data)
impression = urlsplit(document.findtext(".//{*}Impression").strip())
beacon = client.get(f"{impression.path}?{impression.query}")
sdk = client.post("/api/v1/ad-request", json={"request_id": "role-check-1", "duration": 30})
print(json.dumps({
    "after_create": after_create,
    "after_serving": loaded(),
    "vast": vast.status_code,
    "media_url": document.findtext(".//{*}MediaFile").strip(),
    "beacon": beacon.status_code,
    "sdk": sdk.status_code,
}))
"""


@pytest.fixture
def serving_database(make_settings, sqlite_template, tmp_path) -> str:
    """A database of this test's own (the worker runs in another process) with one active 15 s creative."""
    path = tmp_path / "serving.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    app = create_app(make_settings(database_url=url))
    with app.app_context():
        factories.bind(get_session())
        factories.CreativeFactory(duration=15.0)
    app.extensions["database"].dispose()
    return url


@pytest.mark.slow
def test_a_serving_worker_never_imports_the_admin_side(serving_database, redis_prefix, tmp_path):
    env = {
        **os.environ,
        "APP_ROLE": "serving",
        "EVENT_FLUSHER": "external",
        "REDIS_URL": REDIS_URL,
        "REDIS_KEY_PREFIX": redis_prefix,
        "DATABASE_URL": serving_database,
        "SECRET_KEY": "serving-role-secret-" + "s" * 32,
        "LOG_LEVEL": "WARNING",
        # Creatives in S3 behind a CDN: serving builds their URLs without an S3 client.
        "S3_BUCKET": "creatives-bucket",
        "CDN_BASE_URL": "https://cdn.example.com",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # one process: the default registry
    run = subprocess.run(
        [sys.executable, "-c", WORKER, json.dumps(ADMIN_SIDE_MODULES)],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.splitlines()[-1])
    assert result["after_create"] == []
    assert result["after_serving"] == []
    assert (result["vast"], result["beacon"], result["sdk"]) == (200, 204, 200)
    assert result["media_url"].startswith("https://cdn.example.com/creatives/")


def test_the_whole_app_loads_what_the_serving_role_leaves_out(serving_database, tmp_path):
    """The same check, made on the default role, finds the admin side: the list above is not vacuous."""
    env = {
        **os.environ,
        "DATABASE_URL": serving_database,
        "STORAGE_DIR": str(tmp_path / "creatives"),
        "LOG_LEVEL": "WARNING",
    }
    for name in ("APP_ROLE", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    script = (
        "import json, sys\nfrom app import create_app\ncreate_app()\nprint(json.dumps(sorted(sys.modules)))"
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    loaded = set(json.loads(run.stdout.splitlines()[-1]))
    assert {"av", "numpy", "rq", "argon2", "app.admin", "app.admin_side", "app.cli"} <= loaded


@pytest.fixture
def serving_client(make_settings, database_url, redis_server, redis_prefix):
    app = create_app(
        make_settings(
            database_url=database_url,
            app_role="serving",
            event_flusher="external",
            redis_url=REDIS_URL,
            redis_key_prefix=redis_prefix,
        )
    )
    yield app.test_client()
    app.extensions["database"].dispose()


@pytest.mark.parametrize(("method", "path"), ADMIN_PATHS)
def test_admin_routes_are_not_found_on_a_serving_worker(serving_client, client, method, path):
    assert getattr(client, method)(path).status_code != 404  # the whole app has them
    response = getattr(serving_client, method)(path)
    assert response.status_code == 404
    assert response.is_json and "error" in response.get_json()


@pytest.mark.parametrize(("path", "status"), [("/healthz", 200), ("/metrics", 200), ("/t/no-ad", 204)])
def test_a_serving_worker_keeps_the_probes_metrics_and_player_routes(serving_client, path, status):
    assert serving_client.get(path).status_code == status


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"app_role": "admin"}, "APP_ROLE must be all or serving"),
        ({"app_role": "serving", "event_flusher": "external"}, "APP_ROLE=serving needs REDIS_URL"),
        (
            {"app_role": "serving", "redis_url": REDIS_URL, "event_flusher": "inprocess"},
            "APP_ROLE=serving needs REDIS_URL and EVENT_FLUSHER=external",
        ),
    ],
)
def test_the_serving_role_refuses_settings_that_would_lose_beacons(make_settings, overrides, message):
    with pytest.raises(SettingsError, match=message):
        make_settings(**overrides)
