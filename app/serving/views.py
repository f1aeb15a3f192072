"""GET /vast (players, SSAI) and POST /api/v1/ad-request (SDKs): the decision runs from memory only."""

from __future__ import annotations

import gzip
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from functools import partial

from flask import Blueprint as FlaskBlueprint
from flask import Response, abort, jsonify, request
from werkzeug.exceptions import NotFound, ServiceUnavailable

from app.errors import ErrorSchema
from app.metrics import decision_series, ignored_parameter_series
from app.runtime import Runtime, runtime, start_runtime
from app.serving.ads import ServedAd, serve, tracking_urls
from app.serving.caps import capped_keys
from app.serving.catalog import Catalog, ServingState
from app.serving.device import device_ip, device_user_agent
from app.serving.documents import no_ad_url, no_fill_document, pod_document, vast_document
from app.serving.pods import PodRequest, choose_one, choose_pod
from app.serving.preview import InvalidPreview, preview_ad
from app.serving.query import query_args
from app.serving.rate_limit import limit_sdk_client
from app.serving.request import (
    AdRequest,
    AdRequestError,
    body_ad_request,
    identifiers_allowed,
    parse_ad_request,
    warnings_header,
)
from app.serving.schemas import AdAnswerSchema, AdRequestBodySchema
from app.serving.separation import excluded_keys, keys_of
from app.serving.targeting import Profile, device_profile, index_for, profile_of
from app.serving.wrappers import unwrap_ad, unwrap_ads, unwrap_deadline, with_request_macros
from app.tracking.events import AD_REQUEST, Event, StoreUnavailable
from app.web import Blueprint, json_body
from vast.macros import has_macros

log = logging.getLogger(__name__)
bp = FlaskBlueprint("serving", __name__)
sdk = Blueprint("sdk", __name__, url_prefix="/api/v1", description="Ad requests and impressions for SDKs")
# CORS is added app-wide by path (app.serving.cors), so that routing errors on these paths carry it too.
for blueprint in (bp, sdk):
    blueprint.before_request(start_runtime)
sdk.before_request(limit_sdk_client)

XML = "application/xml; charset=utf-8"
WARNINGS_HEADER = "X-Ad-Request-Warnings"


def base_url(rt: Runtime) -> str:
    return rt.public_base_url or request.host_url.rstrip("/")


@bp.get("/vast")
def vast():
    """The VAST tag. 200 with one InLine ad, or an empty <VAST/> when nothing fits (no fill).

    Players treat any non-2xx as a failed request, so an optional value that cannot be used is ignored and
    named in X-Ad-Request-Warnings; only `strict=1` makes it a 400 (JSON, for integrators)."""
    if request.method == "HEAD":  # a player or monitor checking the tag: no ad request, nothing counted
        return Response(b"", 200, content_type=XML, headers={"Cache-Control": "no-store"})
    try:
        rt = runtime()
        state = rt.catalog.current()  # one catalog for the whole request, whatever a refresh swaps in
        args = query_args(request.query_string)
        ad_request = parse_ad_request(args, request.headers, request.remote_addr, state.catalog.supply_tags)
    except AdRequestError as exc:
        return jsonify({"error": str(exc), "details": exc.details}), 400
    if "preview" in args:
        return _answer_vast(_preview(rt, ad_request, args["preview"]), ad_request)
    if ad_request.request_id:
        try:
            ad = replay(rt, ad_request.request_id, private=not ad_request.identifiers_allowed)
        except NotFound:
            if args.get("strict") == "1":
                raise
            ad = None  # expired or never issued: a no-fill the player can handle, not a failed request
            ad_request.warnings = {**ad_request.warnings, "request_id": "unknown or expired, no ad"}
    elif ad_request.fits_nothing:
        ad = None
        _count(rt, filled=False, supply_tag=ad_request.supply_tag)
    elif ad_request.pod is not None:
        return _answer_vast(pod_answer(rt, state, ad_request), ad_request)
    else:
        return _answer_vast(single_answer(rt, state, ad_request), ad_request)
    if ad is not None:
        body = vast_document(ad, ad_request.vast_version)  # a replay: the SDK answer's own click-through
    else:
        body = no_fill_document(ad_request.vast_version, no_ad_url(base_url(rt)))
    return _answer_vast(body, ad_request)


