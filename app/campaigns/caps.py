"""Frequency caps: how often one device may be shown a campaign, or any campaign of one advertiser.

A rule is "at most `max_impressions` impressions per device within a window"; a campaign and an advertiser
each hold a list of rules, all of which apply at once (e.g. 1 per hour and 3 per day). As the API and the
database have a rule:

    {"max_impressions": 3, "window": {"unit": "day", "count": 1}}

`unit` is `minute`, `hour`, `day`, `week` or `flight`; `count` (default 1) multiplies it. Windows slide (the
last 24 hours, not the calendar day) and last at most MAX_WINDOW_SECONDS (180 days: 25 weeks, 4,320 hours).
`flight` (campaigns only: an advertiser has no flight) counts from the campaign's start, over at most its
last 180 days. How a device is known and where impressions are counted: app.serving.caps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import marshmallow as ma

UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86_400, "week": 7 * 86_400}
FLIGHT = "flight"
UNITS = (*UNIT_SECONDS, FLIGHT)
MAX_WINDOW_SECONDS = 180 * 86_400
MAX_RULES = 10
MAX_IMPRESSIONS = 100  # per rule: a device's history keeps at most this many timestamps per campaign


@dataclass(frozen=True, slots=True)
class FrequencyCap:
    max_impressions: int
    unit: str
    count: int = 1

    def since(self, now: float, flight_start: float) -> float:
        """The oldest impression time the rule counts at `now` (seconds since the epoch)."""
        if self.unit == FLIGHT:
            return max(flight_start, now - MAX_WINDOW_SECONDS)
        return now - self.count * UNIT_SECONDS[self.unit]

    def describe(self) -> str:
        """The rule as the console writes it: `3 per day`, `5 per 2 hours`, `10 per flight`."""
        if self.unit == FLIGHT:
            return f"{self.max_impressions} per flight"
        if self.count == 1:
            return f"{self.max_impressions} per {self.unit}"
        return f"{self.max_impressions} per {self.count} {self.unit}s"


def caps_of(stored: list[dict] | None) -> tuple[FrequencyCap, ...]:
    """The rules as stored (the API's shape, validated on the way in)."""
    return tuple(
        FrequencyCap(rule["max_impressions"], rule["window"]["unit"], rule["window"].get("count", 1))
        for rule in stored or ()
    )


class WindowSchema(ma.Schema):
    unit = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(UNITS),
        metadata={"description": "minute, hour, day, week, or flight (the campaign's, from its start)"},
    )
    count = ma.fields.Integer(
        load_default=1,
        strict=True,
        validate=ma.validate.Range(min=1),
        metadata={"description": "How many units (default 1; 1 for flight); 180 days at most", "example": 1},
    )

    @ma.post_load
    def counted(self, data, **_) -> dict:
        """`count` as stored and answered, also in a PATCH body (a partial load skips load_default)."""
        return {**data, "count": data.get("count", 1)}

    @ma.validates_schema
    def at_most_180_days(self, data, **_) -> None:
        unit, count = data.get("unit"), data.get("count", 1)
        if unit == FLIGHT and count != 1:
            raise ma.ValidationError("Must be 1 (or absent) for the flight.", "count")
        if unit in UNIT_SECONDS and count * UNIT_SECONDS[unit] > MAX_WINDOW_SECONDS:
            most = MAX_WINDOW_SECONDS // UNIT_SECONDS[unit]
            raise ma.ValidationError(f"A window is 180 days at most: at most {most} {unit}s.", "count")


class AdvertiserWindowSchema(WindowSchema):
    unit = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(tuple(UNIT_SECONDS), error="Must be one of: {choices} (no flight)."),
        metadata={"description": "minute, hour, day or week (an advertiser has no flight)"},
    )


class FrequencyCapSchema(ma.Schema):
    max_impressions = ma.fields.Integer(
        required=True,
        strict=True,
        validate=ma.validate.Range(min=1, max=MAX_IMPRESSIONS),
        metadata={"description": "Impressions per device within the window", "example": 3},
    )
    window = ma.fields.Nested(WindowSchema, required=True)


class AdvertiserFrequencyCapSchema(FrequencyCapSchema):
    window = ma.fields.Nested(AdvertiserWindowSchema, required=True)


def _distinct_windows(rules: list[dict]) -> None:
    windows = [(rule["window"]["unit"], rule["window"]["count"]) for rule in rules]
    if len(set(windows)) != len(windows):
        raise ma.ValidationError("Two rules have the same window: keep the one you mean.")


def frequency_caps_field(schema: type[FrequencyCapSchema], owner: str, **kwargs) -> ma.fields.List:
    return ma.fields.List(
        ma.fields.Nested(schema),
        validate=[ma.validate.Length(max=MAX_RULES), _distinct_windows],
        metadata={
            "description": f"Frequency caps of the {owner}: every rule applies, per device (its IFA, else "
            "a keyed hash of IP and user agent), counted on impressions. Empty: no cap. At most "
            f"{MAX_RULES} rules, one per window.",
            "example": [
                {"max_impressions": 1, "window": {"unit": "hour", "count": 1}},
                {"max_impressions": 3, "window": {"unit": "day", "count": 1}},
            ],
        },
        **kwargs,
    )


# The console writes one rule a line: "3 per day", "5 per 2 hours", "10 per flight".
_LINE = re.compile(r"(\d+)\s*(?:/|per)\s*(?:(\d+)\s*)?([a-z]+?)s?", re.IGNORECASE)


def parse_lines(text: str) -> list[dict] | str:
    """The console's rules, in the API's shape; or, for a line that is not a rule, why (plain words)."""
    rules = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        match = _LINE.fullmatch(line)
        if match is None:
            return f'Line {number} ("{line[:40]}") is not a rule such as "3 per day" or "5 per 2 hours".'
        window = {"unit": match[3].lower(), "count": int(match[2] or 1)}
        rules.append({"max_impressions": int(match[1]), "window": window})
    return rules


def form_lines(stored: list[dict] | None) -> str:
    return "\n".join(rule.describe() for rule in caps_of(stored))
