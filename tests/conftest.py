"""Shared fixtures: real PostgreSQL (migrated once per run and worker, each test in a rolled-back
transaction), a SQLite file per test for the embedded default, a Redis key prefix per test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
import redis
import sqlalchemy as sa

from app import create_app
from app import migrate as migrations
from app.auth import services as auth_services
from app.db import get_session
from app.settings import Settings
from harness.servers import AppServer, free_port, wait_for_port
from tests import factories

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct horse battery"


def service_missing(name: str, error: Exception):
    """Skip where the service is absent, except under REQUIRE_SERVICES=1 (CI), where it must fail."""
    message = f"{name} is not reachable: {error}"
    if REQUIRE_SERVICES:
        pytest.fail(message)
    pytest.skip(message)


def _postgres_server() -> sa.Engine:
    engine = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        service_missing("PostgreSQL", exc)
    return engine


@pytest.fixture(scope="session")
def postgres_server():
    return _postgres_server()


@pytest.fixture(scope="session")
def make_postgres_database(postgres_server):
    """Creates empty databases on the shared server, dropped at the end of the run."""
    created = []

    def make(prefix: str = "adserver_test") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with postgres_server.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    yield make
    with postgres_server.connect() as connection:
        for name in created:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _with_admin(url: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with sa.orm.Session(engine) as session:
        auth_services.set_admin(session, ADMIN_EMAIL, ADMIN_PASSWORD)
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_database(make_postgres_database) -> str:
    """One migrated database per run and xdist worker, with the admin in it."""
    url = make_postgres_database()
    migrations.upgrade(url)
    _with_admin(url)
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    url = f"sqlite:///{path}"
    migrations.upgrade(url)
    _with_admin(url)
    return str(path)


@pytest.fixture(scope="session")
def redis_server():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        service_missing("Redis", exc)
    return client


@pytest.fixture
def redis_prefix(redis_server):
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    keys = list(redis_server.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        redis_server.delete(*keys)


@pytest.fixture(scope="session")
def s3_endpoint():
    """A real S3-compatible server (moto's standalone mode) on a free loopback port."""
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        os.environ.setdefault(name, value)
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, server)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def s3_bucket(s3_endpoint) -> str:
    name = f"creatives-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return name


@pytest.fixture(params=["memory", "redis"])
def store_settings(request, make_settings, database_url) -> Settings:
    """Settings for each event store: in-process (the embedded default) and Redis (a key prefix per test);
    `redis-sharded` (asked for by name) splits the event store's keys into 3 shards (app.tracking.shards)."""
    if request.param in ("redis", "redis-sharded"):
        request.getfixturevalue("redis_server")
        prefix = request.getfixturevalue("redis_prefix")
        shards = 3 if request.param == "redis-sharded" else 1
        return make_settings(
            database_url=database_url, redis_url=REDIS_URL, redis_key_prefix=prefix, event_shards=shards
        )
    return make_settings(database_url=database_url)


@pytest.fixture(params=["postgresql", "sqlite"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def make_settings(tmp_path):
    def make(**overrides) -> Settings:
        values = {
            "storage_dir": str(tmp_path / "creatives"),
            "event_export_dir": str(tmp_path / "event-exports"),
            "redis_url": None,
            "secret_key": "test-secret-key-that-is-long-enough-0123456789",
            "log_level": "WARNING",
            "web_concurrency": 1,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def database_url(backend, request, tmp_path) -> str:
    if backend == "postgresql":
        return request.getfixturevalue("postgres_database")
    path = tmp_path / "adserver.db"
    shutil.copy(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite:///{path}"


@pytest.fixture
def settings(make_settings, database_url) -> Settings:
    return make_settings(database_url=database_url)


@pytest.fixture
def app(settings):
    app = create_app(settings)
    runtime = app.extensions["runtime"]
    if runtime.flusher is not None:
        runtime.flusher.block_ms = 0
    database = app.extensions["database"]
    if settings.is_postgres:
        # Every commit of the code under test becomes a savepoint inside this test's transaction.
        connection = database.engine.connect()
        transaction = connection.begin()
        database.sessions.configure(bind=connection, join_transaction_mode="create_savepoint")
        runtime.start(background=False)  # one connection: no background loop may share it
        yield app
        transaction.rollback()
        connection.close()
    else:
        runtime.start(background=False)
        yield app
    database.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session(app):
    """A session of the test's own: requests of the test client open theirs, as in production."""
    session = app.extensions["database"].sessions()
    factories.bind(session)
    yield session
    session.close()


@pytest.fixture
def admin_token(app, session) -> str:
    user = auth_services.authenticate(session, ADMIN_EMAIL, ADMIN_PASSWORD)
    token, _ = auth_services.issue_token(session, user, 3600)
    return token


@pytest.fixture
def auth(admin_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token}"}


@pytest.fixture
def embedded_server(make_settings, sqlite_template, tmp_path):
    """The real server as `make run` starts it (gunicorn.conf.py, one gevent worker, SQLite, no Redis),
    with one active 15 s creative; `embedded_server(**env)` starts it with more settings."""
    servers = []

    def start(**env: str | None) -> AppServer:
        database = tmp_path / f"db-{len(servers)}.sqlite"  # each server a database of its own
        shutil.copy(sqlite_template, database)
        app = create_app(make_settings(database_url=f"sqlite:///{database}"))
        with app.app_context():
            factories.bind(get_session())
            factories.CreativeFactory(duration=15.0)
        app.extensions["database"].dispose()
        server = AppServer(
            {
                "DATABASE_URL": f"sqlite:///{database}",
                "REDIS_URL": "",
                "STORAGE_DIR": str(tmp_path / "creatives"),
                "SECRET_KEY": "embedded-server-secret-" + "x" * 32,
                "APP_ENV": "development",
                **env,
            },
            workers=1,
            log=tmp_path / f"gunicorn-{len(servers)}.log",
        )
        servers.append(server.start())
        return server

    yield start
    for server in servers:
        server.stop()