def _preview(rt: Runtime, ad_request: AdRequest, preview: str) -> bytes:
    """A console preview (app.serving.preview): this campaign's ad as test traffic, nothing counted; 400
    for a preview parameter that is not valid now. A VAST redirect line item answers as it serves (its
    Wrapper, or the unwrapped InLine); a partner's failure is named in the warnings, not recorded."""
    try:
        campaign_id, creative_id = rt.previews.verify(preview)
    except InvalidPreview as exc:
        abort(400, description=str(exc))
    with rt.sessions() as session:
        ad = preview_ad(session, rt.storage, rt.signer, base_url(rt), campaign_id, creative_id)
    if ad is None:
        return no_fill_document(ad_request.vast_version)
    ad = with_request_macros(ad, ad_request)
    if ad.creative.wrapper is not None and ad.creative.wrapper.server_side_unwrap:
        unwrapped = unwrap_ad(ad, ad_request, unwrap_deadline(ad_request, rt.unwrap_timeout_seconds))
        if unwrapped.document is None:
            warning = f"the partner's tag failed with VAST error {unwrapped.error_code}"
            ad_request.warnings = {**ad_request.warnings, "preview": warning}
            return no_fill_document(ad_request.vast_version)
        return unwrapped.document
    return vast_document(ad, ad_request.vast_version)


# A failed unwrap gives way to the next eligible ad: at most this many decisions for one request.
MAX_DECISIONS = 3


def single_answer(rt: Runtime, state: ServingState, ad_request: AdRequest) -> bytes:
    """One ad for the request. A VAST redirect line item that unwraps on the server (app.serving.wrappers)
    answers with the partner's InLine; when its chain fails, the failure is recorded as the line item's
    error (`record_unwrap_failure`), the line item is excluded and the decision drawn again, within the
    request's one unwrap deadline and MAX_DECISIONS. Only the ad answered counts as a fill (served, pacing,
    the stream's separation); none, a no-fill (an empty VAST, in 4.x with its root Error)."""
    device = rt.caps.device_of(state.catalog, ad_request)
    excluded = _excluded(rt, state.catalog, ad_request, device)
    deadline = None
    body = None
    for _ in range(MAX_DECISIONS):
        ad = choose(
            rt,
            state,
            ad_request.min_duration,
            ad_request.max_duration,
            private=not ad_request.identifiers_allowed,
            excluded=excluded,
            device=device,
            profile=lambda: profile_of(ad_request),
            region=lambda: rt.regions.region(ad_request.ip),
            supply_tag=ad_request.supply_tag,
        )
        if ad is None:
            break
        ad = with_request_macros(ad, ad_request)  # a partner's tag, or a click-through's macros
        if ad.creative.wrapper is None or not ad.creative.wrapper.server_side_unwrap:
            break
        deadline = deadline or unwrap_deadline(ad_request, rt.unwrap_timeout_seconds)
        excluded |= {f"campaign:{ad.campaign.id}"}
        if deadline <= time.monotonic():  # no time left to try it: not its partner's failure
            ad = None
            continue
        unwrapped = unwrap_ad(ad, ad_request, deadline)
        if unwrapped.document is not None:
            body = unwrapped.document
            break
        record_unwrap_failure(rt, ad, unwrapped.error_code)
        ad = None
    count_decision(rt, ad, ad_request.supply_tag)
    if ad is None:
        return no_fill_document(ad_request.vast_version, no_ad_url(base_url(rt)))
    if ad_request.session_id:
        rt.streams.remember(ad_request.session_id, keys_of(ad.campaign))
    return body or vast_document(ad, ad_request.vast_version)


def record_unwrap_failure(rt: Runtime, ad: ServedAd, error_code: str, pod_position: int = 0) -> None:
    """A partner's chain that failed on the server, recorded as its line item's error beacon with the VAST
    code (vast.unwrap), so that its stats count it as a player-reported one would be."""
    try:
        rt.store.record(
            Event(
                name="error",
                ad_serving_id=ad.ad_serving_id,
                campaign_id=str(ad.campaign.id),
                creative_id=str(ad.creative.id),
                occurred_at=time.time(),
                error_code=error_code,
                pod_position=pod_position,
            )
        )
    except StoreUnavailable:
        log.warning("the partner's error %s could not be recorded", error_code)


# A pod document compresses to about a tenth. gzip (level 1) takes about 40 µs whatever the size up to a
# few pods: worth it for a pod, a tenth of a one-ad request's CPU for 3.7 KB saved there, so not below this.
GZIP_MIN_BYTES = 8 * 1024


def _answer_vast(body: bytes, ad_request: AdRequest) -> Response:
    return xml_answer(body, ad_request.warnings, ad_request.ignored)


