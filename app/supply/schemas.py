"""Request and response shapes of the supply tag API (also the source of its OpenAPI document)."""

from __future__ import annotations

import re

import marshmallow as ma

from app.advertisers.schemas import AdvertiserInputSchema
from app.serving.request import MAX_POD_ADS, MAX_SECONDS
from app.supply.presets import PARAMETERS, PLATFORMS, PRESETS
from app.web import PageQuerySchema, UTCDateTime
from vast.render import SUPPORTED_VERSIONS

# A macro goes into a URL's query as written: nothing that would end or split its value.
_MACRO = re.compile(r"[^\s&#?\"'<>\\]{0,255}")


def _seconds(low: float, description: str) -> ma.fields.Float:
    return ma.fields.Float(
        allow_none=True,
        validate=ma.validate.Range(low, MAX_SECONDS),
        metadata={"description": f"{description} (seconds); null: none, the request's own rules apply"},
    )


class MacroValue(ma.fields.String):
    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not _MACRO.fullmatch(text):
            raise ma.ValidationError(
                "At most 255 characters, without spaces, quotes, angle brackets, backslashes, & # or ?."
            )
        return text


class SupplyTagInputSchema(ma.Schema):
    name = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=255),
        metadata={"description": "For people: where the requests come from", "example": "Roku app, US"},
    )
    platform = ma.fields.String(
        load_default="generic",
        validate=ma.validate.OneOf(PLATFORMS),
        metadata={
            "description": "The macro syntax of the tag's URL: "
            + "; ".join(f"`{key}` {preset.name}" for key, preset in PRESETS.items())
        },
    )
    vast_version = ma.fields.String(
        allow_none=True,
        validate=ma.validate.OneOf(SUPPORTED_VERSIONS),
        metadata={"description": "VAST version of the answers when the request gives none"},
    )
    min_duration = _seconds(0, "Shortest ad")
    max_duration = _seconds(1, "Longest ad")
    pod_max_duration = _seconds(
        1, "An ad break of this length: requests of the tag get a pod unless they give their own break"
    )
    pod_max_ads = ma.fields.Integer(
        allow_none=True,
        strict=True,
        validate=ma.validate.Range(1, MAX_POD_ADS),
        metadata={"description": "Most ads in a break; null: none"},
    )
    macros = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.OneOf(PARAMETERS)),
        values=MacroValue(),
        metadata={
            "description": "Per URL parameter, the macro to use instead of the preset's; an empty string "
            "leaves the parameter out of the URL",
            "example": {"app_name": "[APP_NAME]"},
        },
    )

    name_printable = AdvertiserInputSchema.name_printable

    @ma.validates_schema(skip_on_field_errors=False)  # every error at once
    def durations_hold(self, data, **_) -> None:
        low, high = data.get("min_duration"), data.get("max_duration")
        if low is not None and high is not None and low > high:
            raise ma.ValidationError("Must not be above max_duration.", "min_duration")


class SupplyTagSchema(ma.Schema):
    id = ma.fields.Integer(required=True, metadata={"description": "The `tag` parameter of its requests"})
    name = ma.fields.String(required=True)
    platform = ma.fields.String(required=True)
    vast_version = ma.fields.String(allow_none=True, required=True)
    min_duration = ma.fields.Float(allow_none=True, required=True)
    max_duration = ma.fields.Float(allow_none=True, required=True)
    pod_max_duration = ma.fields.Float(allow_none=True, required=True)
    pod_max_ads = ma.fields.Integer(allow_none=True, required=True)
    macros = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), required=True)
    vast_url = ma.fields.String(
        required=True, metadata={"description": "The ready-to-paste VAST URL, with the platform's macros"}
    )
    created_at = UTCDateTime(required=True)
    updated_at = UTCDateTime(required=True)


class SupplyTagListQuerySchema(PageQuerySchema):
    pass


class SupplyTagStatsQuerySchema(ma.Schema):
    start = UTCDateTime(metadata={"description": "From this hour (inclusive). Default: 24 hours before end"})
    end = UTCDateTime(metadata={"description": "Up to this instant (exclusive). Default: now"})

    @ma.validates_schema
    def ordered(self, data, **_) -> None:
        if data.get("start") and data.get("end") and data["start"] >= data["end"]:
            raise ma.ValidationError("Must be before end.", "start")


class SupplyTagStatsSchema(ma.Schema):
    supply_tag_id = ma.fields.Integer(required=True)
    start = UTCDateTime(required=True)
    end = UTCDateTime(required=True)
    requests = ma.fields.Integer(required=True, metadata={"description": "Ad requests carrying the tag"})
    fills = ma.fields.Integer(required=True)
    no_fills = ma.fields.Integer(required=True)
    fill_rate = ma.fields.Float(required=True, metadata={"description": "fills / requests (0 without any)"})
    impressions = ma.fields.Integer(required=True)
    completes = ma.fields.Integer(required=True)
    clicks = ma.fields.Integer(required=True)
    errors = ma.fields.Integer(required=True)
    errors_by_code = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        required=True,
        metadata={"description": "VAST error code ([ERRORCODE]) -> count; '' when the player sent none"},
    )
    spend = ma.fields.String(required=True, metadata={"description": 'Exact decimal, e.g. "12.50"'})
