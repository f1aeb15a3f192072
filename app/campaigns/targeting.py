"""A campaign's targeting: which requests it may serve, as the campaign API and console write it.

Shape (every key optional; no `targeting`, or `{}`, serves every request):

    {
      "device_type":    {"include": ["ctv", "stb"]},          # ctv, stb (set-top box), mobile, desktop
      "platform":       {"exclude": ["roku"]},                # roku, tizen, webos, androidtv, tvos, firetv
      "app_bundle":     {"include": ["com.example.tv"]},      # the request's app_bundle, any case
      "country":        {"include": ["US", "CA"]},            # ISO 3166-1 alpha-2, of the device's IP
      "region":         {"exclude": ["US-TX", "CA-QC"]},      # ISO 3166-2, of the device's IP (DB-IP)
      "content_genre":  {"exclude": ["news"]},                # OpenRTB content.genre, any case
      "content_rating": {"include": ["TV-G", "TV-PG"]},       # OpenRTB content.contentrating, any case
      "livestream":     true,                                 # true: live streams only; false: VOD only
      "supply_tag":     {"include": [3, 7]},                  # supply tag ids (app.supply), of `tag=<id>`
      "custom":         {"team": {"include": ["bulls"]}},     # the request's cust_params key=value pairs
      "day_part":       {"hours": [18, 19, 20, 21], "days": ["sat", "sun"]}
    }

A list rule has `include`, `exclude` or both: the request's value must be one of `include` (a request
without the value does not match) and none of `exclude` (a request without it does match). Rules on
different dimensions all hold at once (AND); a custom key is a dimension of its own. A campaign limited to
supply tags (`supply_tag.include`) serves only requests carrying one of them, never an untagged request.
`day_part` holds hours (0-23, the hour starting at it) and days of the week in the campaign's `time_zone`
(IANA name, default UTC).

`Targeting` is the serving form (app.serving.targeting): normalised values, one attribute name per
dimension (`custom:<key>` for custom keys).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import marshmallow as ma
import pycountry

DEVICE_TYPES = ("ctv", "stb", "mobile", "desktop")
PLATFORMS = ("roku", "tizen", "webos", "androidtv", "tvos", "firetv")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # datetime.weekday() order
LIST_DIMENSIONS = (
    "device_type",
    "platform",
    "app_bundle",
    "country",
    "region",
    "content_genre",
    "content_rating",
    "supply_tag",
)
MAX_VALUES = 500
MAX_CUSTOM_KEYS = 20
DEFAULT_TIME_ZONE = "UTC"
CUSTOM_KEY = re.compile(r"[a-z0-9_.\-]{1,40}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_REGION = re.compile(r"[A-Z]{2}-[A-Z0-9]{1,3}")


def attribute(dimension: str, key: str | None = None) -> str:
    """The attribute a rule and a request's value meet on: the dimension, or `custom:<key>`."""
    return f"custom:{key}" if key is not None else dimension


@dataclass(frozen=True, slots=True)
class Targeting:
    include: Mapping[str, frozenset[str]]  # attribute -> the request's value must be one of these
    exclude: Mapping[str, frozenset[str]]  # attribute -> the request's values must be none of these
    hours: frozenset[int] | None  # local hours the campaign serves in; None: all
    days: frozenset[int] | None  # local weekdays (0 = Monday); None: all
    time_zone: str = DEFAULT_TIME_ZONE

    @property
    def scheduled(self) -> bool:
        return self.hours is not None or self.days is not None


def targeting_of(rules: Mapping | None, time_zone: str | None) -> Targeting | None:
    """The serving form of a stored (already validated) `targeting`; None when it has no rule."""
    if not rules:
        return None
    include: dict[str, frozenset[str]] = {}
    exclude: dict[str, frozenset[str]] = {}
    lists = [(attribute(d), rules[d]) for d in LIST_DIMENSIONS if d in rules]
    lists += [(attribute("custom", key), rule) for key, rule in (rules.get("custom") or {}).items()]
    if rules.get("livestream") is not None:
        lists.append(("livestream", {"include": ["1" if rules["livestream"] else "0"]}))
    for name, rule in lists:
        if rule.get("include"):
            include[name] = frozenset(map(str, rule["include"]))  # supply tag ids are numbers
        if rule.get("exclude"):
            exclude[name] = frozenset(map(str, rule["exclude"]))
    day_part = rules.get("day_part") or {}
    hours = frozenset(day_part["hours"]) if day_part.get("hours") else None
    days = frozenset(DAYS.index(day) for day in day_part["days"]) if day_part.get("days") else None
    if not (include or exclude or hours is not None or days is not None):
        return None
    return Targeting(include, exclude, hours, days, time_zone or DEFAULT_TIME_ZONE)


# ---- The API's schema (app.campaigns.schemas): validation and the OpenAPI document. ----