def xml_answer(body: bytes, warnings: Mapping[str, str], ignored: Iterable[str]) -> Response:
    """A /vast or /vmap document: gzipped from GZIP_MIN_BYTES for callers that accept it, with what was
    ignored named in X-Ad-Request-Warnings and counted by parameter."""
    headers = {"Cache-Control": "no-store"}
    if len(body) >= GZIP_MIN_BYTES:
        headers["Vary"] = "Accept-Encoding"
        if request.accept_encodings["gzip"]:
            body = gzip.compress(body, compresslevel=1, mtime=0)
            headers["Content-Encoding"] = "gzip"
    response = Response(body, 200, content_type=XML, headers=headers)
    if warnings:
        response.headers[WARNINGS_HEADER] = warnings_header(warnings)
        for name in ignored:
            ignored_parameter_series(name).inc()
    return response


def _excluded(rt: Runtime, catalog: Catalog, ad_request: AdRequest, device: str | None) -> frozenset[str]:
    """Separation keys the request excludes (app.serving.separation), with the campaigns and advertisers
    whose frequency cap the device reached (app.serving.caps): its stream's and its device's reads are the
    request's one Redis round trip."""
    shown, history = rt.caps.read(rt.streams, ad_request.session_id, device)
    capped = capped_keys(catalog, history, time.time())
    if not (shown or capped or ad_request.blocked_domains or ad_request.blocked_categories):
        return frozenset()
    return excluded_keys(ad_request.blocked_domains, ad_request.blocked_categories, shown | capped)


def pod_answer(rt: Runtime, state: ServingState, ad_request: AdRequest) -> bytes:
    """The break as a pod (app.serving.pods), then its buffet: standalone ads not already in the pod."""
    limits = ad_request.pod
    device = rt.caps.device_of(state.catalog, ad_request)
    excluded = _excluded(rt, state.catalog, ad_request, device)
    low, high = ad_request.duration_window(rt.duration_tolerance_seconds)
    index = index_for(state, lambda: profile_of(ad_request), lambda: rt.regions.region(ad_request.ip))
    creatives = choose_pod(
        index,
        state.catalog,
        PodRequest(
            max_seconds=limits.max_seconds + rt.duration_tolerance_seconds,
            min_seconds=limits.min_seconds,
            max_ads=limits.max_ads,
            min_ads=limits.min_ads,
            ad_min_seconds=low,
            ad_max_seconds=high,
        ),
        excluded=excluded,
    )
    taken = {creative.id for creative in creatives}
    shown = {key for c in creatives for key in keys_of(state.catalog.campaigns[c.campaign_id])}
    buffet = []
    for _ in range(limits.buffet * 4):  # a few draws each: the same creative is never offered twice
        if len(buffet) == limits.buffet:
            break
        creative = choose_one(index, state.catalog, low, high, excluded=excluded | shown)
        if creative is not None and creative.id not in taken:
            taken.add(creative.id)
            buffet.append(creative)
    campaigns, tag = state.catalog.campaigns, ad_request.supply_tag
    served = partial(
        serve,
        signer=rt.signer,
        base_url=base_url(rt),
        private=not ad_request.identifiers_allowed,
        device=device,
        supply_tag=tag,
    )
    ads = [served(campaigns[c.campaign_id], c, pod_position=pos) for pos, c in enumerate(creatives, 1)] + [
        served(campaigns[c.campaign_id], c) for c in buffet
    ]
    sequenced, documents = len(creatives), {}
    ads = [with_request_macros(ad, ad_request) for ad in ads]
    if state.catalog.redirect_keys:
        ads, sequenced, documents = _unwrapped_in_pod(rt, ads, sequenced, ad_request, served)
    pod = ads[:sequenced]
    if ad_request.session_id:
        rt.streams.remember(ad_request.session_id, {key for ad in pod for key in keys_of(ad.campaign)})
    _count(rt, filled=bool(pod), supply_tag=tag)
    rt.counter.count_pod(len(pod), limits.max_seconds, sum(ad.creative.duration for ad in pod), tag)
    for ad in ads:
        _note_served(rt, ad, tag)
    return pod_document(ads, ad_request.vast_version, sequenced, no_ad_url(base_url(rt)), documents)


