"""VAST redirect line items on /vast: a third party's tag served as a VAST <Wrapper> with our own beacons.

The partner's tag is expanded per request (vast.macros.SERVER_MACROS, from the AdRequest: `macro_values`;
the player's macros left for the player), then wrapped with our signed Impression, Error ([ERRORCODE] left
for the player: a partner's no-ad comes back as 303, its timeout as 301, both counted per line item by the
tracker) and TrackingEvents, with followAdditionalWrappers="true", allowMultipleAds="false" and
fallbackOnNoAd="true" (VAST 4.x).

With `server_side_unwrap`, the server follows the tag itself ([SERVERSIDE] 1), every hop's URL expanded with
the same values and consent rule, and macros no server can fill (the player's, unknown ones) written -1
(`tag_expander`; vast.unwrap: depth 5, loops, validation; app.serving.tag_fetch: the deadline over the whole
fetch) by one deadline per request (`unwrap_deadline`), and answers with the partner's InLine carrying our
trackers, alone or in a pod (`unwrap_ads`); what a failure does to the answer (the next ad, or a no-fill,
never a late answer) is app.serving.views'.

Direct ads never come here: a served ad is a wrapper only when its catalog entry carries a partner tag.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime

import gevent
from gevent import monkey

from app.serving import consent
from app.serving.ads import AD_SYSTEM, AD_SYSTEM_VERSION, TRACKED_EVENTS, ServedAd
from app.serving.request import AdRequest
from app.serving.tag_fetch import fetch_tag
from vast.macros import expand_server_macros, has_macros
from vast.model import Tracking, WrapperAd
from vast.timecode import format_duration
from vast.unwrap import Trackers, Unwrapped, unwrap

# Kept for the rest of the answer when the caller's tmax bounds the unwrapping.
ANSWER_MARGIN_SECONDS = 0.05
# A line item the request's deadline left no time to unwrap: no ad, and no failure of its partner.
NOT_TRIED = Unwrapped(None)


def macro_values(
    ad_request: AdRequest, ad_serving_id: str, server_side: bool = False
) -> dict[str, str | None]:
    """The request's values of vast.macros.SERVER_MACROS, by bare name (None: unknown). `server_side`: our
    server calls the tag for the device ([SERVERSIDE] 1), else the caller does (0). [GDPRCONSENT] is the TC
    string the consent rule reads and [REGULATIONS] every regulation in force, from any signal
    (app.serving.consent: tc_string, regulations)."""
    regulations = consent.regulations(
        gdpr=ad_request.gdpr,
        coppa=ad_request.coppa,
        us_privacy=ad_request.us_privacy,
        gpp=ad_request.gpp,
        gpp_sid=ad_request.gpp_sid,
    )
    tc_string = consent.tc_string(
        gdpr_consent=ad_request.gdpr_consent, gpp=ad_request.gpp, gpp_sid=ad_request.gpp_sid
    )
    return {
        "ADSERVINGID": ad_serving_id,
        "CACHEBUSTING": f"{random.randrange(10_000_000, 100_000_000)}",
        "TIMESTAMP": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "IFA": ad_request.ifa,
        "IFATYPE": ad_request.ifa_type,
        "LIMITADTRACKING": None if ad_request.lmt is None else str(ad_request.lmt),
        "DEVICEIP": ad_request.ip,
        "DEVICEUA": ad_request.user_agent,
        "SERVERSIDE": "1" if server_side else "0",
        "GDPRCONSENT": tc_string,
        "REGULATIONS": ",".join(regulations) or None,
        "GPPSTRING": ad_request.gpp,
        "GPPSECTIONID": ",".join(map(str, ad_request.gpp_sid)) if ad_request.gpp_sid else None,
        "APPBUNDLE": ad_request.app_bundle,
        "DOMAIN": ad_request.domain,
        "CONTENTPLAYHEAD": None
        if ad_request.content_playhead is None
        else format_duration(ad_request.content_playhead),
    }


def tag_expander(ad: ServedAd, ad_request: AdRequest, server_side: bool = False) -> Callable[[str], str]:
    """What fills a tag's macros for this ad and request (vast.macros.expand_server_macros), the same values
    for every URL it is given (one [CACHEBUSTING] for a whole wrapper chain). `server_side`: the server
    calls the URLs itself, so macros it cannot fill are -1, not left for a player."""
    values: Mapping[str, str | None] = macro_values(ad_request, ad.ad_serving_id, server_side)
    allowed = ad_request.identifiers_allowed
    return lambda url: expand_server_macros(url, values, allowed, server_side)


def partner_tag(ad: ServedAd, ad_request: AdRequest, server_side: bool = False) -> str:
    """The ad's partner tag with the request's macros expanded."""
    return tag_expander(ad, ad_request, server_side)(ad.creative.wrapper.vast_ad_tag_uri)


def with_request_macros(ad: ServedAd, ad_request: AdRequest) -> ServedAd:
    """The ad with the request's server macros filled where it has any: a VAST redirect line item's partner
    tag (`tag_uri`), another's click-through (`click_through`; the player's macros, [ADPLAYHEAD]..., left for
    the player), both by `tag_expander`, one rule for both. An ad whose click-through has no macro (no `[`
    nor `%%`: vast.macros.has_macros) is returned as it is, at the cost of that test alone: /vast's hot
    path."""
    if ad.creative.wrapper:
        return replace(ad, tag_uri=partner_tag(ad, ad_request))
    if has_macros(ad.click_through):
        return replace(ad, click_through=tag_expander(ad, ad_request)(ad.click_through))
    return ad


def wrapper_ad(ad: ServedAd) -> WrapperAd:
    """The ad as a VAST <Wrapper> around its expanded partner tag (`ServedAd.tag_uri`)."""
    return WrapperAd(
        ad_id=str(ad.campaign.id),
        ad_system=AD_SYSTEM,
        ad_system_version=AD_SYSTEM_VERSION,
        vast_ad_tag_uri=ad.tag_uri,
        impressions=(ad.beacon("impression"),),
        errors=(ad.error_beacon(),),
        tracking=tuple(Tracking(event, ad.beacon(event)) for event in TRACKED_EVENTS),
        click_tracking=(ad.beacon("click"),),
    )


def unwrap_deadline(ad_request: AdRequest, timeout_seconds: float) -> float:
    """When server-side unwrapping must be over for this request (time.monotonic): `timeout_seconds`
    (UNWRAP_TIMEOUT_SECONDS) from now, or the caller's tmax less ANSWER_MARGIN_SECONDS when sooner. One
    deadline for all the request's unwrapping: every hop of every chain, and a pod's several line items."""
    seconds = timeout_seconds
    if ad_request.tmax is not None:
        seconds = min(seconds, ad_request.tmax - ANSWER_MARGIN_SECONDS)
    return time.monotonic() + seconds


def unwrap_ad(ad: ServedAd, ad_request: AdRequest, deadline: float, version: str | None = None) -> Unwrapped:
    """Follow the ad's partner tag on the server ([SERVERSIDE] 1) until `deadline` (unwrap_deadline); the
    device's address and user agent go along as VAST 4.1 X-Device-IP and X-Device-User-Agent when
    identifiers may be passed on. The InLine in its own VAST version, or in `version` (a pod's)."""
    headers = {"User-Agent": f"{AD_SYSTEM}/{AD_SYSTEM_VERSION}"}
    if ad_request.identifiers_allowed:
        for name, value in (("X-Device-IP", ad_request.ip), ("X-Device-User-Agent", ad_request.user_agent)):
            if value:
                headers[name] = value
    ours = Trackers(
        impressions=(ad.beacon("impression"),),
        errors=(ad.error_beacon(),),
        tracking=tuple((event, ad.beacon(event)) for event in TRACKED_EVENTS),
        click_tracking=(ad.beacon("click"),),
    )

    def fetch(url: str, seconds: float) -> bytes:
        return fetch_tag(url, seconds, headers)

    expand = tag_expander(ad, ad_request, server_side=True)
    tag = expand(ad.creative.wrapper.vast_ad_tag_uri)
    return unwrap(tag, ours, fetch, deadline - time.monotonic(), as_version=version, expand=expand)


def unwrap_ads(ads: list[ServedAd], ad_request: AdRequest, deadline: float, version: str) -> list[Unwrapped]:
    """unwrap_ad for each ad, in `version`, all by the one `deadline`: at once under gevent (a greenlet
    each), else one after the other, those left when the deadline has passed not tried (NOT_TRIED)."""
    if len(ads) > 1 and monkey.is_module_patched("socket"):
        greenlets = [gevent.spawn(unwrap_ad, ad, ad_request, deadline, version) for ad in ads]
        gevent.joinall(greenlets, raise_error=True)
        return [greenlet.value for greenlet in greenlets]
    return [
        unwrap_ad(ad, ad_request, deadline, version) if time.monotonic() < deadline else NOT_TRIED
        for ad in ads
    ]
