"""Every field of an event in the form the database stores, decided once, when the event is recorded.

A beacon is acknowledged only after the event store took it; what the store took must then be storable,
whatever the player sent. So each value is normalised before the acknowledgement: an address to its
canonical text (or nothing), text bounded and stripped of what no database keeps (NUL, lone surrogates),
codes checked. A value we cannot use is dropped, never a reason to refuse the event.
"""

from __future__ import annotations

import math
import re
import uuid

from app.serving.device import MAX_USER_AGENT, canonical_ip
from app.serving.request import unusable
from vast.errors import UNEXPANDED, UNKNOWN
from vast.timecode import is_valid_offset

MAX_AD_SERVING_ID = 64  # impressions.ad_serving_id, tracking_events.ad_serving_id
MAX_REQUEST_ID = 128  # ad_requests.request_id
MAX_CODE = 16  # error_code and offset columns
# VAST error codes: three digits (VAST 4.2 §2.3.6.3, vast.errors); players send 1-4 digit codes of their own.
_ERROR_CODE = re.compile(r"[0-9]{1,4}", re.ASCII)
# What PostgreSQL text cannot hold (NUL) and UTF-8 cannot encode (lone surrogates).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII)
# Any instant a datetime column keeps (years 1970 to 9999).
_LATEST_TIMESTAMP = 253_402_300_799.0
_MAX_UNITS = 2**62


def text(value, limit: int) -> str | None:
    """`value` as text of at most `limit` characters, without NUL or lone surrogates; None if empty."""
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(value)
    if not (value.isascii() and value.isprintable()):
        value = _UNSTORABLE.sub("", value)
    value = value[:limit]
    return value or None


def ip(value) -> str | None:
    return canonical_ip(value) if isinstance(value, str) else None


def user_agent(value) -> str | None:
    value = text(value, MAX_USER_AGENT)
    return value.strip() or None if value else None


def uuid_text(value) -> str | None:
    """A UUID in its canonical text form, or None."""
    if value is None:
        return None
    if isinstance(value, str) and _CANONICAL_UUID.fullmatch(value):
        return value  # already canonical, as every stream entry is: no parse (the flusher decodes many)
    try:
        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
    except ValueError:
        return None


def error_code(value) -> str:
    """The player's [ERRORCODE]: one to four digits (without leading zeros), `unexpanded` for a macro the
    player did not replace, else `unknown`: an error is recorded whatever its code (vast.errors)."""
    if not isinstance(value, str):
        return UNKNOWN
    value = value.strip()
    if _ERROR_CODE.fullmatch(value):
        return str(int(value))
    if value in (UNEXPANDED, UNKNOWN):  # already normalised (the flusher decodes what the store took)
        return value
    return UNEXPANDED if unusable(value) == "unexpanded macro" else UNKNOWN


def offset(value) -> str:
    """A progress event's offset as VAST writes it (HH:MM:SS[.mmm] or n%), else `unknown`."""
    if isinstance(value, str) and len(value) <= MAX_CODE and is_valid_offset(value):
        return value
    return UNKNOWN


def timestamp(value) -> float:
    """Seconds since the epoch, within what a datetime column keeps; raises ValueError otherwise (our own
    code sets it: a wrong one is a bug, not player input)."""
    value = float(value)
    if not (math.isfinite(value) and 0 <= value <= _LATEST_TIMESTAMP):
        raise ValueError(f"occurred_at out of range: {value!r}")
    return value


def units(value) -> int:
    """Money units of an impression (BIGINT sums must not overflow); raises ValueError otherwise."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _MAX_UNITS:
        raise ValueError(f"cost_units out of range: {value!r}")
    return value


MAX_POD_POSITION = 99


def position(value) -> int:
    """An ad's sequence in its pod (from our own signed token): 0 (a single ad) to MAX_POD_POSITION."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_POD_POSITION:
        return value
    return 0


MAX_SUPPLY_TAG = 2**31 - 1  # supply_tags.id, an INTEGER


def supply_tag(value) -> int:
    """The supply tag an ad was requested through (from our own signed token): its id, or 0 for none."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SUPPLY_TAG:
        return value
    return 0