def _unwrapped_in_pod(
    rt: Runtime, ads: list[ServedAd], sequenced: int, ad_request: AdRequest, served: Callable[..., ServedAd]
) -> tuple[list[ServedAd], int, dict[str, bytes]]:
    """The pod (its first `sequenced` ads) and buffet with their server-side unwrapping line items
    unwrapped (app.serving.wrappers.unwrap_ads: in the request's VAST version, by one deadline). A failed
    one is recorded (`record_unwrap_failure`) and dropped; the pod's ads after it move up, so that sequence
    stays 1..k, their beacons signed again for their new position. Returns (ads, k, the unwrapped InLine
    documents by ad serving id)."""
    targets = [ad for ad in ads if ad.creative.wrapper is not None and ad.creative.wrapper.server_side_unwrap]
    if not targets:
        return ads, sequenced, {}
    deadline = unwrap_deadline(ad_request, rt.unwrap_timeout_seconds)
    outcomes = unwrap_ads(targets, ad_request, deadline, ad_request.vast_version)
    results = {ad.ad_serving_id: outcome for ad, outcome in zip(targets, outcomes, strict=True)}
    kept, documents, position = [], {}, 0
    for number, ad in enumerate(ads, 1):
        in_pod = number <= sequenced
        result = results.get(ad.ad_serving_id)
        if result is not None and result.document is None:
            if result.error_code is not None:  # else not tried (wrappers.NOT_TRIED)
                record_unwrap_failure(rt, ad, result.error_code, number if in_pod else 0)
            continue
        if in_pod:
            position += 1
        if in_pod and position != number:  # same ad serving id, its beacons signed for the new position
            again = served(ad.campaign, ad.creative, ad_serving_id=ad.ad_serving_id, pod_position=position)
            token = again.token
            if result is not None:
                result = replace(result, document=result.document.replace(ad.token.encode(), token.encode()))
            ad = replace(ad, token=token)
        if result is not None:
            documents[ad.ad_serving_id] = result.document
        kept.append(ad)
    return kept, position, documents


def _count(rt: Runtime, *, filled: bool, supply_tag: int = 0) -> None:
    rt.counter.count(filled, supply_tag)
    decision_series("fill" if filled else "no_fill").inc()


def choose(
    rt: Runtime,
    state: ServingState,
    min_duration: float,
    max_duration: float,
    *,
    private: bool,
    excluded: frozenset[str] = frozenset(),
    device: str | None = None,
    profile: Callable[[], Profile] = Profile,
    region: Callable[[], str | None] | None = None,
    supply_tag: int = 0,
) -> ServedAd | None:
    """The ad for a request, without counting it: a decision that may not be used counts nothing. `device`
    is its frequency-cap device key (app.serving.caps) and `supply_tag` its tag (0: none), for the ad's
    beacons; `profile` gives the request's targeting values (app.serving.targeting), read only when some
    campaign targets, and `region` the device's region, only when some campaign targets regions."""
    high = max_duration + rt.duration_tolerance_seconds
    index = index_for(state, profile, region)
    creative = choose_one(index, state.catalog, min_duration, high, excluded=excluded)
    if creative is None:
        return None
    campaign = state.catalog.campaigns[creative.campaign_id]
    return serve(
        campaign, creative, rt.signer, base_url(rt), private=private, device=device, supply_tag=supply_tag
    )


def count_decision(rt: Runtime, ad: ServedAd | None, supply_tag: int = 0) -> None:
    _count(rt, filled=ad is not None, supply_tag=supply_tag)
    if ad is not None:
        _note_served(rt, ad, supply_tag)


def _note_served(rt: Runtime, ad: ServedAd, supply_tag: int = 0) -> None:
    """An ad in an answer: its campaign's pacing, and the ads served of its campaign and creative (and the
    supply tag it was asked through)."""
    rt.catalog.note_served(ad.campaign.id)
    rt.counter.count_served(ad.campaign.id, ad.creative.id, supply_tag)


