"""Prometheus metrics at GET /metrics. Under gunicorn each worker writes to PROMETHEUS_MULTIPROC_DIR (set by
gunicorn.conf.py) and /metrics adds the workers up; a single process uses the default registry."""

from __future__ import annotations

import functools
import os
import time

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter("adserver_http_requests_total", "HTTP requests", ["route", "method", "status"])
LATENCY = Histogram(
    "adserver_http_request_duration_seconds",
    "Time to answer, by route",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
DECISIONS = Counter("adserver_vast_decisions_total", "Ad decisions by result", ["result"])
BEACONS = Counter("adserver_beacons_total", "Beacons by event and result", ["event", "result"])
FALLBACK_WRITES = Counter(
    "adserver_beacon_fallback_writes_total", "Beacons written to the database: store down"
)
# Group commit (app.tracking.group_commit): their ratio is the mean number of writes a round trip carried.
STORE_ROUND_TRIPS = Counter("adserver_event_store_round_trips_total", "Record-script calls made to Redis")
STORE_WRITES = Counter("adserver_event_store_writes_total", "Events and SDK answers those calls carried")
FLUSHED = Counter("adserver_flushed_events_total", "Events moved from the event store into the database")
FLUSH_FAILURES = Counter("adserver_flush_failures_total", "Flush attempts that failed (retried)")
PENDING = Gauge("adserver_events_pending", "Counted events not yet in the database", multiprocess_mode="max")
DEAD_LETTERED = Counter(
    "adserver_dead_lettered_events_total", "Events the database refused, moved to the dead-letter table"
)
IGNORED_PARAMETERS = Counter(
    "adserver_ignored_parameters_total",
    "Optional ad-request values that were empty, unexpanded macros or unparsable, by parameter",
    ["parameter"],
)
REDIS_UNSAFE = Gauge(
    "adserver_redis_unsafe",
    "1 while the Redis breaks a rule that keeps acknowledged events (app.tracking.redis_safety)",
    ["reason"],
    multiprocess_mode="max",
)
FLUSH_LAG = Gauge(
    "adserver_flusher_lag_seconds", "Seconds since the flusher last stored a batch", multiprocess_mode="min"
)
REGION_DATABASE = Gauge(
    "adserver_region_database_available",
    "1 when the worker reads DB-IP's region database, 0 when it is absent: every region is unknown",
    multiprocess_mode="min",
)

# Any token is a method to HTTP: others are counted as one, so a client cannot mint series.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics():
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.before_request(_start_timer)
    app.after_request(_observe)


def _start_timer() -> None:
    g.started_at = time.perf_counter()


def _observe(response):
    current = request._get_current_object()  # one context lookup, not one per attribute: every request
    route = current.url_rule.rule if current.url_rule is not None else "unmatched"
    _requests(route, current.method, response.status_code).inc()
    started = g.get("started_at")
    if started is not None:
        _latency(route).observe(time.perf_counter() - started)
    return response


# A labelled series looked up once: routes, known methods and status codes are few.
@functools.cache
def _requests(route: str, method: str, status: int):
    return REQUESTS.labels(route, method if method in KNOWN_METHODS else "other", str(status))


@functools.cache
def _latency(route: str):
    return LATENCY.labels(route)


@functools.cache
def decision_series(result: str):
    return DECISIONS.labels(result)


@functools.cache
def beacon_series(event: str, result: str):
    return BEACONS.labels(event, result)


@functools.cache
def ignored_parameter_series(parameter: str):
    """Called with the known parameter names only (app.serving.request.KNOWN_PARAMETERS)."""
    return IGNORED_PARAMETERS.labels(parameter)
