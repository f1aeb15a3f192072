"""GET /vmap: the VMAP 1.0 playlist of a piece of content, one ad break per pre-roll, mid-roll and post-roll,
each filled by our own /vast pod request (vast.vmap builds the document).

Lenient like /vast (app.serving.request): an optional value that cannot be used (empty, an unexpanded macro,
unparsable, out of range) is ignored and named in X-Ad-Request-Warnings; only `strict=1` makes it a 400.
The caller's other parameters are carried over to every break's tag, with the break's own `pod_max_dur`,
`pod_max_ads` and a `session_id` shared by all breaks, so that competitive separation spans the stream.
The device's identifiers (`ifa`, `ip`, `ua`) are carried only when app.serving.consent's rule allows them
for the playlist's privacy signals (`coppa=1`, `lmt=1`, an opt-out, GDPR without consent, an unreadable
signal: left out), while the signals themselves always are, for each break's /vast to apply the same rule.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from flask import Blueprint, jsonify, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestURITooLarge

from app.runtime import runtime, start_runtime
from app.security import MAX_QUERY_BYTES
from app.serving.request import (
    IDENTIFIER_PARAMETERS,
    MAX_POD_ADS,
    MAX_SECONDS,
    POD_MAX_ADS_NAMES,
    POD_MAX_DURATION_NAMES,
    SESSION_NAMES,
    AdRequestError,
    Unusable,
    echo,
    identifiers_allowed,
    read_parameters,
    unusable,
)
from app.serving.views import base_url, xml_answer
from vast import vmap

bp = Blueprint("vmap", __name__)
bp.before_request(start_runtime)  # a stream's tags follow at once: the worker's catalog starts loading

MAX_BREAKS = 50
# Longest content a playlist describes; offsets and `duration` beyond it are unusable.
MAX_CONTENT_SECONDS = 24 * 3600
MIDROLL_DUR = 120.0
PREROLL_DUR = 60.0
POSTROLL_DUR = 60.0
POD_MAX_ADS = 4
_LISTED_DROPS = 5  # offsets named in a warning; the rest are counted

# The playlist's own parameters: never carried over to the breaks' tags.
VMAP_PARAMETERS = (
    "duration",
    "midrolls",
    "midroll_every",
    "preroll",
    "postroll",
    "break_dur",
    "preroll_dur",
    "postroll_dur",
)
# Set per break (or for the stream) on every tag: the caller's values, under any of /vast's names for them,
# are replaced.
# One ad SDKs got from POST /api/v1/ad-request: replayed in every break, so never carried over.
_REQUEST_ID = "request_id"
# A mid-roll's tag carries its offset as the content's playhead (VAST [CONTENTPLAYHEAD]); the caller's
# one playhead holds for no break of a playlist.
_PLAYHEAD = "content_playhead"
_NOT_CARRIED = frozenset(
    (*VMAP_PARAMETERS, *POD_MAX_DURATION_NAMES, *POD_MAX_ADS_NAMES, *SESSION_NAMES, _REQUEST_ID, _PLAYHEAD)
)


@dataclass(slots=True)
class VmapRequest:
    preroll: bool = True
    postroll: bool = True
    # Mid-roll offsets in seconds from the start of the content, ascending, distinct to the millisecond.
    midrolls: list[float] = field(default_factory=list)
    preroll_dur: float = PREROLL_DUR
    midroll_dur: float = MIDROLL_DUR
    postroll_dur: float = POSTROLL_DUR
    pod_max_ads: int = POD_MAX_ADS
    session_id: str = ""
    # The parameters carried over to every tag, in the caller's order (all values of a repeated name).
    carried: list[tuple[str, str]] = field(default_factory=list)
    # Parameter → why its value (or some of it) was not used; its names are this module's, never a caller's.
    warnings: dict[str, str] = field(default_factory=dict)


def _seconds(low: float, high: float, *, above: bool = False) -> Callable[[str], float]:
    """Seconds from `low` (or above it) to `high`."""

    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise Unusable("not a number") from None
        if value != value:  # NaN
            raise Unusable("not a number")
        if value < low or (above and value == low):
            raise Unusable(f"not above {low:g}" if above else f"below {low:g}")
        if value > high:
            raise Unusable(f"above {high:g}")
        return value

    return parse


def _switch(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true"):
        return True
    if value in ("0", "false"):
        return False
    raise Unusable("not 0 or 1, using 1")


def _ads(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise Unusable("not a whole number") from None
    if value < 1:
        raise Unusable("below 1")
    return min(value, MAX_POD_ADS)  # as /vast takes it


def _session(raw: str) -> str:
    if len(raw) > 128:
        raise Unusable("longer than 128 characters")
    return raw


_PARSERS: dict[str, Callable[[str], object]] = {
    "duration": _seconds(0, MAX_CONTENT_SECONDS, above=True),
    "midroll_every": _seconds(1, MAX_CONTENT_SECONDS),
    "preroll": _switch,
    "postroll": _switch,
    "break_dur": _seconds(1, MAX_SECONDS),
    "preroll_dur": _seconds(1, MAX_SECONDS),
    "postroll_dur": _seconds(1, MAX_SECONDS),
    "pod_max_ads": _ads,
    "pmad": _ads,
    "session_id": _session,
    "scor": _session,
    "correlator": _session,
}
_OFFSET = _seconds(0, MAX_CONTENT_SECONDS, above=True)


def parse_vmap_request(args: MultiDict) -> VmapRequest:
    """The playlist's request, leniently (the module's docstring); AdRequestError only under `strict=1`."""
    values, warnings = read_parameters(args, _PARSERS)

    ask = VmapRequest(
        preroll=values.get("preroll", True),
        postroll=values.get("postroll", True),
        preroll_dur=values.get("preroll_dur", PREROLL_DUR),
        midroll_dur=values.get("break_dur", MIDROLL_DUR),
        postroll_dur=values.get("postroll_dur", POSTROLL_DUR),
        pod_max_ads=_first(values, POD_MAX_ADS_NAMES) or POD_MAX_ADS,
        session_id=_first(values, SESSION_NAMES) or uuid.uuid4().hex,
        warnings=warnings,
    )
    room = MAX_BREAKS - ask.preroll - ask.postroll
    duration = values.get("duration")
    raw_midrolls = args.get("midrolls")
    if raw_midrolls is not None:
        reason = unusable(raw_midrolls)
        if reason is not None:
            warnings["midrolls"] = reason
        else:
            ask.midrolls = _listed_midrolls(raw_midrolls, duration, room, warnings)
            if "midroll_every" in values:
                del values["midroll_every"]
                warnings["midroll_every"] = "midrolls given, using midrolls"
    every = values.get("midroll_every")
    if every is not None:
        if duration is None:
            warnings["midroll_every"] = "needs duration"
        else:
            ask.midrolls = _every(every, duration, room, warnings)

    for name in POD_MAX_DURATION_NAMES:
        if name in args:
            warnings[name] = "set per break, by break_dur, preroll_dur and postroll_dur"
    if args.get(_REQUEST_ID) is not None:
        warnings[_REQUEST_ID] = "names one ad, not carried to the breaks"
    if args.get(_PLAYHEAD) is not None:
        warnings[_PLAYHEAD] = "set per mid-roll, from its offset"
    left_out = _NOT_CARRIED if identifiers_allowed(args) else _NOT_CARRIED | frozenset(IDENTIFIER_PARAMETERS)
    ask.carried = [(name, value) for name, value in args.items(multi=True) if name not in left_out]
    if warnings and args.get("strict") == "1":
        raise AdRequestError(warnings)
    return ask


def _first(values: Mapping[str, object], names: tuple[str, ...]):
    return next((values[name] for name in names if name in values), None)


def _listed_midrolls(raw: str, duration: float | None, room: int, warnings: dict[str, str]) -> list[float]:
    """`midrolls=300,900`: the usable offsets, ascending; each dropped one is named (a few) and counted."""
    kept: dict[int, float] = {}  # by millisecond: what players can tell apart
    dropped: list[str] = []
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            reason = unusable(item)
            if reason is not None:
                raise Unusable(reason)
            offset = _OFFSET(item)
            millis = round(offset * 1000)  # the offset as written, HH:MM:SS.mmm
            if millis == 0:
                raise Unusable("not above 0")
            if duration is not None and millis >= round(duration * 1000):
                raise Unusable(f"not before the end at {_seconds_text(duration)}")
            if millis in kept:
                raise Unusable("duplicate")
        except Unusable as exc:
            dropped.append(f"{echo(item)} ({exc.reason})")
            continue
        kept[millis] = offset
    offsets = [kept[millis] for millis in sorted(kept)]
    notes = []
    if dropped:
        listed = ", ".join(dropped[:_LISTED_DROPS])
        more = len(dropped) - _LISTED_DROPS
        notes.append(f"dropped {listed}" + (f" and {more} more" if more > 0 else ""))
    if len(offsets) > room:
        notes.append(f"{MAX_BREAKS} breaks at most, dropped the last {len(offsets) - room}")
        offsets = offsets[:room]
    if not offsets and not notes:
        notes.append("no offset")
    if notes:
        warnings["midrolls"] = ", ".join(notes)
    return offsets


def _every(every: float, duration: float, room: int, warnings: dict[str, str]) -> list[float]:
    """`midroll_every=600&duration=1800`: 600 and 1200 (never at the end, where the post-roll plays)."""
    offsets = []
    number = 1
    while (offset := number * every) < duration:
        if len(offsets) == room:
            warnings["midroll_every"] = (
                f"{MAX_BREAKS} breaks at most, dropped the mid-rolls from {_seconds_text(offset)}"
            )
            break
        offsets.append(offset)
        number += 1
    return offsets


def _seconds_text(seconds: float) -> str:
    """Seconds for a query string, to the millisecond: 120, 90.5."""
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


def breaks(ask: VmapRequest, base: str) -> list[vmap.AdBreak]:
    """The playlist's breaks in play order, each with its /vast pod tag on `base`."""

    def tag(seconds: float, playhead: float | None = None) -> str:
        pod = [
            ("pod_max_dur", _seconds_text(seconds)),
            ("pod_max_ads", str(ask.pod_max_ads)),
            ("session_id", ask.session_id),
        ] + ([] if playhead is None else [(_PLAYHEAD, _seconds_text(playhead))])
        query = urlencode([*ask.carried, *pod])
        if len(query) > MAX_QUERY_BYTES:
            raise RequestURITooLarge(
                f"The breaks' ad tags would carry a query string longer than {MAX_QUERY_BYTES} bytes"
            )
        return f"{base}/vast?{query}"

    planned = []
    if ask.preroll:
        planned.append(vmap.AdBreak(vmap.START, "preroll", tag(ask.preroll_dur)))
    for number, offset in enumerate(ask.midrolls, start=1):
        midroll_tag = tag(ask.midroll_dur, offset)
        planned.append(vmap.AdBreak(vmap.format_offset(offset), f"midroll-{number}", midroll_tag))
    if ask.postroll:
        planned.append(vmap.AdBreak(vmap.END, "postroll", tag(ask.postroll_dur)))
    return planned


@bp.get("/vmap")
def vmap_playlist():
    """The VMAP playlist: 200 application/xml, or a 400 JSON under `strict=1` when a value was unusable."""
    try:
        ask = parse_vmap_request(request.args)
    except AdRequestError as exc:
        return jsonify({"error": str(exc), "details": exc.details}), 400
    return xml_answer(vmap.render(breaks(ask, base_url(runtime()))), ask.warnings, ask.warnings)
