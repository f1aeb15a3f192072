"""VAST time values: Duration (xs:time) and Tracking@offset."""

import math
import re

_MILLIS_PER_DAY = 24 * 3600 * 1000

# Tracking@offset and Linear@skipoffset pattern, identical in the 3.0 to 4.2 schemas.
_OFFSET = re.compile(r"\d{2}:[0-5]\d:[0-5]\d(\.\d\d\d)?|1?\d?\d(\.?\d)*%", re.ASCII)


def format_duration(seconds: float) -> str:
    """Format seconds as HH:MM:SS.mmm, rounded to the millisecond.

    Duration is an xs:time in every VAST schema, so the value must stay below 24 hours.
    """
    if not math.isfinite(seconds):
        raise ValueError(f"duration must be a finite number of seconds, got {seconds!r}")
    millis = round(seconds * 1000)
    if not 0 <= millis < _MILLIS_PER_DAY:
        raise ValueError(f"duration must be within [0, 24h), got {seconds!r} s")
    whole_seconds, millis = divmod(millis, 1000)
    minutes, secs = divmod(whole_seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def is_valid_offset(offset: str) -> bool:
    """True for a Tracking offset the schemas accept: HH:MM:SS[.mmm] or a percentage."""
    return _OFFSET.fullmatch(offset) is not None
