import marshmallow as ma

from app.serving.ads import TRACKED_EVENTS
from app.serving.request import MAX_SECONDS


class AdRequestBodySchema(ma.Schema):
    request_id = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(r"^[A-Za-z0-9._:-]{1,128}$", error="1-128 letters, digits or . _ : -"),
        metadata={"description": "The SDK's id for this request; repeating it returns the same answer"},
    )
    duration = ma.fields.Float(
        required=True,
        validate=ma.validate.Range(min=1, max=MAX_SECONDS),
        allow_nan=False,
        metadata={"description": "Longest ad the slot takes, in seconds"},
    )
    # Privacy signals, read as /vast reads them (app.serving.consent; an unreadable one is an opt-out): when
    # identifiers may not be used, no IP, user agent or device id is used or stored for the request, its
    # impression or its beacons.
    us_privacy = ma.fields.Raw(allow_none=True, metadata={"description": "IAB US Privacy string, e.g. 1YNN"})
    gdpr = ma.fields.Raw(allow_none=True, metadata={"description": "1 when GDPR applies, else 0"})
    gdpr_consent = ma.fields.Raw(allow_none=True, metadata={"description": "IAB TCF v2 consent string"})
    gpp = ma.fields.Raw(allow_none=True, metadata={"description": "IAB GPP string"})
    gpp_sid = ma.fields.Raw(
        allow_none=True, metadata={"description": "GPP section ids in force: an array, or comma-separated"}
    )
    coppa = ma.fields.Raw(allow_none=True, metadata={"description": "1 when directed at children (COPPA)"})
    # The device, for frequency caps (app.serving.caps): without a usable IFA, IP and user agent stand in.
    ifa = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(max=128),
        metadata={
            "description": "Identifier for advertising (IFA); unused with lmt 1, all zeros, or no consent"
        },
    )
    lmt = ma.fields.Integer(
        allow_none=True,
        strict=True,
        validate=ma.validate.OneOf((0, 1)),
        metadata={"description": "Limit ad tracking (OpenRTB device.lmt): 1, no identifier is used"},
    )


TrackingUrlsSchema = ma.Schema.from_dict(
    {
        **{event: ma.fields.String(required=True) for event in ("impression", *TRACKED_EVENTS, "click")},
        "error": ma.fields.String(
            required=True, metadata={"description": "Replace [ERRORCODE] with the VAST error code"}
        ),
    },
    name="TrackingUrlsSchema",
)


class AdAnswerSchema(ma.Schema):
    request_id = ma.fields.String(required=True)
    ad_serving_id = ma.fields.String(required=True)
    campaign_id = ma.fields.UUID(required=True)
    creative_id = ma.fields.UUID(required=True)
    video_url = ma.fields.String(required=True)
    duration = ma.fields.Float(required=True)
    width = ma.fields.Integer(required=True)
    height = ma.fields.Integer(required=True)
    click_through_url = ma.fields.String(allow_none=True)
    vast_url = ma.fields.String(required=True, metadata={"description": "The same ad as a VAST document"})
    tracking = ma.fields.Nested(TrackingUrlsSchema, required=True)


class ImpressionBodySchema(ma.Schema):
    request_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=128))


class ImpressionResultSchema(ma.Schema):
    request_id = ma.fields.String(required=True)
    counted = ma.fields.Boolean(required=True, metadata={"description": "False when it was counted before"})
