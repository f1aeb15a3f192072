"""What the bench runs: the ad server in its production configuration (gunicorn + gevent from the
project's gunicorn.conf.py with the serving pods' APP_ROLE=serving, PostgreSQL, a durable Redis, the event
flusher as its own process) and the reference app beside it, both on loopback with the same number of
workers. The bench's admin steps (migrate, seed) are `flask` commands, which run the whole app."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import redis
import sqlalchemy as sa

from bench import campaigns
from harness.servers import PROJECT_ROOT, AppServer, RedisServer, wait_until

SHARED_POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET_KEY = "bench-secret-key-" + "b" * 32
REDIS_KEY_PREFIX = "adserver:"
APP_ROLE = "serving"  # as the serving pods run (k8s/base/serving.yaml): what the RSS line measures
EVENT_FLUSHER = "external"  # as in Kubernetes: one `flask flush-events` process drains the stream
REDIS_PERSISTENCE = "appendonly yes, appendfsync always"  # RedisServer's durable mode, the production advice
REFERENCE_CONFIG = PROJECT_ROOT / "bench" / "reference_gunicorn.conf.py"


class BenchDatabase:
    """A database of the bench's own on the shared PostgreSQL, dropped at the end."""

    def __init__(self, server_url: str = SHARED_POSTGRES):
        self.name = f"adserver_bench_{os.getpid()}"
        self.url = sa.make_url(server_url).set(database=self.name).render_as_string(hide_password=False)
        # The app runs psycopg2 (SQLAlchemy's default for postgresql:// is psycopg 3).
        self.driver_url = sa.make_url(self.url).set(drivername="postgresql+psycopg2")
        self._server = sa.create_engine(
            sa.make_url(server_url).set(drivername="postgresql+psycopg2"), isolation_level="AUTOCOMMIT"
        )
        self.engine: sa.Engine | None = None

    def create(self) -> BenchDatabase:
        with self._server.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{self.name}"'))
        self.engine = sa.create_engine(self.driver_url)
        return self

    def drop(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
        with self._server.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self._server.dispose()


class BenchStack:
    def __init__(self, workers: int):
        self.directory = Path(tempfile.mkdtemp(prefix="adserver-bench-"))
        self.storage_dir = self.directory / "creatives"
        self.inputs_dir = self.directory / "inputs"  # wrk's lines files: tokens, paths
        self.database = BenchDatabase()
        self.redis = RedisServer(self.directory / "redis", durable=True)
        self.app: AppServer | None = None
        self.reference = AppServer(
            {"REFERENCE_REDIS_URL": self.redis.url},  # its durable beacons' (bench.reference_app)
            workers=workers,
            log=self.directory / "reference.log",
            command=("-c", str(REFERENCE_CONFIG), "bench.reference_app:app"),
        )
        self.workers = workers

    def start(self) -> BenchStack:
        self.inputs_dir.mkdir()
        self.database.create()
        self.redis.start()
        self.app = AppServer(
            {
                "APP_ENV": "production",
                "APP_ROLE": APP_ROLE,
                "SECRET_KEY": SECRET_KEY,
                "DATABASE_URL": self.database.url,
                "REDIS_URL": self.redis.url,
                "REDIS_KEY_PREFIX": REDIS_KEY_PREFIX,
                "STORAGE_DIR": str(self.storage_dir),
                "EVENT_FLUSHER": EVENT_FLUSHER,
                # wrk is one client address: the per-client limit would measure 429s, not ad requests.
                "SDK_RATE_LIMIT": "1000000 per minute",
            },
            workers=self.workers,
            log=self.directory / "app.log",
        )
        self.app.flask("migrate")
        self.app.flask("seed-demo")
        self._start_app()
        self.reference.start()
        return self

    def prepare_campaigns(self, largest: int) -> campaigns.DemoAd:
        """The demo ad, and enough drafts beside it to serve `largest` campaigns."""
        ad = campaigns.demo_ad(self.database.engine)
        campaigns.insert_campaigns(self.database.engine, self.storage_dir, ad, largest - 1)
        return ad

    def serve_campaigns(self, count: int) -> None:
        campaigns.activate(self.database.engine, count)
        self.restart_app()

    def pending_events(self) -> int:
        """Counted events the flushers have not stored in PostgreSQL yet."""
        with redis.Redis.from_url(self.redis.url) as client:
            return client.xlen(f"{REDIS_KEY_PREFIX}events")

    def settle(self, timeout: float = 300) -> float:
        """Wait for the flushers to store every counted event, so that no run pays for the one before it;
        returns the seconds it took."""
        started = time.monotonic()
        wait_until(lambda: self.pending_events() == 0, timeout, interval=0.2, what="events flushed")
        return time.monotonic() - started

    def _start_app(self) -> None:
        self.app.start()
        self.app.spawn("flush-events")

    def restart_app(self) -> None:
        """New workers load the catalog before their first request: what serves is then known for sure."""
        self.app.stop()
        self._start_app()

    def stop(self, keep_files: bool = False) -> None:
        """Stop everything and drop the database; the logs, Redis' files and wrk's inputs go too, unless
        `keep_files` (after a failure, to look into)."""
        for server in (self.app, self.reference):
            if server is not None:
                server.stop()
        self.redis.stop()
        self.database.drop()
        if keep_files:
            print(f"logs and inputs kept in {self.directory}", flush=True)
        else:
            shutil.rmtree(self.directory)
