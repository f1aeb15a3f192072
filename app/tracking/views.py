"""Beacons: GET|HEAD /t/<event>?t=<token> from players and SSAI servers, POST /api/v1/impression from SDKs.

No SQL here unless the event store is down (then the event is written to the database directly).
"""

from __future__ import annotations

import base64
import json
import re
import time

from flask import Blueprint as FlaskBlueprint
from flask import Response, jsonify, redirect, request
from werkzeug.exceptions import Conflict, NotFound, ServiceUnavailable

from app.errors import ErrorSchema
from app.metrics import beacon_series
from app.runtime import Runtime, runtime, start_runtime
from app.serving.cors import allow_players
from app.serving.schemas import ImpressionBodySchema, ImpressionResultSchema
from app.serving.views import sdk
from app.tracking.events import BEACON_EVENTS, Event, StoreUnavailable
from app.tracking.recording import record_durably
from app.tracking.signing import InvalidBeacon
from app.web import json_body

bp = FlaskBlueprint("tracking", __name__)
bp.before_request(start_runtime)
bp.after_request(allow_players)

# The smallest transparent GIF, for beacons loaded as <img> (Accept: image/*).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_ERROR_CODE = re.compile(r"^[0-9]{1,4}$")
_HEADERS = {
    counted: {"Cache-Control": "no-store", "X-Beacon": "counted" if counted else "duplicate"}
    for counted in (True, False)
}


@bp.route("/t/<event>", methods=["GET", "HEAD"])
def beacon(event: str):
    if event not in BEACON_EVENTS:
        return jsonify({"error": f"Unknown event {event!r}"}), 404
    rt = runtime()
    try:
        claims = rt.signer.verify(request.args.get("t", ""))
    except InvalidBeacon as exc:
        beacon_series(event, "refused").inc()
        return jsonify({"error": f"Refused beacon: {exc}"}), 400
    code = request.args.get("code", "") if event == "error" else None
    private = claims.private
    counted = _record(
        rt,
        Event(
            name=event,
            ad_serving_id=claims.ad_serving_id,
            campaign_id=str(claims.campaign_id),
            creative_id=str(claims.creative_id),
            occurred_at=time.time(),
            cost_units=claims.cost_units if event == "impression" else 0,
            # A macro the player did not fill, or garbage, is still an error: its code is just unknown.
            error_code=(code if _ERROR_CODE.match(code) else "unknown") if code is not None else None,
            ip=None if private else request.headers.get("X-Device-IP") or request.remote_addr,
            user_agent=None if private else _user_agent(),
        ),
    )
    beacon_series(event, "counted" if counted else "duplicate").inc()
    if event == "click":
        creative = rt.catalog.current().catalog.creatives.get(claims.creative_id)
        if creative is not None and creative.click_through_url:
            response = redirect(creative.click_through_url, 302)
            response.headers.update(_HEADERS[counted])
            return response
    accept = request.headers.get("Accept", "")
    if "image/" in accept and "text/html" not in accept:
        return Response(PIXEL, 200, content_type="image/gif", headers=_HEADERS[counted])
    return Response(status=204, headers=_HEADERS[counted])


def _user_agent() -> str | None:
    agent = request.headers.get("X-Device-User-Agent") or request.headers.get("User-Agent")
    return agent[:512] if agent else None


def _record(rt: Runtime, event: Event) -> bool:
    try:
        return record_durably(rt.store, rt.sessions, event, on_fallback=rt.count_fallback)
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
    counted = _record(
        rt,
        Event(
            name="impression",
            ad_serving_id=ad["ad_serving_id"],
            campaign_id=ad["campaign_id"],
            creative_id=ad["creative_id"],
            occurred_at=time.time(),
            cost_units=envelope["cost_units"],
            ip=request.remote_addr,
            user_agent=_user_agent(),
        ),
    )
    return {"request_id": body["request_id"], "counted": counted}
