"""Kubernetes probes: /healthz says the process answers, /readyz that its backing services do."""

import sqlalchemy as sa
from flask import Blueprint, current_app

from app.db import database
from app.runtime import runtime
from app.tracking.redis_safety import ENFORCED

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    checks = {"database": _check(_database_answers)}
    if current_app.extensions.get("redis") is not None:
        checks["redis"] = _check(_redis_answers)
        checks.update(_redis_safety())
    ready = all(value == "ok" or value.startswith("warning:") for value in checks.values())
    return {"status": "ready" if ready else "unavailable", "checks": checks}, 200 if ready else 503


@bp.get("/readyz/serving")
def serving_ready():
    """Readiness of the serving pods: they decide from their catalog, so they are ready once it is loaded
    and stay ready through a database outage (taking them out then would turn it into an ad outage)."""
    catalog = runtime().catalog.current().catalog
    if catalog.built_at == 0:
        return {"status": "unavailable", "checks": {"catalog": "not loaded yet"}}, 503
    checks = {
        "catalog": f"version {catalog.version}, {len(catalog.campaigns)} campaigns",
        "region_database": _region_database(),
        **_redis_safety(),
    }
    ready = not runtime().redis_safety.refuses()
    return {"status": "ready" if ready else "unavailable", "checks": checks}, 200 if ready else 503


def _region_database() -> str:
    """The region database (app.serving.geo): without it regions are unknown, which narrows delivery (a
    campaign that includes regions serves nowhere) but is no reason to stop serving."""
    regions = runtime().regions
    if regions.available:
        return "ok"
    return "warning: absent: every region is unknown; install it with `make assets`"


def _check(probe) -> str:
    try:
        probe()
    except Exception as exc:  # any failure means "not ready"; the reason is reported, not raised
        return f"error: {type(exc).__name__}"
    return "ok"


def _redis_safety() -> dict[str, str]:
    """Redis rules that keep acknowledged events (app.tracking.redis_safety), checked now; a broken one
    fails readiness in production only."""
    safety = runtime().redis_safety
    return {
        f"redis_{reason}": f"{'error' if safety.enforce and reason in ENFORCED else 'warning'}: {text}"
        for reason, text in safety.check().items()
        if reason != "unreachable"  # the redis check says so
    }


def _database_answers() -> None:
    with database().engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))


def _redis_answers() -> None:
    current_app.extensions["redis"].ping()