@sdk.post("/ad-request")
@json_body(sdk, AdRequestBodySchema)
@sdk.response(200, AdAnswerSchema)
@sdk.alt_response(204, description="No fill: no ad fits")
@sdk.alt_response(429, schema=ErrorSchema, description="Too many requests from this client")
@sdk.alt_response(503, schema=ErrorSchema, description="The event store is unavailable; retry")
@sdk.doc(security=[])
def ad_request(body):
    """Ask for an ad as JSON. Idempotent: the same request_id always gets the same answer, decided and
    counted once however many copies of the request arrive at the same time. One Redis round trip (the
    answer stored unless one exists, and the request recorded, in one script); two when a frequency cap
    applies, whose device history is read first (with any answer already stored)."""
    rt = runtime()
    refuse_when_unsafe(rt)
    request_id = body["request_id"]
    private = not identifiers_allowed(body)
    state = rt.catalog.current()
    catalog = state.catalog
    ip, user_agent = device_ip(request.headers, request.remote_addr), device_user_agent(request.headers)
    device = rt.caps.device(catalog, ifa=body.get("ifa"), ip=ip, user_agent=user_agent, allowed=not private)
    try:
        stored, history = (
            (None, {}) if device is None else rt.caps.answer_and_history(rt.store, request_id, device)
        )
        if stored is None:
            # A JSON answer names a video file: VAST redirect line items (a partner's tag) are not for it.
            excluded = capped_keys(catalog, history, time.time()) | catalog.redirect_keys
            ad = choose(
                rt,
                state,
                0.0,
                body["duration"],
                private=private,
                excluded=excluded,
                device=device,
                profile=partial(device_profile, ip, user_agent),
                region=partial(rt.regions.region, ip),
            )
            if ad is not None and has_macros(ad.click_through):
                ad = with_request_macros(ad, body_ad_request(body, request.headers, request.remote_addr))
            envelope = _answer(rt, request_id, ad, private, device)
            answer = json.dumps(envelope)
            stored = rt.store.remember_answer(
                request_id,
                answer,
                rt.answer_ttl_seconds,
                _ad_request_event(request_id, body["duration"], envelope, ip, user_agent),
            )
            if stored is None:  # ours is the answer, and its request is recorded: count the decision, once
                count_decision(rt, ad)
                stored = answer
    except StoreUnavailable:
        raise ServiceUnavailable("Ad requests are unavailable for a moment; retry") from None
    response = json.loads(stored)["response"]
    return response if response else ("", 204)


def refuse_when_unsafe(rt: Runtime) -> None:
    """503 while the Redis could lose or double count what we acknowledge (app.tracking.redis_safety)."""
    if rt.redis_safety.refuses():
        raise ServiceUnavailable("The event store is misconfigured; retry later")


def _answer(rt: Runtime, request_id: str, ad: ServedAd | None, private: bool, device: str | None) -> dict:
    if ad is None:
        return {"response": None, "private": private}
    creative = ad.creative
    return {
        "response": {
            "request_id": request_id,
            "ad_serving_id": ad.ad_serving_id,
            "campaign_id": str(ad.campaign.id),
            "creative_id": str(creative.id),
            "video_url": ad.media_url,
            "duration": creative.duration,
            "width": creative.width,
            "height": creative.height,
            "click_through_url": ad.click_through,  # its server macros filled (with_request_macros)
            "vast_url": f"{base_url(rt)}/vast?request_id={request_id}",
            "tracking": tracking_urls(ad),
        },
        "cost_units": ad.campaign.cost_units,
        "private": private,  # no personal data for its request, impression and beacons
        "device": device,  # its frequency-cap device key (app.serving.caps), a keyed hash
    }


def _ad_request_event(
    request_id: str, duration: float, envelope: dict, ip: str | None, user_agent: str | None
) -> Event:
    response = envelope["response"] or {}
    private = envelope["private"]
    return Event(
        name=AD_REQUEST,
        ad_serving_id=response.get("ad_serving_id") or f"nofill-{request_id}",
        campaign_id=response.get("campaign_id"),
        creative_id=response.get("creative_id"),
        occurred_at=time.time(),
        request_id=request_id,
        ip=None if private else ip,
        user_agent=None if private else user_agent,
        payload=json.dumps({"duration": duration}),
    )


def replay(rt: Runtime, request_id: str, *, private: bool) -> ServedAd | None:
    """The ad an SDK request got, as VAST (its vast_url): same ad serving id, same beacons; private when
    either the SDK request or this one says so. Its click-through is the answer's, macros filled by the SDK
    request's values and consent: whoever fetches the vast_url neither adds nor changes an identifier."""
    try:
        stored = rt.store.answer(request_id)
    except StoreUnavailable:
        raise ServiceUnavailable("Ad requests are unavailable for a moment; retry") from None
    if stored is None:
        raise NotFound("Unknown request_id")
    envelope = json.loads(stored)
    response = envelope["response"]
    if not response:
        return None
    private = private or envelope.get("private", False)
    catalog = rt.catalog.current().catalog
    campaign = catalog.campaigns.get(uuid.UUID(response["campaign_id"]))
    creative = catalog.creatives.get(uuid.UUID(response["creative_id"]))
    if campaign is None or creative is None:
        return None  # no longer servable
    ad = serve(
        campaign,
        creative,
        rt.signer,
        base_url(rt),
        private=private,
        ad_serving_id=response["ad_serving_id"],
        device=envelope.get("device"),
    )
    return replace(ad, click_through=response.get("click_through_url"))
