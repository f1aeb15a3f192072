"""Request and response shapes of the advertiser API (also the source of its OpenAPI document)."""

from __future__ import annotations

import re

import marshmallow as ma

from app.advertisers.domains import MAX_LENGTH, normalise_domain
from app.campaigns.caps import AdvertiserFrequencyCapSchema, frequency_caps_field
from app.web import PageQuerySchema, UTCDateTime

# Nothing a name is printed with (VAST, the console) can show: control characters, lone surrogates.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


class Domain(ma.fields.String):
    """A host name, normalised on the way in (see app.advertisers.domains)."""

    def __init__(self, **kwargs):
        metadata = {
            "description": "The advertiser's domain as OpenRTB's `adomain` has it: a host name, stored in "
            "lower case without scheme, port, path or a leading `www.` (`https://www.Brand.example.com/x` "
            "is stored as `brand.example.com`). Unique.",
            "example": "brand.example.com",
            "maxLength": MAX_LENGTH,
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > 2048:  # a URL at most; no need to read further
            raise ma.ValidationError("Longer than 2048 characters.")
        try:
            return normalise_domain(text)
        except ValueError as exc:
            raise ma.ValidationError(str(exc)) from None


class AdvertiserInputSchema(ma.Schema):
    name = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=255),
        metadata={"description": "Shown to viewers' players as VAST <Advertiser>", "example": "Brand Inc."},
    )
    domain = Domain(required=True)
    frequency_caps = frequency_caps_field(AdvertiserFrequencyCapSchema, "advertiser, over all its campaigns")

    @ma.validates("name")
    def name_printable(self, value: str, **_) -> None:
        if not value.strip():
            raise ma.ValidationError("Must not be blank.")
        if _UNPRINTABLE.search(value):
            raise ma.ValidationError("Must not contain control characters.")


class AdvertiserSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    name = ma.fields.String(required=True)
    domain = ma.fields.String(required=True, metadata={"example": "brand.example.com"})
    frequency_caps = frequency_caps_field(
        AdvertiserFrequencyCapSchema, "advertiser, over all its campaigns", required=True
    )
    created_at = UTCDateTime(required=True)
    updated_at = UTCDateTime(required=True)


class AdvertiserListQuerySchema(PageQuerySchema):
    pass
