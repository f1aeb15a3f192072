"""An ad request as players and SSAI servers send it: query parameters, plus device headers.

Every parameter is optional, and an ad request is never refused for one: a value that is empty, an
unexpanded macro (`[IP]`, `%%IP%%`, `${IP}`, `{ip}`, `{{IP}}`, `__IP__`, `#{IP}`, Roku RAF's `ROKU_ADS_*`) or
unparsable is treated as absent, and the request carries why (`AdRequest.warnings`, answered in
`X-Ad-Request-Warnings`). An unknown `vast_version` falls back to the default. Only `strict=1` turns any of
this into a refusal (AdRequestError, a 400 for the integrator). Unknown parameters are ignored (players
append their own, and cache busters).

`tag=<id>` names the supply tag the request comes through (app.supply): its defaults (durations, VAST
version, ad break) fill what the request does not give, campaigns limited to tags see it, and its figures are
counted per tag. An unknown or malformed tag is ignored like any other unusable value.

One small parser per parameter, run only for the parameters present, its readings of short values remembered
per worker (players repeat them): this is the hottest path of the server.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import unquote_plus, urlsplit

from app.advertisers.domains import normalise_domain
from app.serving import consent
from app.serving.device import canonical_ip, device_ip, device_user_agent
from app.supply.defaults import SupplyTagEntry
from vast.render import DEFAULT_VERSION, SUPPORTED_VERSIONS

MAX_SECONDS = 3600
MAX_POD_ADS = 20
MAX_BUFFET = 5
# IAB guidelines for identifier-for-advertising types (CTV and mobile).
IFA_TYPES = ("aaid", "idfa", "rida", "afai", "msai", "tifa", "vida", "lgudid", "ppid", "sspid", "sessionid")
# OpenRTB 2.x device types, by number or name.
DEVICE_TYPES = {
    "mobile": 1,
    "pc": 2,
    "ctv": 3,
    "phone": 4,
    "tablet": 5,
    "connected_device": 6,
    "stb": 7,
    "ooh": 8,
}
_DEVICE_TYPE_VALUES = frozenset(DEVICE_TYPES) | {str(n) for n in DEVICE_TYPES.values()}
_IFA_TYPES = frozenset(IFA_TYPES)
# Privacy signals (app.serving.consent): one that is sent but cannot be read keeps every identifier out.
PRIVACY_PARAMETERS = ("us_privacy", "gdpr", "gdpr_consent", "gpp", "gpp_sid", "coppa", "lmt", "is_lmt")
# The device's identifiers a request may carry: used only when consent.identifiers_allowed says so.
IDENTIFIER_PARAMETERS = ("ifa", "ip", "ua")
DEVICE_IP_HEADER = "X-Device-IP"
# The warnings header stays well under any proxy's header limit whatever the caller sent.
MAX_WARNINGS_HEADER = 512
_MAX_ECHO = 16

# Whole-value macros of the ad-tech dialects a caller may have failed to expand; a name starts with a
# letter or an underscore, so a bracketed IPv6 address ([2001:db8::1]) is never one.
_MACRO_START = frozenset("[%${_#R")
_MACRO = re.compile(
    r"""\[[A-Za-z_][\w.\-]*\]            # [IP]            VAST 4, IMA
      | %%[A-Za-z_][\w.\-]*%%            # %%IP%%          DFP/GAM
      | [$#]\{[A-Za-z_][\w.\-]*\}        # ${IP}, #{IP}    SpotX, FreeWheel
      | \{\{?[A-Za-z_][\w.\-]*\}?\}      # {ip}, {{IP}}    SpringServe, templating
      | __[A-Za-z][\w]*?__               # __IP__
      | %5B[A-Za-z_][\w.\-]*%5D          # [IP] encoded twice
      | ROKU_ADS_[A-Z0-9_]+              # ROKU_ADS_EXTERNAL_IP  Roku RAF
    """,
    re.VERBOSE | re.IGNORECASE,
)
# GPP section ids (gpp_sid): at most this many, each a small whole number.
MAX_GPP_SECTIONS = 32
_UNSAFE_ECHO = re.compile(r"[^A-Za-z0-9._\-]")


class AdRequestError(ValueError):
    def __init__(self, details: dict[str, str]):
        super().__init__("Invalid ad request: " + "; ".join(f"{k}: {v}" for k, v in details.items()))
        self.details = details


class Unusable(Exception):
    """A parameter's value cannot be used; `reason` says why (named in X-Ad-Request-Warnings)."""

    def __init__(self, reason: str):
        self.reason = reason


class Adjusted(Exception):
    """A parameter's value is used in part (capped, or some entries of a list dropped): `value` is what is
    used, `reason` says what was left out (named in X-Ad-Request-Warnings; a 400 under `strict=1`)."""

    def __init__(self, value: object, reason: str):
        self.value = value
        self.reason = reason


def echo(value: str) -> str:
    """A caller's value, short and header-safe, to name it in a warning."""
    shown = _UNSAFE_ECHO.sub("?", value[:_MAX_ECHO])
    return shown + "..." if len(value) > _MAX_ECHO else shown


def _seconds(low: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise Unusable("not a number") from None
        if not low <= value <= MAX_SECONDS:  # NaN and infinities fail too
            raise Unusable(f"not within {low:g}-{MAX_SECONDS}")
        return value

    return parse


def _milliseconds(low: float) -> Callable[[str], float]:
    """A duration sent in milliseconds (Google's pmxd/pmnd, avail_duration_ms), as seconds."""
    seconds = _seconds(low)

    def parse(raw: str) -> float:
        try:
            return seconds(str(float(raw) / 1000))
        except ValueError:
            raise Unusable("not a number") from None

    return parse


def _count(low: int, high: int) -> Callable[[str], int]:
    """A whole number from `low`; above `high` it is taken as `high` (a pod never holds more), with a
    warning."""

    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise Unusable("not a whole number") from None
        if value < low:
            raise Unusable(f"below {low}")
        if value > high:
            raise Adjusted(high, f"above {high}, using {high}")
        return value

    return parse


_CATEGORY = re.compile(r"[A-Za-z0-9-]{1,16}")
MAX_LIST = 100


def _list(item: Callable[[str], str]) -> Callable[[str], frozenset[str]]:
    """A comma-separated list (OpenRTB badv, bcat): each entry as `item` reads it (ValueError when it
    cannot); unusable entries are dropped with a warning (empty ones silently), and only a list with none
    left is ignored."""

    def parse(raw: str) -> frozenset[str]:
        items = set()
        dropped = 0
        for part in raw.split(",", MAX_LIST)[:MAX_LIST]:
            if not (part := part.strip()):  # "a,,b" or a trailing comma: nothing was meant
                continue
            try:
                items.add(item(part))
            except ValueError:
                dropped += 1
        if not items:
            raise Unusable("no usable entry")
        if dropped:
            raise Adjusted(
                frozenset(items), f"{dropped} unusable {'entry' if dropped == 1 else 'entries'} left out"
            )
        return frozenset(items)

    return parse


def _matching(pattern: re.Pattern) -> Callable[[str], str]:
    """An entry in lower case when it matches `pattern` whole; ValueError otherwise."""

    def read(value: str) -> str:
        value = value.lower()
        if not pattern.fullmatch(value):
            raise ValueError(value)
        return value

    return read


def _text(limit: int) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if len(raw) > limit:
            raise Unusable(f"longer than {limit} characters")
        return raw

    return parse


_GENRE = re.compile(r"[^\x00-\x1f,]{1,64}")
MAX_CUSTOM_PAIRS = 20
_CUSTOM_KEY = re.compile(r"[a-z0-9_.\-]{1,40}")
_CUSTOM_VALUE = re.compile(r"[^\x00-\x1f]{1,255}")


_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}")


def _domain(raw: str) -> str:
    """A domain (VAST 4.1 [DOMAIN], OpenRTB site.domain / app.domain), from a bare host or a URL (a page's
    address: its host): lower case, without scheme, port, path or a trailing dot."""
    value = raw.strip().lower()
    if "://" in value:
        value = urlsplit(value).hostname or ""
    value = value.split("/", 1)[0].split(":", 1)[0].rstrip(".")
    if len(value) > 253 or not _DOMAIN.fullmatch(value):
        raise Unusable("not a domain")
    return value


_TIMECODE = re.compile(r"(\d{1,2}):([0-5]\d):([0-5]\d(?:\.\d{1,3})?)", re.ASCII)


def _playhead(raw: str) -> float:
    """The content's playhead at the break (VAST [CONTENTPLAYHEAD]), sent as seconds (`300.5`) or as the
    spec's HH:MM:SS.mmm (`00:05:00.500`): seconds, below 24 hours (VAST time values are xs:time)."""
    value = raw.strip()
    clock = _TIMECODE.fullmatch(value)
    try:
        if clock is None:
            seconds = float(value)
        else:
            hours, minutes, rest = clock.groups()
            seconds = int(hours) * 3600 + int(minutes) * 60 + float(rest)
    except ValueError:
        raise Unusable("not seconds or HH:MM:SS.mmm") from None
    if not 0 <= seconds < 24 * 3600:  # NaN and infinities fail too
        raise Unusable("not within 0 s-24 h")
    return seconds


def _rating(raw: str) -> str:
    """OpenRTB content.contentrating (TV-14, PG-13...): compared in lower case."""
    value = raw.strip().lower()
    if len(value) > 32:
        raise Unusable("longer than 32 characters")
    return value


def _custom(raw: str) -> frozenset[tuple[str, str]]:
    """Custom targeting as Google Ad Manager's cust_params carries it: URL-encoded `key=value` pairs joined
    by `&`, a value list by commas (`section=sports&team=bulls,cubs`); keys and values in lower case, at
    most MAX_CUSTOM_PAIRS pairs. Unusable pairs (and new ones past the limits) are left out with a warning;
    empty parts and repeats are dropped silently. Only a value with no pair left is ignored."""
    pairs: set[tuple[str, str]] = set()
    parts, dropped = _split_capped(raw, "&", MAX_CUSTOM_PAIRS * 4)
    for part in parts:
        key, _, values = part.partition("=")
        key = unquote_plus(key).strip().lower()
        usable_key = _CUSTOM_KEY.fullmatch(key) is not None
        values, past = _split_capped(unquote_plus(values), ",", MAX_CUSTOM_PAIRS)
        dropped += past
        for value in values:
            value = value.strip().lower()
            if not value or (key, value) in pairs:  # "team=bulls," or a repeat: nothing new was meant
                continue
            if usable_key and _CUSTOM_VALUE.fullmatch(value) and len(pairs) < MAX_CUSTOM_PAIRS:
                pairs.add((key, value))
            else:
                dropped += 1
    if not pairs:
        raise Unusable("no usable key=value pair")
    if dropped:
        left_out = f"{dropped} {'pair' if dropped == 1 else 'pairs'} left out"
        raise Adjusted(frozenset(pairs), f"{left_out} (unusable, or past {MAX_CUSTOM_PAIRS})")
    return frozenset(pairs)


def _split_capped(text: str, separator: str, most: int) -> tuple[list[str], int]:
    """(the distinct non-empty parts of `text` split by `separator`, at most `most` of them read; how many
    other distinct parts came after those, unread)."""
    parts = text.split(separator, most)
    rest = parts.pop() if len(parts) > most else ""
    read = dict.fromkeys(part for part in parts if part)  # in order, each once
    return list(read), len({part for part in rest.split(separator) if part} - read.keys())


def _vast_version(raw: str) -> str:
    if raw in SUPPORTED_VERSIONS:
        return raw
    if f"{raw}.0" in SUPPORTED_VERSIONS:  # "4" is 4.0, "3" is 3.0
        return f"{raw}.0"
    raise Unusable(f"unsupported {echo(raw)}, using {DEFAULT_VERSION}")


def _ifa_type(raw: str) -> str:
    value = raw.lower()
    if value not in _IFA_TYPES:
        raise Unusable("not a known IFA type")
    return value


def _device_type(raw: str) -> str:
    if raw.lower() not in _DEVICE_TYPE_VALUES:
        raise Unusable("not an OpenRTB device type")
    return raw


def _ip(raw: str) -> str:
    address = canonical_ip(raw)
    if address is None:
        raise Unusable("not an IP address")
    return address


def _zero_or_one(raw: str) -> int:
    value = raw.strip()
    if value not in ("0", "1"):
        raise Unusable("not 0 or 1")
    return int(value)


def _consent_string(read: Callable[[str], object], reason: str) -> Callable[[str], str]:
    """A consent string, kept as sent once app.serving.consent's `read` (cached per string) can read it.
    TC strings (gdpr_consent) are bounded only by the query string's length: one with publisher
    restrictions and disclosed vendors runs to 4 KB."""

    def parse(raw: str) -> str:
        try:
            read(raw)
        except consent.Unreadable:
            raise Unusable(reason) from None
        return raw

    return parse


def _gpp_sid(raw: str) -> tuple[int, ...]:
    """The GPP sections in force (OpenRTB 2.6 regs.gpp_sid), comma-separated whole numbers, as sent."""
    parts = raw.split(",", MAX_GPP_SECTIONS)
    if len(parts) > MAX_GPP_SECTIONS:
        raise Unusable(f"more than {MAX_GPP_SECTIONS} section ids")
    try:
        ids = tuple(int(part) for part in parts)
    except ValueError:
        raise Unusable("not comma-separated whole numbers") from None
    if any(not 0 < sid < 1000 for sid in ids):
        raise Unusable("a section id out of range")
    return ids


def _limit_tracking(raw: str) -> int:
    """OpenRTB device.lmt: 0 or 1, or Roku RAF's true / false (ROKU_ADS_LIMIT_TRACKING)."""
    value = raw.strip().lower()
    if value in ("true", "false"):
        return int(value == "true")
    return _zero_or_one(value)


MAX_TAG_ID = 2**31 - 1


def _tag(raw: str) -> int:
    value = raw.strip()
    if not value.isdigit() or not 0 < int(value) <= MAX_TAG_ID:
        raise Unusable("not a supply tag id")
    return int(value)


_PARSERS: dict[str, Callable[[str], object]] = {
    "max_duration": _seconds(1),
    "dur": _seconds(1),
    "min_duration": _seconds(0),
    "vast_version": _vast_version,
    "ifa": _text(128),
    "ifa_type": _ifa_type,
    # Limit ad tracking (OpenRTB device.lmt; `is_lmt` as SSAI macros name it): 1, no identifier is used.
    "lmt": _limit_tracking,
    "is_lmt": _limit_tracking,
    "app_bundle": _text(255),
    "app_name": _text(255),
    # The publisher's domain (VAST [DOMAIN]): given, the app's (OpenRTB app.domain), or a page's host
    # (`page_url`, Google IMA's `description_url`); the first usable in that order.
    "domain": _domain,
    "app_domain": _domain,
    "page_url": _domain,
    "description_url": _domain,
    # The content's playhead at the break (VAST [CONTENTPLAYHEAD]): seconds or HH:MM:SS.mmm.
    "content_playhead": _playhead,
    "device_type": _device_type,
    "ip": _ip,
    "ua": _text(1024),
    "us_privacy": _consent_string(consent.us_privacy_opt_out, "not a US Privacy string"),
    "gdpr": _zero_or_one,
    "gdpr_consent": _consent_string(consent.tcf_purpose_one, "not a TCF consent string"),
    "gpp": _consent_string(consent.decode_gpp, "not a GPP string"),
    "gpp_sid": _gpp_sid,
    # Directed at children (OpenRTB regs.coppa): 1, no identifier is used at all.
    "coppa": _zero_or_one,
    # The caller's own timeout (OpenRTB tmax, ms): server-side unwrapping answers within it.
    "tmax": _milliseconds(0.001),  # under the 50 ms kept for the answer: no time to unwrap, not the default
    "cb": _text(128),
    "request_id": _text(128),
    # Ad pods (app.serving.pods), and the aliases integrators send: Google's pmxd/pmnd (ms) and pmad,
    # an SSAI service's avail duration.
    "pod_max_dur": _seconds(1),
    "pmxd": _milliseconds(1),
    "avail_duration_secs": _seconds(1),
    "avail_duration_ms": _milliseconds(1),
    "pod_min_dur": _seconds(0),
    "pmnd": _milliseconds(0),
    "pod_max_ads": _count(1, MAX_POD_ADS),
    "pmad": _count(1, MAX_POD_ADS),
    "pod_min_ads": _count(1, MAX_POD_ADS),
    "pod_buffet": _count(0, MAX_BUFFET),
    # Competitive separation (app.serving.separation): the stream, as integrators name it, and OpenRTB's
    # blocked advertiser domains and categories.
    "session_id": _text(128),
    "scor": _text(128),
    "correlator": _text(128),
    "badv": _list(normalise_domain),  # as advertisers' domains are stored: "https://www.Brand.example/"
    "bcat": _list(_matching(_CATEGORY)),
    "blocked_cats": _list(_matching(_CATEGORY)),
    # Targeting signals (app.serving.targeting): OpenRTB content.genre, content.contentrating and
    # content.livestream, and custom key=value pairs.
    "content_genre": _list(_matching(_GENRE)),
    "content_rating": _rating,
    "livestream": _zero_or_one,
    "cust_params": _custom,
    # The supply tag the request comes through (app.supply).
    "tag": _tag,
}
SESSION_NAMES = ("session_id", "scor", "correlator")
DOMAIN_NAMES = ("domain", "app_domain", "page_url", "description_url")
# Each pod limit by its names, the first given wins.
POD_MAX_DURATION_NAMES = ("pod_max_dur", "pmxd", "avail_duration_secs", "avail_duration_ms")
POD_MIN_DURATION_NAMES = ("pod_min_dur", "pmnd")
POD_MAX_ADS_NAMES = ("pod_max_ads", "pmad")
POD_PARAMETERS = (
    *POD_MAX_DURATION_NAMES,
    *POD_MIN_DURATION_NAMES,
    *POD_MAX_ADS_NAMES,
    "pod_min_ads",
    "pod_buffet",
)
# The names an ignored value may be counted under (a metric label): never a caller's string.
QUERY_PARAMETERS = tuple(_PARSERS)
KNOWN_PARAMETERS = (*QUERY_PARAMETERS, DEVICE_IP_HEADER)


def unusable(raw: str) -> str | None:
    """Why `raw` is no value at all (empty, an unexpanded macro), or None."""
    if not raw or raw.isspace():
        return "empty"
    if raw[0] in _MACRO_START and _MACRO.fullmatch(raw):
        return "unexpanded macro"
    return None


@dataclass(frozen=True, slots=True)
class PodLimits:
    """An ad break to fill: total seconds within [min_seconds, max_seconds], ads within [min_ads,
    max_ads], then up to `buffet` standalone ads for the player to substitute a failed one."""

    max_seconds: float
    min_seconds: float = 0.0
    max_ads: int = MAX_POD_ADS
    min_ads: int = 1
    buffet: int = 0


@dataclass(slots=True)  # not frozen: a frozen dataclass takes twice as long to build, on every request
class AdRequest:
    min_duration: float
    max_duration: float
    vast_version: str
    ip: str | None
    user_agent: str | None
    ifa: str | None
    ifa_type: str | None
    app_bundle: str | None
    app_name: str | None
    device_type: str | None
    us_privacy: str | None
    gdpr: int | None
    gdpr_consent: str | None
    request_id: str | None
    # Parameter (or header) → why its value was ignored, or why no ad can fit; empty when all was used.
    warnings: Mapping[str, str]
    # The parameters whose values were treated as absent or used in part (a subset of warnings' keys).
    ignored: tuple[str, ...] = ()
    # The durations cannot all hold (min_duration above max_duration): the answer is a no-fill.
    fits_nothing: bool = False
    # A privacy signal was sent but could not be read: the request is treated as opted out.
    privacy_unreadable: bool = False
    # An ad break (any pod parameter given): the answer is a pod, else a single ad.
    pod: PodLimits | None = None
    # The viewer's stream, for separation across its breaks; blocked advertiser domains and categories.
    session_id: str | None = None
    blocked_domains: frozenset[str] = frozenset()
    blocked_categories: frozenset[str] = frozenset()
    lmt: int | None = None
    # Targeting signals: content genres and rating (lower case), live (1) or not (0), cust_params pairs.
    content_genres: frozenset[str] = frozenset()
    content_rating: str | None = None
    livestream: int | None = None
    custom: frozenset[tuple[str, str]] = frozenset()
    # IAB GPP string and its sections in force; COPPA (1: directed at children).
    gpp: str | None = None
    gpp_sid: tuple[int, ...] | None = None
    coppa: int | None = None
    # identifiers_allowed, once worked out: a request asks it for its caps, its beacons and its events.
    _identifiers_allowed: bool | None = field(default=None, repr=False, compare=False)
    supply_tag: int = 0  # the known supply tag it came through (app.supply), 0 for none
    tmax: float | None = None  # seconds the caller waits for the answer
    domain: str | None = None  # the publisher's domain, lower case (VAST [DOMAIN])
    content_playhead: float | None = None  # seconds into the content at the break (VAST [CONTENTPLAYHEAD])

    def duration_window(self, tolerance: float) -> tuple[float, float]:
        """The seconds an ad of this request may last, [low, high]: the request's min_duration and
        max_duration (widened by `tolerance`, DURATION_TOLERANCE_SECONDS), and in a pod the break's length."""
        high = self.max_duration + tolerance
        if self.pod is not None:
            high = min(high, self.pod.max_seconds + tolerance)
        return self.min_duration, high

    @property
    def identifiers_allowed(self) -> bool:
        """Whether the IFA, IP address and user agent may be used (frequency caps, events, beacons):
        app.serving.consent's rule."""
        if self._identifiers_allowed is None:
            self._identifiers_allowed = self._consent()
        return self._identifiers_allowed

    def _consent(self) -> bool:
        return consent.identifiers_allowed(
            coppa=self.coppa,
            lmt=self.lmt,
            us_privacy=self.us_privacy,
            gdpr=self.gdpr,
            gdpr_consent=self.gdpr_consent,
            gpp=self.gpp,
            gpp_sid=self.gpp_sid,
            unreadable=self.privacy_unreadable,
        )

    def warnings_header(self) -> str:
        return warnings_header(self.warnings)


def warnings_header(warnings: Mapping[str, str]) -> str:
    """The warnings as one header value: ASCII, `name: reason; ...`, at most MAX_WARNINGS_HEADER long (cut
    between entries where it can)."""
    text = "; ".join(f"{name}: {reason}" for name, reason in warnings.items())
    if len(text) > MAX_WARNINGS_HEADER:
        head = text[: MAX_WARNINGS_HEADER - 5]
        text = (head.rpartition("; ")[0] or head) + "; ..."
    return text


def read_parameters(
    args: Mapping[str, str], parsers: Mapping[str, Callable[[str], object]]
) -> tuple[dict[str, object], dict[str, str]]:
    """(values, warnings): each parameter of `parsers` present in `args`, parsed, or why it was ignored
    (empty, an unexpanded macro, unusable) or used in part (`Adjusted`: its value, and why)."""
    values: dict[str, object] = {}
    warnings: dict[str, str] = {}
    for name, raw in args.items():  # a MultiDict gives each name's first value
        parse = parsers.get(name)
        if parse is None:
            continue
        value, reason = (_read_remembered if len(raw) <= REMEMBERED_LENGTH else _read)(parse, raw)
        if value is not _NONE:
            values[name] = value
        if reason is not None:
            warnings[name] = reason
    return values, warnings


_NONE = object()  # no value: the parameter is ignored
# Players send the same values request after request (device type, app, content, custom pairs), so each
# worker keeps the readings of the last PARSED_VALUES short ones: the parsers are pure and their values
# immutable (str, numbers, frozensets, tuples).
PARSED_VALUES = 4096
REMEMBERED_LENGTH = 256


def _read(parse: Callable[[str], object], raw: str) -> tuple[object, str | None]:
    """(value or _NONE, the warning or None)."""
    reason = unusable(raw)
    if reason is None:
        try:
            return parse(raw), None
        except Adjusted as exc:
            return exc.value, exc.reason
        except Unusable as exc:
            reason = exc.reason
    return _NONE, reason


_read_remembered = lru_cache(maxsize=PARSED_VALUES)(_read)


def _as_query(signals: Mapping[str, object], names: tuple[str, ...]) -> dict[str, str]:
    """The `names` of a JSON body as query parameters (gpp_sid may be an array)."""
    return {
        name: ",".join(map(str, raw)) if isinstance(raw, list | tuple) else str(raw)
        for name in names
        if (raw := signals.get(name)) is not None
    }


def body_ad_request(
    body: Mapping[str, object], headers: Mapping[str, str], remote_addr: str | None
) -> AdRequest:
    """The SDK's JSON body (its privacy signals and `ifa`) read as /vast reads a query, with the device's
    address and user agent from the headers: for its click-through's macros."""
    return parse_ad_request(_as_query(body, (*PRIVACY_PARAMETERS, "ifa")), headers, remote_addr)


def identifiers_allowed(signals: Mapping[str, object]) -> bool:
    """app.serving.consent's rule for signals sent another way (the SDK's JSON body): each of
    PRIVACY_PARAMETERS optional, read as the query parameters are (an unreadable one forbids identifiers)."""
    args = _as_query(signals, PRIVACY_PARAMETERS)
    values, warnings = read_parameters(args, {name: _PARSERS[name] for name in PRIVACY_PARAMETERS})
    return consent.identifiers_allowed(
        coppa=values.get("coppa"),
        lmt=_first(values, ("lmt", "is_lmt")),
        us_privacy=values.get("us_privacy"),
        gdpr=values.get("gdpr"),
        gdpr_consent=values.get("gdpr_consent"),
        gpp=values.get("gpp"),
        gpp_sid=values.get("gpp_sid"),
        unreadable=any(reason != "empty" for reason in warnings.values()),
    )


def parse_ad_request(
    args: Mapping[str, str],
    headers: Mapping[str, str],
    remote_addr: str | None,
    supply_tags: Mapping[int, SupplyTagEntry] | None = None,
) -> AdRequest:
    """The request, leniently (see the module's docstring); AdRequestError only under `strict=1`.
    `supply_tags` are the catalog's (app.serving.catalog), by id."""
    values, warnings = read_parameters(args, _PARSERS)
    supply_tag = values.get("tag", 0)
    if supply_tag:
        entry = supply_tags.get(supply_tag) if supply_tags else None
        if entry is None:
            supply_tag = 0
            warnings["tag"] = "unknown supply tag"
        else:
            entry.fill(values)
    header_ip = headers.get(DEVICE_IP_HEADER)
    if header_ip is not None and canonical_ip(header_ip) is None:
        warnings[DEVICE_IP_HEADER] = unusable(header_ip) or "not an IP address"

    maximum = values.get("max_duration")
    alias = values.get("dur")
    if maximum is None:
        maximum = MAX_SECONDS if alias is None else alias
    elif alias is not None and alias != maximum:
        warnings["dur"] = f"{alias:g} differs from max_duration {maximum:g}, using max_duration"
    pod = _pod(values, maximum if maximum != MAX_SECONDS or alias is not None else None)
    ignored = tuple(warnings)
    minimum = values.get("min_duration", 0.0)
    fits_nothing = minimum > maximum
    if fits_nothing:
        warnings["min_duration"] = f"{minimum:g} above max_duration {maximum:g}, no ad fits"
    elif pod is not None and pod.min_seconds > pod.max_seconds:
        fits_nothing = True
        warnings["pod_min_dur"] = f"{pod.min_seconds:g} above the break's {pod.max_seconds:g}, no ad fits"

    if warnings and args.get("strict") == "1":
        raise AdRequestError(warnings)
    return AdRequest(
        min_duration=minimum,
        max_duration=maximum,
        vast_version=values.get("vast_version", DEFAULT_VERSION),
        # SSAI servers speak for the device (VAST 4.1 X-Device-*); else the query, else the connection.
        ip=device_ip(headers, remote_addr, values.get("ip")),
        user_agent=device_user_agent(headers, values.get("ua")),
        ifa=values.get("ifa"),
        ifa_type=values.get("ifa_type"),
        app_bundle=values.get("app_bundle"),
        app_name=values.get("app_name"),
        device_type=values.get("device_type"),
        us_privacy=values.get("us_privacy"),
        gdpr=values.get("gdpr"),
        gdpr_consent=values.get("gdpr_consent"),
        request_id=values.get("request_id"),
        warnings=warnings,
        ignored=ignored,
        fits_nothing=fits_nothing,
        privacy_unreadable=any(warnings.get(name, "empty") != "empty" for name in PRIVACY_PARAMETERS),
        pod=pod,
        session_id=_first(values, SESSION_NAMES),
        blocked_domains=values.get("badv", frozenset()),
        blocked_categories=values.get("bcat", frozenset()) | values.get("blocked_cats", frozenset()),
        lmt=_first(values, ("lmt", "is_lmt")),
        content_genres=values.get("content_genre", frozenset()),
        content_rating=values.get("content_rating"),
        livestream=values.get("livestream"),
        custom=values.get("cust_params", frozenset()),
        gpp=values.get("gpp"),
        gpp_sid=values.get("gpp_sid"),
        coppa=values.get("coppa"),
        supply_tag=supply_tag,
        tmax=values.get("tmax"),
        domain=_first(values, DOMAIN_NAMES),
        content_playhead=values.get("content_playhead"),
    )


def _first(values: Mapping[str, object], names: tuple[str, ...]):
    return next((values[name] for name in names if name in values), None)


def _pod(values: Mapping[str, object], max_duration: float | None) -> PodLimits | None:
    """The break's limits when any pod parameter was given. Without a break length, max_duration (or the
    longest a request may ask) bounds it."""
    if not any(name in values for name in POD_PARAMETERS):
        return None
    max_ads = _first(values, POD_MAX_ADS_NAMES) or MAX_POD_ADS
    return PodLimits(
        max_seconds=_first(values, POD_MAX_DURATION_NAMES) or max_duration or MAX_SECONDS,
        min_seconds=_first(values, POD_MIN_DURATION_NAMES) or 0.0,
        max_ads=max_ads,
        min_ads=min(values.get("pod_min_ads", 1), max_ads),
        buffet=values.get("pod_buffet", 0),
    )
