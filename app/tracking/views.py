"""Beacons: GET|HEAD /t/<event>?t=<token> from players and SSAI servers, POST /api/v1/impression from SDKs.

No SQL here unless the event store is down (then the event is written to the database directly).
"""

from __future__ import annotations

import base64
import json
import time
import uuid

from flask import Blueprint as FlaskBlueprint
from flask import Response, jsonify, request
from werkzeug.exceptions import Conflict, NotFound, ServiceUnavailable

from app.errors import ErrorSchema
from app.metrics import beacon_series
from app.runtime import Runtime, runtime, start_runtime
from app.serving.caps import cap_count
from app.serving.device import device_ip, device_user_agent
from app.serving.schemas import ImpressionBodySchema, ImpressionResultSchema
from app.serving.views import sdk
from app.tracking.events import BEACON_EVENTS, Event, StoreUnavailable
from app.tracking.frequency import CapCount
from app.tracking.recording import record_durably
from app.tracking.signing import InvalidBeacon
from app.web import json_body

bp = FlaskBlueprint("tracking", __name__)
bp.before_request(start_runtime)

# The smallest transparent GIF, for beacons loaded as <img> (Accept: image/*).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_HEADERS = {
    counted: {"Cache-Control": "no-store", "X-Beacon": "counted" if counted else "duplicate"}
    for counted in (True, False)
}
_NOT_COUNTED = {"Cache-Control": "no-store", "X-Beacon": "not counted (HEAD)"}
_TEST = {
    counted: {"Cache-Control": "no-store", "X-Beacon": "test" if counted else "test duplicate"}
    for counted in (True, False)
}


@bp.route("/t/no-ad", methods=["GET", "HEAD"])
def no_ad():
    """A player found no ad in a no-fill answer it reached through wrappers (the VAST 4.x root <Error>, code
    303: VAST 4.3 §2.3.6). No ad, so no token and nothing stored: counted in adserver_beacons_total
    (event `no_ad`, result the VAST error code, `other` for anything but three digits)."""
    code = request.args.get("code", "")
    if request.method == "GET":
        known = code.isascii() and code.isdigit() and len(code) == 3
        beacon_series("no_ad", code if known else "other").inc()
    return _pixel(_NOT_COUNTED if request.method == "HEAD" else _HEADERS[True])


@bp.route("/t/<event>", methods=["GET", "HEAD"])
def beacon(event: str):
    """Count a player's event once per ad (and per error code, or progress offset). `HEAD` (link checkers,
    validators) checks the token and answers alike, but counts and bills nothing. Every answer is a pixel
    (204, or a GIF to an `<img>`): ClickTracking is a pixel too, the player opens ClickThrough itself."""
    if event not in BEACON_EVENTS:
        return jsonify({"error": f"Unknown event {event!r}"}), 404
    rt = runtime()
    try:
        claims = rt.signer.verify(request.args.get("t", ""))
    except InvalidBeacon as exc:
        beacon_series(event, "refused").inc()
        return jsonify({"error": f"Refused beacon: {exc}"}), 400
    if request.method == "HEAD":
        return _pixel(_NOT_COUNTED)
    if claims.test:  # a console preview: counted apart, never billed nor delivered
        return _pixel(_TEST[_count_test(rt, event, claims)])
    private = claims.private
    now = time.time()
    counted = _record(
        rt,
        Event(
            name=event,
            ad_serving_id=claims.ad_serving_id,
            campaign_id=claims.campaign_id,
            creative_id=claims.creative_id,
            occurred_at=now,
            cost_units=claims.cost_units,
            pod_position=claims.pod_position,
            supply_tag=claims.supply_tag,
            error_code=request.args.get("code"),
            offset=request.args.get("offset"),
            ip=None if private else device_ip(request.headers, request.remote_addr),
            user_agent=None if private else device_user_agent(request.headers),
        ),
        _cap_count(rt, event, claims.campaign_id, claims.device, now),
        claims.device,
    )
    beacon_series(event, "counted" if counted else "duplicate").inc()
    return _pixel(_HEADERS[counted])


class _NoContent(Response):
    """A 204 carries no content, so no Content-Type either (RFC 9110 §15.3.5): one header less per beacon."""

    default_mimetype = None


def _pixel(headers: dict[str, str]) -> Response:
    accept = request.headers.get("Accept", "")
    if "image/" in accept and "text/html" not in accept:
        return Response(PIXEL, 200, content_type="image/gif", headers=headers)
    return _NoContent(status=204, headers=headers)


def _count_test(rt: Runtime, event: str, claims) -> bool:
    """A test beacon (app.tracking.test_traffic), once per ad and event."""
    try:
        counted = rt.test_counts.count(claims.ad_serving_id, claims.campaign_id, event)
    except StoreUnavailable:
        raise ServiceUnavailable("The beacon could not be stored; retry") from None
    beacon_series(event, "test").inc()
    return counted


def _cap_count(rt: Runtime, event: str, campaign_id: uuid.UUID, device: str | None, now: float):
    """An impression's addition to its device's frequency-cap history (app.serving.caps), if any."""
    if event != "impression":
        return None
    return cap_count(rt.catalog.current().catalog, campaign_id, device, now)


def _record(rt: Runtime, event: Event, cap: CapCount | None = None, device: str | None = None) -> bool:
    if rt.redis_safety.refuses():  # it could lose or double count what we acknowledge (logged, metered)
        raise ServiceUnavailable("The event store is misconfigured; retry later")
    try:
        return record_durably(
            rt.store,
            rt.sessions,
            event,
            rt.raw_event_retention_days,
            on_fallback=rt.count_fallback,
            cap=cap,
            device=device,
        )
    except Exception:
        # Not acknowledged: the player (or SSAI server) retries later, and the retry is counted once.
        raise ServiceUnavailable("The beacon could not be stored; retry") from None


@sdk.post("/impression")
@json_body(sdk, ImpressionBodySchema)
@sdk.response(200, ImpressionResultSchema)
@sdk.alt_response(404, schema=ErrorSchema, description="Unknown request_id")
@sdk.alt_response(409, schema=ErrorSchema, description="That request got no ad")
@sdk.alt_response(503, schema=ErrorSchema, description="Not stored; retry")
@sdk.doc(security=[])
def impression(body):
    """Count the impression of the ad an SDK got from POST /api/v1/ad-request (once per request)."""
    rt = runtime()
    try:
        stored = rt.store.answer(body["request_id"])
    except StoreUnavailable:
        raise ServiceUnavailable("Impressions are unavailable for a moment; retry") from None
    if stored is None:
        raise NotFound("Unknown request_id")
    envelope = json.loads(stored)
    ad = envelope["response"]
    if not ad:
        raise Conflict("No ad was served for this request_id")
    private = envelope.get("private", False)  # the SDK request's privacy signals
    now = time.time()
    counted = _record(
        rt,
        Event(
            name="impression",
            ad_serving_id=ad["ad_serving_id"],
            campaign_id=ad["campaign_id"],
            creative_id=ad["creative_id"],
            occurred_at=now,
            cost_units=envelope["cost_units"],
            ip=None if private else device_ip(request.headers, request.remote_addr),
            user_agent=None if private else device_user_agent(request.headers),
        ),
        _cap_count(rt, "impression", uuid.UUID(ad["campaign_id"]), envelope.get("device"), now),
        envelope.get("device"),
    )
    return {"request_id": body["request_id"], "counted": counted}