class TimeZone(ma.fields.String):
    """An IANA time zone name (`America/New_York`), checked against the time zone database."""

    def __init__(self, **kwargs):
        metadata = {
            "description": "IANA time zone of the campaign's day_part (e.g. America/New_York). Default UTC.",
            "example": "America/New_York",
            "maxLength": 64,
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        name = super()._deserialize(value, attr, data, **kwargs).strip()
        try:
            if len(name) > 64:
                raise ValueError
            ZoneInfo(name)
        except (ValueError, ZoneInfoNotFoundError):
            raise ma.ValidationError("Not an IANA time zone name, e.g. America/New_York or UTC.") from None
        return name


def _value(normalise, check=None, message: str = "") -> Callable[[], ma.fields.String]:
    class Value(ma.fields.String):
        def _deserialize(self, value, attr, data, **kwargs) -> str:
            text = normalise(super()._deserialize(value, attr, data, **kwargs).strip())
            if not text or len(text) > 255 or (check is not None and not check(text)):
                raise ma.ValidationError(message or "Must be 1 to 255 characters.")
            return text

    return Value


def _list_rule(name: str, value: Callable[[], ma.fields.Field], description: str) -> type[ma.Schema]:
    class ListRule(ma.Schema):
        include = ma.fields.List(value(), validate=ma.validate.Length(min=1, max=MAX_VALUES))
        exclude = ma.fields.List(value(), validate=ma.validate.Length(min=1, max=MAX_VALUES))

        @ma.validates_schema
        def consistent(self, data, **_) -> None:
            if not data:
                raise ma.ValidationError("Give include, exclude or both.")
            both = set(data.get("include", ())) & set(data.get("exclude", ()))
            if both:
                raise ma.ValidationError(f"Both included and excluded: {', '.join(sorted(both))}.", "exclude")

    ListRule.__name__ = f"{name}Rule"
    ListRule.__doc__ = description
    return ListRule


def _choice(choices: tuple[str, ...]) -> Callable[[], ma.fields.String]:
    return _value(str.lower, choices.__contains__, f"Must be one of: {', '.join(choices)}.")


_TEXT = _value(str.lower)
DeviceTypeRule = _list_rule("DeviceType", _choice(DEVICE_TYPES), "ctv, stb (set-top box), mobile, desktop.")
PlatformRule = _list_rule("Platform", _choice(PLATFORMS), "roku, tizen, webos, androidtv, tvos, firetv.")
AppBundleRule = _list_rule("AppBundle", _TEXT, "App bundles or store ids, compared in lower case.")
CountryRule = _list_rule(
    "Country",
    _value(str.upper, _COUNTRY.fullmatch, "Must be an ISO 3166-1 alpha-2 code, e.g. US."),
    "ISO 3166-1 alpha-2 codes of the device IP's country.",
)
RegionRule = _list_rule(
    "Region",
    _value(
        str.upper,
        lambda code: bool(_REGION.fullmatch(code)) and pycountry.subdivisions.get(code=code) is not None,
        "Must be an ISO 3166-2 subdivision code, e.g. US-CA, DE-BY or GB-ENG.",
    ),
    "ISO 3166-2 codes of the device IP's region (first-level: US-CA, DE-BY, GB-ENG).",
)
TextRule = _list_rule("ContentValue", _TEXT, "Values compared in lower case.")
SupplyTagRule = _list_rule(
    "SupplyTag",
    lambda: ma.fields.Integer(strict=True, validate=ma.validate.Range(1, 2**31 - 1)),
    "Supply tag ids (app.supply): include limits the campaign to requests carrying one of them.",
)


class CustomRules(ma.fields.Dict):
    def __init__(self, **kwargs):
        super().__init__(
            keys=_value(str.lower, CUSTOM_KEY.fullmatch, "Must be 1 to 40 of a-z, 0-9, _ . -")(),
            values=ma.fields.Nested(TextRule),
            validate=ma.validate.Length(max=MAX_CUSTOM_KEYS),
            metadata={"description": "Per cust_params key of the request: an include/exclude rule."},
            **kwargs,
        )


class DayPartSchema(ma.Schema):
    """When the campaign serves, in its time_zone: hours (0-23) and days of the week; each optional."""

    hours = ma.fields.List(
        ma.fields.Integer(strict=True, validate=ma.validate.Range(0, 23)),
        validate=ma.validate.Length(min=1, max=24),
    )
    days = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(DAYS)), validate=ma.validate.Length(min=1)
    )

    @ma.post_load
    def canonical(self, data, **_) -> dict:
        if "hours" in data:
            data["hours"] = sorted(set(data["hours"]))
        if "days" in data:
            data["days"] = sorted(set(data["days"]), key=DAYS.index)
        return data


class TargetingSchema(ma.Schema):
    """Which requests the campaign may serve (app.campaigns.targeting): rules on different keys all hold."""

    device_type = ma.fields.Nested(DeviceTypeRule)
    platform = ma.fields.Nested(PlatformRule)
    app_bundle = ma.fields.Nested(AppBundleRule)
    country = ma.fields.Nested(CountryRule)
    region = ma.fields.Nested(RegionRule)
    content_genre = ma.fields.Nested(TextRule)
    content_rating = ma.fields.Nested(TextRule)
    livestream = ma.fields.Boolean(
        allow_none=True, metadata={"description": "true: live streams only; false: VOD only; absent: both."}
    )
    supply_tag = ma.fields.Nested(SupplyTagRule)
    custom = CustomRules()
    day_part = ma.fields.Nested(DayPartSchema)

    @ma.post_load
    def canonical(self, data, **_) -> dict:
        """Sorted, deduplicated values: the stored form reads the same however it was sent."""
        for rule in [data.get(d) for d in LIST_DIMENSIONS] + list((data.get("custom") or {}).values()):
            for side in ("include", "exclude"):
                if rule and side in rule:
                    rule[side] = sorted(set(rule[side]))
        if data.get("livestream") is None:
            data.pop("livestream", None)
        return data
