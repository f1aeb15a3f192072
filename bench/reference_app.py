"""The bench's reference: the least a Flask app under gunicorn/gevent can do to answer like the ad server.

Per request it builds, with lxml, a VAST 4.2 document of the ad server's shape and size (the same 20 URLs,
a fresh id in each; with `pod_max_ads`, a pod of that many such ads, `sequence` 1..n), answers beacons with
a bare 204, and ad requests with JSON of the ad server's shape.
No decision, no validation, no signing, no storage: its speed is the floor the ad server is held against.

`/durable/t/<event>` is the second reference for beacons: one durable Redis write per beacon made the plain
way, one script call per request (dedupe by token, then a stream entry) to the bench's Redis
(`REFERENCE_REDIS_URL`, fsync on every write), answered once that call returned, as the ad server's beacons
were before their writes shared round trips (app.tracking.group_commit).
"""

from __future__ import annotations

import os
import uuid

import redis
from flask import Flask, Response, jsonify, request
from lxml import etree

VAST_NAMESPACE = "http://www.iab.com/VAST"
TOKEN_LENGTH = 125  # the length of the ad server's signed beacon token for a 10.00 CPM
CREATIVE_SECONDS = 15
# The ad server's tracked player events, written out: the reference imports nothing of the app.
PROGRESS = ("start", "firstQuartile", "midpoint", "thirdQuartile", "complete")
EVENTS = (
    *("creativeView", "loaded", *PROGRESS),
    *("pause", "resume", "rewind", "mute", "unmute", "skip", "playerExpand", "playerCollapse"),
)
CAMPAIGN_ID = "3f0c7b1e-5a51-4d7e-9a4e-2c1f0b9d6a10"
CREATIVE_ID = "8d2e4c6a-1b3f-4e5d-8c7b-6a5f4e3d2c1b"
MEDIA_KEY = "creatives/0b1c2d3e4f5a46b7c8d9e0f1a2b3c4d5.mp4"
CLICK_THROUGH = "https://example.com/"

# KEYS: the beacon's seen-hash, the stream. ARGV: the event, the token. The stream keeps its newest entries.
DURABLE_WRITE = """
if redis.call('HSETNX', KEYS[1], ARGV[1], '1') == 1 then
  redis.call('EXPIRE', KEYS[1], 86400)
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', 100000, '*', 'e', ARGV[2])
end
return 1
"""

app = Flask(__name__)
_durable_write = None  # made in each worker by its first durable beacon (after gunicorn forked it)


def _tag(name: str) -> str:
    return f"{{{VAST_NAMESPACE}}}{name}"


def _child(parent, name: str, text: str | None = None, cdata: bool = True, **attributes):
    element = etree.SubElement(parent, _tag(name), attributes)
    if text is not None:
        element.text = etree.CDATA(text) if cdata else text
    return element


class _Ad:
    """One ad's URLs, each carrying a fresh id as the ad server's carry their signed token."""

    def __init__(self, base_url: str):
        self.serving_id = uuid.uuid4().hex
        self.token = (self.serving_id * 4)[:TOKEN_LENGTH]
        self.base_url = base_url
        self.media_url = f"{base_url}/media/{MEDIA_KEY}"

    def beacon(self, event: str) -> str:
        return f"{self.base_url}/t/{event}?t={self.token}"


def _vast(ads: list[_Ad], pod: bool = False) -> bytes:
    root = etree.Element(_tag("VAST"), {"version": "4.2"}, nsmap={None: VAST_NAMESPACE})
    for sequence, ad in enumerate(ads, start=1):
        attributes = {"id": CAMPAIGN_ID, **({"sequence": str(sequence)} if pod else {})}
        inline = _child(_child(root, "Ad", **attributes), "InLine")
        _child(inline, "AdSystem", "CTV Ad Server", cdata=False, version="1.0")
        _child(inline, "Error", ad.beacon("error") + "&code=[ERRORCODE]")
        _child(inline, "Impression", ad.beacon("impression"), id="imp-1")
        _child(inline, "AdServingId", ad.serving_id, cdata=False)
        _child(inline, "AdTitle", "Demo: CTV spot", cdata=False)
        creative = _child(_child(inline, "Creatives"), "Creative", id=CREATIVE_ID)
        linear = _child(creative, "Linear")
        tracking = _child(linear, "TrackingEvents")
        for event in EVENTS:
            _child(tracking, "Tracking", ad.beacon(event), event=event)
        _child(linear, "Duration", f"00:00:{CREATIVE_SECONDS:02d}.000", cdata=False)
        media = _child(linear, "MediaFiles")
        _child(
            media,
            "MediaFile",
            ad.media_url,
            delivery="progressive",
            type="video/mp4",
            width="640",
            height="360",
            bitrate="29",
            codec="H.264",
            fileSize="56000",
        )
        clicks = _child(linear, "VideoClicks")
        _child(clicks, "ClickTracking", ad.beacon("click"), id="click-1")
        _child(clicks, "ClickThrough", CLICK_THROUGH)
        _child(creative, "UniversalAdId", CREATIVE_ID, cdata=False, idRegistry="unknown")
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True)


def _base_url() -> str:
    return request.host_url.rstrip("/")


@app.get("/vast")
def vast():
    pod_ads = int(request.args.get("pod_max_ads", 0))
    if pod_ads:
        body = _vast([_Ad(_base_url()) for _ in range(pod_ads)], pod=True)
    else:
        fills = float(request.args.get("max_duration", 3600)) >= CREATIVE_SECONDS
        body = _vast([_Ad(_base_url())] if fills else [])
    return Response(body, 200, content_type="application/xml; charset=utf-8")


@app.route("/t/<event>", methods=["GET", "HEAD"])
def beacon(event: str):
    return Response(status=204)


@app.route("/durable/t/<event>", methods=["GET", "HEAD"])
def durable_beacon(event: str):
    global _durable_write
    if _durable_write is None:
        pool = redis.BlockingConnectionPool.from_url(
            os.environ["REFERENCE_REDIS_URL"], max_connections=200, timeout=5
        )
        _durable_write = redis.Redis(connection_pool=pool).register_script(DURABLE_WRITE)
    token = request.args.get("t", "")
    _durable_write(keys=[f"reference:seen:{token}", "reference:events"], args=[event, token])
    return Response(status=204)


@app.post("/api/v1/ad-request")
def ad_request():
    request_id = request.get_json()["request_id"]
    ad = _Ad(_base_url())
    tracking = {event: ad.beacon(event) for event in ("impression", *EVENTS, "click")}
    tracking["error"] = ad.beacon("error") + "&code=[ERRORCODE]"
    return jsonify(
        request_id=request_id,
        ad_serving_id=ad.serving_id,
        campaign_id=CAMPAIGN_ID,
        creative_id=CREATIVE_ID,
        video_url=ad.media_url,
        duration=float(CREATIVE_SECONDS),
        width=640,
        height=360,
        click_through_url=CLICK_THROUGH,
        vast_url=f"{_base_url()}/vast?request_id={request_id}",
        tracking=tracking,
    )


@app.get("/healthz")
def healthz():
    return {"status": "ok"}
